"""Nothing tied to an e-mail address is handed to whoever types that address.

Anyone can register a guest place with any address. The person who does so with someone else's
address gets a manage page for that one registration, and nothing reachable from it (links,
forms, feeds) shows the other registrations of that address, let alone their manage links: the
address's guest feed is only ever e-mailed to the address. A signed-in person's registrations are
in their account's feed only, never in the feed of an address.
"""

from __future__ import annotations

import html
import re
from urllib.parse import urlsplit

import pytest
from sqlalchemy import func, select

from community.calendar import services as calendar_services
from community.calendar.models import PrivateFeed
from community.core.db import db
from community.events import services as event_services
from community.events.models import Registration
from tests.conftest import link_in, submit, text_of

OWNER = "owner@example.com"
# Addresses that reach the owner's mailbox: other case, decomposed Unicode, the IDNA domain.
OWNER_IDN = "owner@bücher.example"
IDN_VARIANTS = ["Owner@BÜCHER.example", "owner@bu\u0308cher.example", "OWNER@xn--bcher-kva.example"]


def manage_path(registration) -> str:
    return f"/registrations/{registration.id}/{event_services.manage_token(registration)}"


def register_by_form(client, event, name: str, email: str):
    """Register through the public form as a browser would; the answer's redirect target."""
    response = submit(
        client,
        f"/events/{event.slug}",
        {"name": name, "email": email, "ticket_type": "general"},
        post_path=f"/events/{event.slug}/register",
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    return response.headers["Location"]


def crawl(client, start: str, *, limit: int = 80) -> dict[str, str]:
    """Every page of this site reachable from `start` by links, images and addresses shown for
    copying, then the answers to the registration's own forms (posted, once everything else was
    read, with the page's CSRF token, as whoever holds the page can) and what they lead to."""
    seen: dict[str, str] = {}
    queue = [start]
    forms: list[tuple[str, str]] = []

    def read(path: str) -> None:
        response = client.get(path)
        textual = response.mimetype.startswith("text/") or response.mimetype.endswith("+xml")
        body = response.get_data(as_text=True) if response.status_code == 200 and textual else ""
        response.close()
        body = body.replace("\r\n ", "")  # unfold iCalendar lines: a link may span two
        seen[path] = body
        # Links, images, and addresses shown for copying (a feed's address in a text box).
        for target in re.findall(r'(?:href|src|value)="([^"]+)"', body):
            parts = urlsplit(html.unescape(target))
            local = parts.scheme in ("", "http", "webcal") and parts.netloc in ("", "localhost")
            if local and parts.path.startswith("/"):
                queue.append(parts.path + (f"?{parts.query}" if parts.query else ""))
        for action in re.findall(r'<form[^>]*method="post"[^>]*action="([^"]+)"', body):
            if html.unescape(action).startswith("/registrations/"):
                token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', body).group(1)
                forms.append((html.unescape(action), token))

    def drain() -> None:
        while queue and len(seen) < limit:
            path = queue.pop(0)
            if path not in seen and not path.startswith(("/account/logout", "/static/")):
                read(path)

    drain()
    for action, token in dict(forms).items():
        posted = client.post(action, data={"csrf_token": token})
        seen[f"POST {action}"] = posted.get_data(as_text=True)
        queue.append(posted.headers.get("Location", ""))
        drain()
    return seen


def guest_feed_path(client, registration, address: str) -> str:
    """The path of the guest feed of a registration's address, after pressing the manage page's
    "E-mail me my calendar address" (check with `assert_mailed` that the e-mail carried it)."""
    path = manage_path(registration)
    client.get(path)
    submit(client, path, {}, post_path=f"{path}/calendar/send")
    feed = db.session.scalar(select(PrivateFeed).where(PrivateFeed.email == address))
    assert feed is not None, f"no guest feed for {address}"
    return f"/calendar/u/{feed.token}.ics"


def assert_mailed(mailbox, address: str, feed_path: str) -> None:
    assert urlsplit(link_in(mailbox.last_to(address), "/calendar/u/")).path == feed_path


def fresh_client(app):
    """Another browser: no cookies shared with `client`."""
    other = app.test_client()
    other.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    return other


@pytest.fixture
def owner_world(client, make_user, make_event, register, login):
    """The owner registered for one event signed in (through the form) and for another as a
    guest; a third event is where the stranger registers with the owner's address."""
    owner = make_user(email=OWNER, name="Olga Owner")
    signed_in_event = make_event(title_en="Owner signed-in night")
    guest_event = make_event(title_en="Owner guest night")
    stranger_event = make_event(title_en="Stranger night")
    login(owner)
    register_by_form(client, signed_in_event, "Olga Owner", OWNER)
    [signed_in] = db.session.scalars(select(Registration).where(Registration.user_id == owner.id))
    as_guest = register(guest_event, 1, name="Olga Owner", email=OWNER)
    assert as_guest.user_id is None
    # The owner's account feed exists (subscribed from the profile page).
    account_feed = calendar_services.feed_for_user(owner)
    return {
        "owner": owner,
        "mine": [signed_in, as_guest],
        "stranger_event": stranger_event,
        "account_feed": account_feed,
    }


@pytest.mark.parametrize("typed", [OWNER, "Owner@Example.COM", "OWNER@EXAMPLE.COM"])
def test_a_stranger_with_the_owners_address_sees_none_of_the_owners_registrations(
    app, owner_world, mailbox, typed
):
    stranger = fresh_client(app)
    mine = owner_world["mine"]
    secrets_of_owner = [event_services.manage_token(r) for r in mine]
    secrets_of_owner.append(owner_world["account_feed"].token)
    mailbox.clear()

    landing = register_by_form(stranger, owner_world["stranger_event"], "Mallory", typed)

    assert re.fullmatch(r"/registrations/\d+/[0-9a-f]{32}", landing)
    pages = crawl(stranger, landing)
    everything = "\n".join(pages.values())
    assert "Stranger night" in pages[landing]
    for secret in secrets_of_owner:
        assert secret not in everything
    for registration in mine:
        assert f"/registrations/{registration.id}/" not in everything
    # No feed of the address (or of the account) is reachable from the page, in any form.
    assert "/calendar/u/" not in everything
    assert "/calendar/guest/" not in everything
    assert "webcal://localhost/calendar/u/" not in everything
    assert any(key.endswith("/calendar/send") for key in pages), "the crawl pressed it"
    # What the page offered (e-mail me my calendar address) went to the owner's mailbox only.
    assert {m["X-Envelope-To"] for m in mailbox.messages} == {OWNER}


def test_the_guest_feed_link_is_only_in_the_e_mail_to_the_address(
    client, make_event, register, mailbox
):
    event = make_event(title_en="Guest night")
    landing = register_by_form(client, event, "Gina Guest", "Gina@Example.com")
    registration_page = client.get(landing).get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(PrivateFeed)) == 0
    mailbox.clear()

    response = submit(client, landing, {}, post_path=f"{landing}/calendar/send")

    assert response.status_code == 302
    after = client.get(response.headers["Location"]).get_data(as_text=True)
    [message] = mailbox.messages
    assert message["X-Envelope-To"] == "gina@example.com"
    feed_url = link_in(message, "/calendar/u/")
    token = urlsplit(feed_url).path.rsplit("/", 1)[-1].removesuffix(".ics")
    feed = db.session.scalar(select(PrivateFeed))
    assert feed.token == token and feed.email == "gina@example.com"
    for shown in (registration_page, after, response.get_data(as_text=True)):
        assert token not in shown
    assert "Guest night" in client.get(urlsplit(feed_url).path).get_data(as_text=True)


