"""E-mailing attendees: the organiser writes in Japanese, English or both, sees a preview of each
version with the number of people it goes to, and only "Send" on that preview sends, once per
preview; each person gets the version in their registration's language.

Pages are driven with CSRF on, against the real databases and SMTP server.
"""

from __future__ import annotations

import re
import threading

import pytest
from sqlalchemy import func, select

from community.core.db import db
from community.events.messages import OrganiserMessage
from community.events.services import TicketTypeData
from tests.conftest import PASSWORD, csrf_token_from, submit, text_of

BOTH = {
    "subject_ja": "会場の変更",
    "body_ja": "会場が変わりました。\n\n地図をご覧ください。",
    "subject_en": "New venue",
    "body_en": "The venue has changed.\n\nSee the map.",
}


@pytest.fixture
def group(make_event, register):
    """An event with two people registered in Japanese, one in English, and one who cancelled."""
    from community.events import services

    event = make_event(
        tickets=[
            TicketTypeData(slug="general", name_en="General"),
            TicketTypeData(slug="student", name_en="Student"),
        ]
    )
    register(event, 1, name="山田 花子", language="ja", ticket_type="general")
    register(event, 2, name="佐藤 太郎", language="ja", ticket_type="student")
    register(event, 3, name="Alice Smith", language="en", ticket_type="student")
    gone = register(event, 4, name="Gone Person", language="en", ticket_type="general")
    services.cancel_registration(gone.id)
    return event


def attendees_path(event) -> str:
    return f"/organiser/events/{event.slug}/attendees"


def preview(client, event, fields: dict, query: str = ""):
    base = attendees_path(event)
    return submit(client, base + query, fields, post_path=f"{base}/email{query}")


def send_key_of(html: str) -> str:
    return re.search(r'name="send_key" value="([0-9a-f]{32})"', html).group(1)


def confirm(client, event, html: str, fields: dict, query: str = "", **extra):
    data = {"csrf_token": csrf_token_from(html), "send_key": send_key_of(html), **fields}
    data.update(extra)
    return client.post(f"{attendees_path(event)}/email/send{query}", data=data)


def token_of(browser) -> str:
    return csrf_token_from(browser.get("/organiser/").get_data(as_text=True))


def messages_recorded() -> int:
    db.session.rollback()  # see what other requests committed since this session last read
    return db.session.scalar(select(func.count()).select_from(OrganiserMessage))


# --- the preview ---------------------------------------------------------------------------------


def test_the_preview_shows_both_versions_as_e_mailed_and_the_count_and_sends_nothing(
    client, login, organiser, group, mailbox
):
    login(organiser)
    mailbox.clear()
    response = preview(client, group, BOTH)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "This goes to 3 people." in html
    assert "Send to 3 people" in html
    # Who gets which: the two who registered in Japanese, the one in English.
    assert "In Japanese\n          · 2 people" in html
    assert "In English\n          · 1 person" in html
    # Each version as the e-mail's text part: the greeting in its language, the event's title.
    assert "（お名前）さん" in html and "会場が変わりました。" in html
    assert "Hello (their name)," in html and "See the map." in html
    assert group.title_ja in html and group.title_en in html
    assert "Nothing has been sent yet." in html
    assert mailbox.messages == []
    assert messages_recorded() == 0


def test_the_preview_of_a_filtered_group_counts_only_that_group(
    client, login, organiser, group, mailbox
):
    login(organiser)
    html = preview(client, group, BOTH, query="?ticket_type=student").get_data(as_text=True)
    assert "This goes to 2 people." in html
    assert "Ticket type: Student" in html
    assert (
        'action="/organiser/events/' + group.slug + '/attendees/email/send?ticket_type=student"'
        in html
    )


def test_the_preview_escapes_what_the_organiser_typed(client, login, organiser, group):
    login(organiser)
    fields = {"subject_en": "<b>Hi</b>", "body_en": '<script>alert(1)</script> "quoted"'}
    html = preview(client, group, fields, query="?q=%3Cimg").get_data(as_text=True)
    assert "<script>alert(1)" not in html and "<b>Hi</b>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;img" in html and "<img src=x" not in html


def test_the_preview_is_in_the_organisers_language(client, login, make_user, make_event, register):
    japanese = make_user(role="organiser", locale="ja")
    event = make_event(by=japanese)
    register(event, 1, language="en")
    login(japanese)
    response = preview(client, event, {"subject_en": "Hi", "body_en": "See you."})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert '<html lang="ja">' in html
    assert "件名" in html
    # The e-mail itself is in its own language, whatever the organiser reads.
    assert "Hello (their name)," in html


