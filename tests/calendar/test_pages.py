"""The calendar's pages (community/calendar/pages.py): the list of feeds with their subscribe,
Google and download links, the help page, the event page's calendar links, the private feed on
the profile with its "new address" button, and the manage page's calendar section, which only
ever e-mails a guest's feed to the registration's address."""

from __future__ import annotations

import ast
import html
import re
from pathlib import Path
from urllib.parse import parse_qs, quote, urlsplit

import pytest
from sqlalchemy import func, select

from community.calendar import services as calendar_services
from community.calendar.models import PrivateFeed
from community.core.db import db
from community.events import services as event_services
from community.events.models import Category
from tests.conftest import csrf_token_from, link_in, post_together, submit

BASE = "http://localhost"  # BASE_URL in the tests
GOOGLE = "https://calendar.google.com/calendar/render"
FEED_INPUT_RE = re.compile(r'<input[^>]*id="private-feed-url"[^>]*value="([^"]+)"')


def hrefs(page: str) -> list[str]:
    return [html.unescape(found) for found in re.findall(r'href="([^"]*)"', page)]


def google_subscribe(feed_url: str) -> str:
    return f"{GOOGLE}?cid={quote('webcal://' + feed_url.split('://', 1)[1], safe='')}"


def path_of(url: str) -> str:
    assert url.startswith(BASE + "/"), url
    return url.removeprefix(BASE)


def private_feed_url(page: str) -> str:
    found = FEED_INPUT_RE.search(page)
    assert found, "no private feed address on the page"
    return html.unescape(found.group(1))


@pytest.fixture
def categories(app):
    db.session.add_all(
        [
            Category(slug="career", name_ja="キャリア", name_en="Career"),
            Category(slug="ai-ml", name_ja="AI・機械学習", name_en="AI & ML"),
        ]
    )
    db.session.commit()


def manage_path(registration) -> str:
    return f"/registrations/{registration.id}/{event_services.manage_token(registration)}"


# --- the calendar page ---------------------------------------------------------------------------


def test_calendar_page_lists_every_feed_with_subscribe_google_and_download_links(
    client, categories
):
    response = client.get("/calendar")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    links = hrefs(page)
    feeds = ["/calendar.ics", "/calendar/events.ics", "/calendar/workshops.ics"]
    feeds += ["/calendar/career.ics", "/calendar/ai-ml.ics"]
    for path in feeds:
        assert f"webcal://localhost{path}" in links, path
        assert google_subscribe(BASE + path) in links, path
        assert BASE + path in links, path
        # ...and each address is a feed that answers.
        feed = client.get(path)
        assert feed.status_code == 200, path
        assert feed.headers["Content-Type"] == "text/calendar; charset=utf-8"
    assert "AI &amp; ML" in page
    assert "/calendar/help" in links


def test_calendar_page_links_leave_the_feeds_in_both_languages(client, categories):
    # The subscribe links carry no ?lang=, whatever language the page is read in: a subscription
    # outlives the page view, and the feeds' default is Japanese and English side by side.
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "ja"
    page = client.get("/calendar").get_data(as_text=True)
    feed_links = [link for link in hrefs(page) if ".ics" in link]
    assert feed_links
    assert not [link for link in feed_links if "lang" in link]


def test_site_navigation_links_to_the_calendar_page(client):
    page = client.get("/").get_data(as_text=True)
    nav = page[page.index('<nav class="wrap main-nav"') : page.index("</nav>")]
    assert 'href="/calendar"' in nav


def test_calendar_page_shows_members_the_way_to_their_private_calendar(client, make_user, login):
    assert "/account/profile#calendar-feed" not in client.get("/calendar").get_data(as_text=True)
    login(make_user())
    assert "/account/profile#calendar-feed" in client.get("/calendar").get_data(as_text=True)


# --- the help page -------------------------------------------------------------------------------


def test_help_page_explains_each_calendar_app_and_the_private_address(client):
    response = client.get("/calendar/help")
    assert response.status_code == 200
    page = html.unescape(response.get_data(as_text=True))
    for needed in [
        # Google Calendar: by URL, on the web; slow refresh.
        "Other calendars",
        "From URL",
        "every several hours",
        # Apple Calendar on a Mac and on an iPhone.
        "File → New Calendar Subscription",
        "Settings → Calendar → Accounts",
        "Add Subscribed Calendar",
        "webcal://",
        # Outlook on the web and on the desktop.
        "Add calendar",
        "Subscribe from web",
        "Add Calendar → From Internet",
        # Thunderbird.
        "New Calendar",
        "On the Network",
        # One language, and keeping the private address secret.
        "?lang=en",
        "Keep its address secret",
        "New address",
    ]:
        assert needed in page, needed
    assert f"{BASE}/calendar.ics" in page
    assert "/calendar" in hrefs(page)


