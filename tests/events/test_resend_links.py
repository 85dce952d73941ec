"""A guest who lost their e-mail asks for their manage links again: one e-mail, to the address
typed and nowhere else, with the link of each of its registrations for events to come. Whoever
asks gets the same answer after the same work whether the address has registrations or not, and
the e-mail leaves only after the answer. A second registration with the same address, a dead
manage link and the event page all offer it; it is rate limited per visitor and per address.
"""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

import pytest

from community.core.db import db, utcnow
from community.events import services
from community.events.services import TicketTypeData
from tests.accounts.test_who_has_an_account import _answer, _browser, _Work
from tests.conftest import csrf_token_from, html_of, submit, text_of

PAGE = "/events/my-links"
ANSWER = "If there are registrations for that address, we have sent their links to it."


def manage_path(registration) -> str:
    return f"/registrations/{registration.id}/{services.manage_token(registration)}"


def links_in(message) -> set[str]:
    return {
        urlsplit(word).path
        for word in text_of(message).split()
        if word.startswith("http://localhost/registrations/")
    }


@pytest.fixture
def work(app, monkeypatch):
    recorder = _Work(monkeypatch)
    yield recorder
    recorder.stop()


def test_the_links_of_an_address_go_to_that_address_in_one_e_mail(
    client, make_user, make_event, register, mailbox
):
    member = make_user(email="otto@example.com")
    as_guest = register(make_event(title_en="Guest evening"), 1, email="gina@example.com")
    full = make_event(title_en="Full evening", capacity=1)
    register(full, 2)
    waiting = register(full, 1, email="gina@example.com")
    # Registered for Gina by a member, signed in: its e-mails go to Gina's address, so does this.
    by_member = register(
        make_event(title_en="Gift evening"), 1, email="gina@example.com", user=member
    )
    left = register(make_event(title_en="Left evening"), 1, email="gina@example.com")
    services.cancel_registration(left.id)
    gone = make_event(title_en="Old evening")
    past = register(gone, 1, email="gina@example.com")
    gone.starts_at = utcnow() - timedelta(days=20)
    gone.ends_at = gone.starts_at + timedelta(hours=2)
    db.session.commit()
    other = register(make_event(title_en="Someone else's"), 3)
    mailbox.clear()

    response = submit(client, PAGE, {"email": "Gina@Example.COM"})

    assert response.status_code == 302 and response.headers["Location"] == PAGE
    assert ANSWER in client.get(PAGE).get_data(as_text=True)
    [message] = mailbox.messages
    assert message["X-Envelope-To"] == "gina@example.com"
    assert message["Subject"] == "Your registration links"
    assert links_in(message) == {manage_path(r) for r in (as_guest, waiting, by_member)}
    body = text_of(message)
    assert "Guest evening" in body and "Full evening" in body and "On the waiting list" in body
    assert manage_path(as_guest) in html_of(message)
    for absent in (left, past, other):
        assert f"/registrations/{absent.id}/" not in body
    # The page itself never shows a link.
    for registration in (as_guest, waiting, by_member):
        assert services.manage_token(registration) not in response.get_data(as_text=True)


def test_an_address_without_registrations_gets_the_same_answer_and_no_e_mail(
    client, make_event, register, mailbox
):
    register(make_event(), 1, email="known@example.com")
    mailbox.clear()

    known = _answer(client, PAGE, {"email": "known@example.com"}, "known@example.com")
    unknown = _answer(client, PAGE, {"email": "nobody@example.com"}, "nobody@example.com")

    assert known == unknown
    assert known[:2] == (302, PAGE)
    assert ANSWER in known[4]
    assert [m["X-Envelope-To"] for m in mailbox.messages] == ["known@example.com"]


def test_known_and_unknown_addresses_cost_the_same_work(client, make_event, register, work):
    register(make_event(), 1, email="known@example.com")

    known = work.of_post(client, PAGE, {"email": "known@example.com"})
    unknown = work.of_post(client, PAGE, {"email": "nobody@example.com"})

    # The message is made for an address without registrations too, and dropped.
    assert known == unknown
    assert known.templates == ["mail/events/manage_links.txt", "mail/events/manage_links.html"]


@pytest.mark.parametrize("address", ["known@example.com", "nobody@example.com"])
def test_the_e_mail_leaves_only_after_the_answer_is_sent(
    app, make_event, register, mailbox, address
):
    register(make_event(), 1, email="known@example.com")
    mailbox.clear()
    browser = _browser(app)
    with browser.get(PAGE) as page:
        token = csrf_token_from(page.text)

    response = browser.post(PAGE, data={"csrf_token": token, "email": address})

    assert response.status_code == 302
    assert response.get_data()
    assert mailbox.messages == []
    response.close()
    expected = [address] if address.startswith("known") else []
    assert [m["X-Envelope-To"] for m in mailbox.messages] == expected


