"""Account pages in a real browser: sign-up, the e-mailed confirmation link, log-in, the language
switch and log-out, end to end against the live server; and the sign-up page on a phone."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.conftest import link_in

pytestmark = pytest.mark.browser

NAME = "Aiko Browser"
EMAIL = "aiko.browser@example.com"
PASSWORD = "a long enough browser password"


def main_nav(page):
    """The header's navigation, found without its label, which is translated."""
    return page.get_by_role("banner").get_by_role("navigation")


def test_sign_up_confirm_log_in_switch_to_japanese_and_log_out(live_server, page, mailbox, shoot):
    page.goto("/account/signup")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", name="Create an account")).to_be_visible()
    page.get_by_label("Name").fill(NAME)
    page.get_by_label("E-mail address").fill(EMAIL)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Password again").fill(PASSWORD)
    page.get_by_label("Preferred language").select_option("en")
    shoot(page, "01-sign-up-filled-in")
    page.get_by_role("button", name="Create account").click()

    expect(page).to_have_url(re.compile(r"/account/check-inbox$"))
    expect(page.get_by_role("heading", name="Check your inbox")).to_be_visible()
    shoot(page, "02-check-inbox")

    message = mailbox.last_to(EMAIL)
    assert message["Subject"] == "Confirm your e-mail address"
    confirmation_link = link_in(message, "/account/confirm/")
    assert confirmation_link.startswith(live_server.url + "/")
    page.goto(confirmation_link)

    expect(page).to_have_url(re.compile(r"/account/login$"))
    expect(page.get_by_role("status")).to_contain_text("Your e-mail address is confirmed.")
    shoot(page, "03-confirmed")

    page.get_by_label("E-mail address").fill(EMAIL)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()

    expect(page.get_by_role("status")).to_contain_text(f"Welcome back, {NAME}.")
    expect(main_nav(page).get_by_role("link", name="My account")).to_be_visible()
    expect(main_nav(page).get_by_role("link", name="Sign in")).to_have_count(0)
    shoot(page, "04-signed-in")

    page.get_by_role("button", name="日本語").click()

    expect(page.locator("html")).to_have_attribute("lang", "ja")
    expect(page.get_by_role("button", name="日本語")).to_have_attribute("aria-pressed", "true")
    shoot(page, "05-japanese")
    # These need the compiled ja catalog (`make translations`).
    expect(main_nav(page).get_by_role("link", name="イベント")).to_be_visible()
    sign_out = main_nav(page).get_by_role("button", name="ログアウト")
    expect(sign_out).to_be_visible()

    sign_out.click()

    expect(main_nav(page).get_by_role("link", name="ログイン")).to_be_visible()
    expect(main_nav(page).get_by_role("link", name="マイアカウント")).to_have_count(0)
    expect(main_nav(page).get_by_role("button", name="ログアウト")).to_have_count(0)
    shoot(page, "06-signed-out")


def test_sign_up_page_fits_a_phone_screen(make_page, shoot):
    phone = make_page(
        locale="en-US",
        viewport={"width": 390, "height": 844},
        device_scale_factor=3,
        is_mobile=True,
        has_touch=True,
    )
    phone.goto("/account/signup")
    submit = phone.get_by_role("button", name="Create account")
    expect(submit).to_be_visible()
    shoot(phone, "01-sign-up-on-a-phone")

    page_width = phone.evaluate("document.documentElement.scrollWidth")
    assert page_width <= 390, f"the page is {page_width}px wide: it scrolls sideways on a phone"
    for label in ("Name", "E-mail address", "Password again", "Preferred language"):
        box = phone.get_by_label(label).bounding_box()
        assert box is not None, f"{label} is not rendered"
        assert box["x"] >= 0 and box["x"] + box["width"] <= 390, f"{label} sticks out: {box}"
    box = submit.bounding_box()
    assert box is not None and box["x"] + box["width"] <= 390, f"the button sticks out: {box}"