def test_signed_in_registrations_are_absent_from_the_guest_feed(
    client, owner_world, register, mailbox
):
    signed_in, as_guest = owner_world["mine"]
    # The stranger's guest place with the owner's address is a guest registration of that
    # address: it is in the address's feed (which only the owner's mailbox receives).
    stranger = register(owner_world["stranger_event"], 2, name="Mallory", email="OWNER@example.com")
    mailbox.clear()
    feed_path = guest_feed_path(client, as_guest, OWNER)

    body = client.get(feed_path + "?lang=en").get_data(as_text=True)

    assert "Owner guest night" in body and "Stranger night" in body
    assert "Owner signed-in night" not in body
    assert event_services.manage_token(signed_in) not in body
    assert f"/registrations/{signed_in.id}/" not in body
    assert f"/registrations/{stranger.id}/" in body.replace("\r\n ", "")
    # The signed-in place is in the account's feed.
    account = client.get(f"/calendar/u/{owner_world['account_feed'].token}.ics?lang=en")
    assert "Owner signed-in night" in account.get_data(as_text=True)
    assert_mailed(mailbox, OWNER, feed_path)


def test_a_signed_in_registration_with_another_address_stays_out_of_that_addresss_feed(
    client, make_user, make_event, register, mailbox
):
    """Registering a friend while signed in: the friend's address gets the e-mails, but the
    place is the account's, not the friend's address's."""
    member = make_user()
    friend_event = make_event(title_en="Registered by a member")
    register(friend_event, 1, email="friend@example.com", user=member)
    own = register(make_event(title_en="Friend's own"), 1, email="friend@example.com")
    mailbox.clear()
    feed_path = guest_feed_path(client, own, "friend@example.com")
    body = client.get(feed_path + "?lang=en").get_data(as_text=True)
    assert "Friend's own" in body
    assert "Registered by a member" not in body
    assert_mailed(mailbox, "friend@example.com", feed_path)