def test_calendar_and_event_pages_link_to_the_help(client, make_event):
    event = make_event()
    assert "/calendar/help" in hrefs(client.get("/calendar").get_data(as_text=True))
    assert "/calendar/help" in hrefs(client.get(f"/events/{event.slug}").get_data(as_text=True))


# --- the event page ------------------------------------------------------------------------------


def test_event_page_offers_google_the_event_in_utc_with_its_zone_and_page(
    client, make_event, categories
):
    event = make_event(
        title_en="Rust & Go night",
        summary_en="Talks, then pizza.",
        timezone="Asia/Tokyo",
        venue_name="Shibuya Hall",
        venue_address="1-2-3 Shibuya",
        category_slug="career",
    )
    page = client.get(f"/events/{event.slug}").get_data(as_text=True)
    [google] = [link for link in hrefs(page) if link.startswith(GOOGLE + "?action=TEMPLATE")]
    query = {name: values[0] for name, values in parse_qs(urlsplit(google).query).items()}
    starts, ends = event.starts_at, event.ends_at
    assert query == {
        "action": "TEMPLATE",
        "text": "Rust & Go night",
        "dates": f"{starts:%Y%m%dT%H%M%S}Z/{ends:%Y%m%dT%H%M%S}Z",
        "details": f"Talks, then pizza.\n\n{BASE}/events/{event.slug}",
        "location": "Shibuya Hall, 1-2-3 Shibuya",
        "ctz": "Asia/Tokyo",
    }


def test_online_event_goes_to_google_as_online(client, make_event):
    event = make_event(format="online", venue_name="", online_url="https://meet.example/x")
    page = client.get(f"/events/{event.slug}").get_data(as_text=True)
    [google] = [link for link in hrefs(page) if link.startswith(GOOGLE + "?action=TEMPLATE")]
    assert parse_qs(urlsplit(google).query)["location"] == ["Online"]
    assert "meet.example" not in google  # the online link is for those registered


def test_event_page_offers_subscriptions_to_the_whole_calendar_and_its_category(
    client, make_event, categories
):
    event = make_event(category_slug="career")
    links = hrefs(client.get(f"/events/{event.slug}").get_data(as_text=True))
    assert f"/events/{event.slug}.ics" in links
    assert "webcal://localhost/calendar.ics" in links
    assert "webcal://localhost/calendar/career.ics" in links


def test_event_without_a_category_offers_only_the_whole_calendar(client, make_event):
    event = make_event()
    links = hrefs(client.get(f"/events/{event.slug}").get_data(as_text=True))
    assert [link for link in links if link.startswith("webcal://")] == [
        "webcal://localhost/calendar.ics"
    ]


def test_cancelled_event_is_not_offered_to_google(client, make_event):
    event = make_event()
    event_services.cancel_event(event)
    links = hrefs(client.get(f"/events/{event.slug}").get_data(as_text=True))
    assert not [link for link in links if link.startswith(GOOGLE)]
    assert f"/events/{event.slug}.ics" in links  # it tells calendars that had it: cancelled


# --- the private feed on the profile -------------------------------------------------------------


def test_profile_shows_the_private_feed_with_its_links_and_a_warning(client, make_user, login):
    user = make_user()
    login(user)
    page = client.get("/account/profile").get_data(as_text=True)
    url = private_feed_url(page)
    feed = calendar_services.feed_for_user(user)
    assert url == f"{BASE}/calendar/u/{feed.token}.ics"
    assert re.search(r'<input[^>]*id="private-feed-url"[^>]*readonly', page)
    links = hrefs(page)
    assert f"webcal://localhost/calendar/u/{feed.token}.ics" in links
    assert google_subscribe(url) in links
    assert "anyone who has it sees the events you registered for" in page
    assert 'action="/account/calendar/rotate"' in page
    assert client.get(path_of(url)).status_code == 200