def test_edit_goes_back_to_the_form_filled_in_and_sends_nothing(
    client, login, organiser, group, mailbox
):
    login(organiser)
    mailbox.clear()
    html = preview(client, group, BOTH).get_data(as_text=True)
    response = client.post(
        f"{attendees_path(group)}/email/edit",
        data={"csrf_token": csrf_token_from(html), "send_key": send_key_of(html), **BOTH},
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'value="会場の変更"' in page and 'value="New venue"' in page
    assert "会場が変わりました。" in page
    assert 'action="/organiser/events/' + group.slug + '/attendees/email"' in page
    assert mailbox.messages == []
    assert messages_recorded() == 0


# --- sending -------------------------------------------------------------------------------------


def test_each_person_gets_the_version_in_their_registrations_language(
    client, login, organiser, group, mailbox
):
    login(organiser)
    html = preview(client, group, BOTH).get_data(as_text=True)
    mailbox.clear()
    response = confirm(client, group, html, BOTH)
    assert response.status_code == 302
    assert response.headers["Location"] == attendees_path(group)
    by_address = {message["To"]: message for message in mailbox.messages}
    assert sorted(by_address) == ["guest1@example.com", "guest2@example.com", "guest3@example.com"]
    for address in ("guest1@example.com", "guest2@example.com"):
        message = by_address[address]
        assert message["Subject"] == "会場の変更"
        assert message["Content-Language"] == "ja"
        assert "地図をご覧ください。" in text_of(message)
        assert "New venue" not in text_of(message)
    english = by_address["guest3@example.com"]
    assert english["Subject"] == "New venue"
    assert english["Content-Language"] == "en"
    assert text_of(english).startswith("Hello Alice Smith,")
    assert "会場" not in text_of(english)
    follow = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Your message was sent to 3 people." in follow
    record = db.session.scalar(select(OrganiserMessage))
    assert (record.event_id, record.recipients, record.sent) == (group.id, 3, 3)
    assert (record.subject_ja, record.subject_en) == ("会場の変更", "New venue")
    assert record.sent_by_user_id == organiser.id


@pytest.mark.parametrize("language", ["ja", "en"])
def test_with_only_one_version_everyone_gets_it(client, login, organiser, group, mailbox, language):
    fields = {f"subject_{language}": BOTH[f"subject_{language}"]}
    fields[f"body_{language}"] = BOTH[f"body_{language}"]
    login(organiser)
    html = preview(client, group, fields).get_data(as_text=True)
    assert "You wrote one version: everyone gets it, whatever their language." in html
    mailbox.clear()
    assert confirm(client, group, html, fields).status_code == 302
    assert len(mailbox.messages) == 3
    assert {message["Subject"] for message in mailbox.messages} == {fields[f"subject_{language}"]}
    assert {message["Content-Language"] for message in mailbox.messages} == {language}


def test_a_message_keeps_its_line_breaks_in_the_html_part(
    client, login, organiser, make_event, register, mailbox
):
    event = make_event()
    register(event, 1, language="en")
    fields = {"subject_en": "Plan", "body_en": "Line one\r\nLine two\r\n\r\nNext paragraph"}
    login(organiser)
    html = preview(client, event, fields).get_data(as_text=True)
    mailbox.clear()
    confirm(client, event, html, fields)
    [message] = mailbox.messages
    assert "Line one\nLine two\n\nNext paragraph" in text_of(message).replace("\r\n", "\n")
    part = message.get_body(preferencelist=("html",)).get_content()
    assert "<p>Line one<br>Line two</p>" in part and "<p>Next paragraph</p>" in part


def test_pressing_send_twice_on_one_preview_sends_once(client, login, organiser, group, mailbox):
    login(organiser)
    html = preview(client, group, BOTH).get_data(as_text=True)
    mailbox.clear()
    assert confirm(client, group, html, BOTH).status_code == 302
    again = confirm(client, group, html, BOTH)
    assert again.status_code == 302
    assert len(mailbox.messages) == 3
    follow = client.get(again.headers["Location"]).get_data(as_text=True)
    assert "This message was already sent. It was not sent again." in follow
    assert messages_recorded() == 1


def test_a_new_preview_of_the_same_text_may_be_sent_again(client, login, organiser, group, mailbox):
    login(organiser)
    first = preview(client, group, BOTH).get_data(as_text=True)
    second = preview(client, group, BOTH).get_data(as_text=True)
    assert send_key_of(first) != send_key_of(second)
    mailbox.clear()
    confirm(client, group, first, BOTH)
    confirm(client, group, second, BOTH)
    assert len(mailbox.messages) == 6
    assert messages_recorded() == 2


def test_two_sends_of_one_preview_at_the_same_moment_send_once(
    app, client, login, organiser, group, mailbox, writers_meet
):
    login(organiser)
    html = preview(client, group, BOTH).get_data(as_text=True)
    other = app.test_client()  # a second browser of the same organiser, in its own app context
    other.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    submit(other, "/account/login", {"email": organiser.email, "password": PASSWORD})
    tokens = {client: csrf_token_from(html), other: token_of(other)}
    data = {"send_key": send_key_of(html), **BOTH}
    writers_meet(2)  # both have read the group before either writes its record
    mailbox.clear()
    statuses = []

    path = f"{attendees_path(group)}/email/send"

    def press(browser):
        response = browser.post(path, data={"csrf_token": tokens[browser], **data})
        statuses.append(response.status_code)

    threads = [threading.Thread(target=press, args=(browser,)) for browser in (client, other)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert statuses == [302, 302]
    assert sorted(message["To"] for message in mailbox.messages) == [
        "guest1@example.com",
        "guest2@example.com",
        "guest3@example.com",
    ]
    assert messages_recorded() == 1


# --- bad input -----------------------------------------------------------------------------------

HALF_WRITTEN = [
    ({"subject_ja": "件名だけ"}, "body_ja", "Write a message."),
    ({"body_en": "A body without a subject"}, "subject_en", "Write a subject."),
    ({**BOTH, "body_en": "  "}, "body_en", "Write a message."),
    ({}, None, "Write the message in Japanese, in English, or in both."),
    ({"subject_en": "  ", "body_en": "\r\n"}, None, "Write the message in Japanese, in English"),
]


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    HALF_WRITTEN,
    ids=["subject-only", "body-only", "blank-body", "nothing", "blanks"],
)
def test_a_half_written_message_is_refused_on_its_field_and_sends_nothing(
    client, login, organiser, group, mailbox, fields, field, message
):
    login(organiser)
    mailbox.clear()
    response = preview(client, group, fields)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert message in html
    if field:
        assert f'id="{field}-error"' in html
    # Straight to "Send" with the same text: refused the same way.
    sent = submit(
        client,
        attendees_path(group),
        {**fields, "send_key": "b" * 32},
        post_path=f"{attendees_path(group)}/email/send",
    )
    assert sent.status_code == 422
    assert message in sent.get_data(as_text=True)
    assert mailbox.messages == []
    assert messages_recorded() == 0


BAD_KEYS = ["", "not-a-key", "A" * 32, "a" * 31, "a" * 33, "a" * 31 + "\n"]


@pytest.mark.parametrize("send_key", BAD_KEYS)
def test_a_send_without_a_valid_key_from_a_preview_sends_nothing(
    client, login, organiser, group, mailbox, send_key
):
    login(organiser)
    mailbox.clear()
    response = submit(
        client,
        attendees_path(group),
        {**BOTH, "send_key": send_key},
        post_path=f"{attendees_path(group)}/email/send",
    )
    assert response.status_code == 422
    assert "This preview is no longer valid. Preview the message again." in response.get_data(
        as_text=True
    )
    assert mailbox.messages == []
    assert messages_recorded() == 0


def test_a_send_without_the_csrf_token_is_refused(client, login, organiser, group, mailbox):
    login(organiser)
    html = preview(client, group, BOTH).get_data(as_text=True)
    mailbox.clear()
    response = client.post(
        f"{attendees_path(group)}/email/send", data={"send_key": send_key_of(html), **BOTH}
    )
    assert response.status_code == 400
    assert mailbox.messages == []


def test_a_group_with_nobody_in_it_can_be_previewed_but_not_sent(
    client, login, organiser, group, mailbox
):
    login(organiser)
    query = "?q=nobody-by-this-name"
    response = preview(client, group, BOTH, query=query)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "This goes to 0 people." in html
    assert "Nobody is in this group: there is nobody to send it to." in html
    assert "Send to" not in html
    mailbox.clear()
    refused = confirm(client, group, html, BOTH, query=query)
    assert refused.status_code == 422
    assert mailbox.messages == []
    assert messages_recorded() == 0


def test_another_organiser_cannot_preview_or_send_to_an_event_they_do_not_run(
    client, login, organiser, group, make_user, mailbox
):
    login(make_user(role="organiser"))
    token = token_of(client)
    mailbox.clear()
    for step in ("email", "email/edit", "email/send"):
        response = client.post(
            f"{attendees_path(group)}/{step}",
            data={"csrf_token": token, "send_key": "c" * 32, **BOTH},
        )
        assert response.status_code == 404, step
    assert mailbox.messages == []
    assert messages_recorded() == 0