def test_variants_of_one_address_share_one_guest_feed_sent_to_that_address(
    client, make_event, register, mailbox
):
    registrations = [
        register(make_event(title_en=f"Night {number}"), number, email=typed)
        for number, typed in enumerate(IDN_VARIANTS, start=1)
    ]
    assert {r.email for r in registrations} == {OWNER_IDN}
    mailbox.clear()
    for registration in registrations:
        path = manage_path(registration)
        assert submit(client, path, {}, post_path=f"{path}/calendar/send").status_code == 302

    assert db.session.scalar(select(func.count()).select_from(PrivateFeed)) == 1
    links = {link_in(message, "/calendar/u/") for message in mailbox.messages}
    assert len(mailbox.messages) == 3 and len(links) == 1
    assert {m["X-Envelope-To"] for m in mailbox.messages} == {OWNER_IDN}
    body = client.get(urlsplit(links.pop()).path + "?lang=en").get_data(as_text=True)
    assert all(f"Night {number}" in body for number in (1, 2, 3))


def test_the_confirmation_e_mail_carries_no_address_wide_feed(
    client, owner_world, register, mailbox
):
    mailbox.clear()
    register(owner_world["stranger_event"], 2, name="Mallory", email=OWNER)
    text = text_of(mailbox.last_to(OWNER))
    assert "/calendar/u/" not in text
    for registration in owner_world["mine"]:
        assert event_services.manage_token(registration) not in text


def test_an_unconfirmed_accounts_feed_gathers_nothing_by_its_address(
    client, make_user, make_event, register
):
    """Signing up with someone's address proves nothing until the address is confirmed: until
    then the account's feed holds only what the account itself registered for."""
    register(make_event(title_en="The owner's guest place"), 1, email=OWNER)
    squatter = make_user(email=OWNER, email_confirmed_at=None)
    register(make_event(title_en="The squatter's own place"), 2, email=OWNER, user=squatter)
    feed = calendar_services.feed_for_user(squatter)
    body = client.get(f"/calendar/u/{feed.token}.ics?lang=en").get_data(as_text=True)
    assert "The squatter's own place" in body
    assert "The owner's guest place" not in body