def test_new_address_on_the_profile_replaces_the_old_one(client, make_user, login):
    login(make_user())
    old_url = private_feed_url(client.get("/account/profile").get_data(as_text=True))

    response = submit(client, "/account/profile", {}, post_path="/account/calendar/rotate")

    assert response.status_code == 302
    assert response.headers["Location"] == "/account/profile#calendar-feed"
    page = client.get("/account/profile").get_data(as_text=True)
    assert "Your calendar has a new address." in page
    new_url = private_feed_url(page)
    assert new_url != old_url
    assert client.get(path_of(old_url)).status_code == 404
    fresh = client.get(path_of(new_url))
    assert fresh.status_code == 200
    assert fresh.headers["Content-Type"] == "text/calendar; charset=utf-8"


def test_rotating_without_the_csrf_token_is_refused(client, make_user, login):
    user = make_user()
    login(user)
    token = calendar_services.feed_for_user(user).token
    assert client.post("/account/calendar/rotate").status_code == 400
    assert calendar_services.feed_for_user(user).token == token


def test_rotating_while_signed_out_leads_to_the_login(client):
    page = client.get("/calendar").get_data(as_text=True)
    response = client.post("/account/calendar/rotate", data={"csrf_token": csrf_token_from(page)})
    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).path == "/account/login"


def test_the_private_feed_holds_the_members_registrations(
    client, make_user, login, make_event, register
):
    user = make_user()
    event = make_event(title_en="Mine")
    make_event(title_en="Not mine")
    register(event, 1, email=user.email, user=user)
    login(user)
    url = private_feed_url(client.get("/account/profile").get_data(as_text=True))
    body = client.get(path_of(url)).get_data(as_text=True)
    assert "Mine" in body
    assert "Not mine" not in body


# --- the calendar on the manage page: a guest's feed goes only to the address ------------------


def send_path(registration) -> str:
    return f"{manage_path(registration)}/calendar/send"


def mailed_feed(mailbox, address: str = "guest1@example.com") -> tuple[str, str]:
    """(feed address, page address) from the last calendar e-mail to `address`."""
    message = mailbox.last_to(address)
    return link_in(message, "/calendar/u/"), link_in(message, "/calendar/guest/")


def test_manage_page_offers_to_e_mail_the_guests_feed_but_never_shows_it(
    client, make_event, register
):
    registration = register(make_event(title_en="Guest night"), 1)
    page = client.get(manage_path(registration)).get_data(as_text=True)
    assert "private-feed-url" not in page
    assert "/calendar/u/" not in page and "webcal://" not in page
    assert "/calendar/guest/" not in page
    assert f'action="{send_path(registration)}"' in page
    assert "E-mail me my calendar address" in page
    # Nothing was made for the address just by looking.
    assert db.session.scalar(select(func.count()).select_from(PrivateFeed)) == 0


def test_e_mail_me_my_calendar_address_sends_the_guest_feed_to_the_registrations_address(
    client, make_event, register, mailbox
):
    registration = register(make_event(title_en="Guest night"), 1)
    mailbox.clear()

    response = submit(client, manage_path(registration), {}, post_path=send_path(registration))

    assert response.status_code == 302
    assert response.headers["Location"] == f"{manage_path(registration)}#calendar-feed"
    page = client.get(manage_path(registration)).get_data(as_text=True)
    assert "We have sent the address of your calendar" in page
    [message] = mailbox.messages
    assert message["X-Envelope-To"] == "guest1@example.com"
    feed_url, page_url = mailed_feed(mailbox)
    feed = calendar_services.find_feed(path_of(feed_url).split("/")[-1].removesuffix(".ics"))
    assert feed.email == "guest1@example.com"
    assert feed.token not in page
    assert "Guest night" in client.get(path_of(feed_url)).get_data(as_text=True)
    guest_page = client.get(path_of(page_url))
    assert guest_page.status_code == 200
    assert guest_page.headers["Referrer-Policy"] == "no-referrer"
    assert private_feed_url(guest_page.get_data(as_text=True)) == feed_url
    assert google_subscribe(feed_url) in hrefs(guest_page.get_data(as_text=True))


def test_a_members_manage_page_points_to_the_account_page_and_shows_no_feed(
    client, make_user, make_event, register, mailbox
):
    user = make_user()
    registration = register(make_event(), 1, email=user.email, user=user)
    account_feed = calendar_services.feed_for_user(user)
    page = client.get(manage_path(registration)).get_data(as_text=True)
    assert account_feed.token not in page
    assert "private-feed-url" not in page and "/calendar/u/" not in page
    assert "/account/profile#calendar-feed" in hrefs(page)
    mailbox.clear()
    response = submit(client, manage_path(registration), {}, post_path=send_path(registration))
    assert response.status_code == 404
    assert mailbox.messages == []