def test_the_e_mail_is_in_the_language_of_the_latest_registration(
    client, make_event, register, mailbox
):
    register(make_event(title_ja="最初の夜", title_en="First night"), 1, language="en")
    register(make_event(title_ja="二つ目の夜", title_en="Second night"), 1, language="ja")
    mailbox.clear()

    submit(client, PAGE, {"email": "guest1@example.com"})  # asked in English

    [message] = mailbox.messages
    assert message["Content-Language"] == "ja"
    assert message["Subject"] == "お申し込みのリンク"
    body = text_of(message)
    assert "最初の夜" in body and "二つ目の夜" in body and "参加確定" in body


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("", "Enter your e-mail address."),
        ("not an address", "Enter a valid e-mail address."),
        ("someone@", "Enter a valid e-mail address."),
        ("a" * 300 + "@example.com", "Enter a valid e-mail address."),
    ],
)
def test_a_bad_address_gets_a_clear_message_and_sends_nothing(client, mailbox, typed, message):
    response = submit(client, PAGE, {"email": typed})
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert 'aria-invalid="true"' in response.get_data(as_text=True)
    assert mailbox.messages == []


def test_an_address_the_mail_library_refuses_gets_the_message_of_a_bad_address(client, mailbox):
    # WTForms' check accepts it; the service's normalisation does not (no dot in the domain).
    response = submit(client, PAGE, {"email": "someone@localhost"})
    assert response.status_code == 422
    assert "Enter a valid e-mail address." in response.get_data(as_text=True)
    assert mailbox.messages == []


def test_a_nul_byte_in_the_address_is_refused_with_a_message(client, mailbox):
    response = submit(client, PAGE, {"email": "guest\x00@example.com"})
    assert response.status_code == 400
    assert "NUL" in response.get_data(as_text=True)
    assert mailbox.messages == []


def test_the_page_is_in_japanese_for_japanese_readers(client):
    page = client.get(PAGE, headers={"Accept-Language": "ja"})
    assert page.status_code == 200
    assert "申し込みリンクを再送する" in page.get_data(as_text=True)
    response = submit(client, PAGE, {"email": "x"}, headers={"Accept-Language": "ja"})
    assert "正しいメールアドレスを入力してください。" in response.get_data(as_text=True)


def test_one_address_is_limited_whoever_asks(client, app, mailbox):
    statuses = []
    for number in range(4):
        browser = app.test_client()
        browser.environ_base["REMOTE_ADDR"] = f"192.0.2.{number + 1}"
        # Variants of one address share its limit.
        typed = "Target@Example.com" if number % 2 else "target@example.com"
        statuses.append(submit(browser, PAGE, {"email": typed}).status_code)
    assert statuses == [302, 302, 302, 429]
    other = app.test_client()
    other.environ_base["REMOTE_ADDR"] = "192.0.2.99"
    assert submit(other, PAGE, {"email": "another@example.com"}).status_code == 302


def test_one_visitor_is_limited_whatever_the_address(client):
    statuses = [
        submit(client, PAGE, {"email": f"person{number}@example.com"}).status_code
        for number in range(6)
    ]
    assert statuses == [302] * 5 + [429]
    assert client.get(PAGE).status_code == 200  # reading the page is not limited


def test_a_second_registration_with_the_same_address_offers_the_links_again(
    client, make_event, register
):
    event = make_event(title_en="Twice night")
    first = register(event, 1)

    response = submit(
        client,
        f"/events/{event.slug}",
        {"name": "Again", "email": "GUEST1@example.com", "ticket_type": "general"},
        post_path=f"/events/{event.slug}/register",
    )

    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert "already registered" in page
    assert f'<a href="{PAGE}">Send me my links again</a>' in page
    assert services.manage_token(first) not in page
    assert f"/registrations/{first.id}/" not in page


def test_a_dead_manage_link_offers_the_links_again(client, make_event, register):
    registration = register(make_event(), 1)
    for dead in (
        f"/registrations/{registration.id}/{'0' * 32}",
        manage_path(registration)[:-1],
        f"/registrations/{registration.id + 1000}/{services.manage_token(registration)}",
    ):
        response = client.get(dead)
        assert response.status_code == 404
        page = response.get_data(as_text=True)
        assert "This link does not work" in page
        assert f'href="{PAGE}"' in page
        assert response.headers["Cache-Control"] == "no-store"
        assert response.headers["Referrer-Policy"] == "no-referrer"


def test_the_event_page_offers_the_links_again(client, make_event):
    event = make_event()
    page = client.get(f"/events/{event.slug}").get_data(as_text=True)
    assert f'<a href="{PAGE}">Send me my links again</a>' in page


def test_the_links_again_for_a_waiting_and_a_paid_place(client, make_event, register, mailbox):
    paid = make_event(
        title_en="Paid night",
        tickets=[TicketTypeData(slug="paid", name_en="Paid", price_minor=2000)],
    )
    holding = register(paid, 1)
    assert holding.status == "awaiting_payment"
    mailbox.clear()

    submit(client, PAGE, {"email": "guest1@example.com"})

    message = mailbox.last_to("guest1@example.com")
    assert links_in(message) == {manage_path(holding)}
    assert "Payment pending" in text_of(message)
