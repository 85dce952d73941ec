"""`make run PORT=…` works end to end on a port other than 5000: the development server started
as make run starts it (HOST and PORT in its environment, no BASE_URL), a paid registration in a
real browser goes to the sandbox's checkout, comes back, and is confirmed; the e-mailed link
leads to the same port."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from community.events.services import TicketTypeData
from tests.conftest import free_port, link_in
from tests.serving import wait_until_healthy

pytestmark = pytest.mark.browser
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def dev_server(live_server, smtp_server, tmp_path):
    """`flask run` on a free port with HOST and PORT set as the Makefile sets them, on the live
    server's database (where the test publishes its event)."""
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("FLASK_", "COMMUNITY_"))},
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "DATABASE_URL": live_server.app.config["SQLALCHEMY_DATABASE_URI"],
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": str(smtp_server.port),
        "STRIPE_SECRET_KEY": "",
        "RATELIMIT_ENABLED": "false",
    }
    env.pop("BASE_URL", None)
    log_path = tmp_path / "flask-run.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [str(Path(sys.executable).with_name("flask")), "--app", "wsgi", "run",
             "--host", "127.0.0.1", "--port", str(port)],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        base = f"http://127.0.0.1:{port}"
        try:
            wait_until_healthy(base, process, log, log_path)
            yield base
        finally:
            process.terminate()
            process.wait(timeout=15)


def test_a_paid_registration_on_a_non_default_port_goes_through(
    browser, dev_server, publish_on_live_server, mailbox
):
    slug = publish_on_live_server(
        slug="port-workshop",
        kind="workshop",
        title_en="Port workshop",
        ticket_types=[TicketTypeData(slug="seat", name_en="Seat", price_minor=3000)],
    )
    port = urlsplit(dev_server).port
    assert port != 5000
    context = browser.new_context(base_url=dev_server, locale="en-US")
    try:
        page = context.new_page()
        page.goto(f"/events/{slug}")
        page.get_by_label("Name").fill("Porter")
        page.get_by_label("E-mail address").fill("porter@example.com")
        # The one paid ticket: the button says where it leads, and for how much.
        page.get_by_role("button", name="Continue to payment — ¥3,000").click()
        expect(page).to_have_url(re.compile(rf":{port}/payments/sandbox/checkout/cs_sandbox_\w+"))
        page.get_by_role("button", name=re.compile(r"^Pay ¥3,000")).click()
        expect(page).to_have_url(re.compile(rf":{port}/registrations/\d+/[^/?]+\?paid=1$"))
        expect(page.get_by_text("Confirmed", exact=True)).to_be_visible()
    finally:
        context.close()
    manage_link = link_in(mailbox.last_to("porter@example.com"), "/registrations/")
    assert urlsplit(manage_link).port == port