def test_new_address_on_the_guest_page_replaces_the_old_one_and_mails_the_new_one(
    client, make_event, register, mailbox
):
    registration = register(make_event(), 1)
    submit(client, manage_path(registration), {}, post_path=send_path(registration))
    old_feed, old_page = mailed_feed(mailbox)
    mailbox.clear()

    response = submit(client, path_of(old_page), {}, post_path=f"{path_of(old_page)}/rotate")

    assert response.status_code == 302
    assert response.headers["Location"] == "/calendar"
    page = client.get("/calendar").get_data(as_text=True)
    assert "Your calendar has a new address, sent to your e-mail address." in page
    new_feed, new_page = mailed_feed(mailbox)
    assert new_feed != old_feed
    assert path_of(new_feed) not in page
    assert client.get(path_of(old_feed)).status_code == 404
    assert client.get(path_of(old_page)).status_code == 404
    assert client.get(path_of(new_feed)).status_code == 200
    assert client.get(path_of(new_page)).status_code == 200


def test_two_new_addresses_at_once_make_exactly_one(
    client, app, make_event, register, mailbox, writers_meet
):
    registration = register(make_event(), 1)
    submit(client, manage_path(registration), {}, post_path=send_path(registration))
    old_feed, old_page = mailed_feed(mailbox)
    browsers = [client, app.test_client()]
    tokens = [csrf_token_from(b.get(path_of(old_page)).get_data(as_text=True)) for b in browsers]
    writers_meet(2)  # both requests have found the feed by its old token before either writes
    mailbox.clear()
    statuses = post_together(f"{path_of(old_page)}/rotate", zip(browsers, tokens, strict=True))
    assert statuses == [302, 404]
    [message] = mailbox.messages
    assert client.get(path_of(link_in(message, "/calendar/u/"))).status_code == 200
    assert client.get(path_of(old_feed)).status_code == 404


def test_the_guest_page_is_not_for_an_accounts_feed(client, make_user):
    token = calendar_services.feed_for_user(make_user()).token
    assert client.get(f"/calendar/guest/{token}").status_code == 404


@pytest.mark.parametrize("wrong", ["token", "registration"])
def test_sending_with_a_bad_manage_link_answers_404_and_sends_nothing(
    client, make_event, register, mailbox, wrong
):
    registration = register(make_event(), 1)
    other = register(registration.event, 2)
    manage_token = event_services.manage_token(registration)
    target = {
        "token": f"/registrations/{registration.id}/{'0' * 32}/calendar/send",
        # Someone else's registration id with one's own token.
        "registration": f"/registrations/{other.id}/{manage_token}/calendar/send",
    }[wrong]
    mailbox.clear()
    response = submit(client, manage_path(registration), {}, post_path=target)
    assert response.status_code == 404
    assert mailbox.messages == []


def test_sending_from_the_manage_page_without_the_csrf_token_is_refused(
    client, make_event, register, mailbox
):
    registration = register(make_event(), 1)
    mailbox.clear()
    assert client.post(send_path(registration)).status_code == 400
    assert mailbox.messages == []


def test_the_old_rotation_on_the_manage_page_is_gone(client, make_event, register):
    registration = register(make_event(), 1)
    manage = manage_path(registration)
    response = submit(client, manage, {}, post_path=f"{manage}/calendar/rotate")
    assert response.status_code in (404, 405)


def test_a_bad_manage_link_shows_no_feed(client, make_event, register):
    registration = register(make_event(), 1)
    response = client.get(f"/registrations/{registration.id}/{'0' * 32}")
    assert response.status_code == 404
    assert "private-feed-url" not in response.get_data(as_text=True)


# --- dependencies --------------------------------------------------------------------------------


@pytest.mark.parametrize("domain", ["accounts", "events"])
def test_accounts_and_events_never_import_calendar(domain):
    # They offer hooks (accounts.sections, events.sections) that calendar registers with.
    root = Path(__file__).resolve().parents[2] / "community" / domain
    for source in root.rglob("*.py"):
        for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                continue
            assert not [name for name in names if name.startswith("community.calendar")], source
