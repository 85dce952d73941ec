"""The micro-cache never hands one person's page to another, with several gunicorn processes each
keeping their own cache: a browser that comes back with only its remember-me cookie is signed in
(and its page names the person), and neither that page nor a draft its organiser looked at is ever
served to a stranger."""

from __future__ import annotations

import http.cookiejar
import re
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.conftest import PASSWORD
from tests.serving import gunicorn_serving

TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
VISITS = 24  # at once, so that every one of the processes serves some of them


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def _remember_cookie(base: str, email: str) -> str:
    """Sign in with "keep me signed in" and keep only the remember-me cookie, as a browser does
    once its session cookie has gone (closed, or expired)."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), _NoRedirect)
    with opener.open(f"{base}/account/login", timeout=30) as page:
        token = TOKEN.search(page.read().decode()).group(1)
    form = {"csrf_token": token, "email": email, "password": PASSWORD, "remember": "y"}
    request = urllib.request.Request(
        f"{base}/account/login", data=urllib.parse.urlencode(form).encode(), method="POST"
    )
    try:
        opener.open(request, timeout=30)
    except urllib.error.HTTPError as answer:
        assert answer.code in (302, 303), answer.code
    remember = [cookie for cookie in jar if cookie.name == "remember_token"]
    assert remember, f"no remember-me cookie among {[cookie.name for cookie in jar]}"
    return f"remember_token={remember[0].value}"


def _get(url: str, cookie: str | None = None) -> tuple[int, str]:
    request = urllib.request.Request(url, headers={"Accept-Language": "en"})
    if cookie:
        request.add_header("Cookie", cookie)
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as answer:
        return answer.code, answer.read().decode()


def _many(url: str, cookie: str | None = None) -> list[tuple[int, str]]:
    with ThreadPoolExecutor(max_workers=8) as pool:
        return list(pool.map(lambda _: _get(url, cookie), range(VISITS)))


@pytest.fixture
def served(app, smtp_server, tmp_path):
    with gunicorn_serving(
        app, smtp_server, tmp_path, workers=3, threads=4, PAGE_CACHE_SECONDS="120"
    ) as base:
        yield base


def test_a_page_for_a_remembered_member_is_never_served_to_strangers(
    app, make_event, make_user, served
):
    member = make_user(name="Remembered Rumiko", email="rumiko.private@example.com")
    event = make_event()
    remember = _remember_cookie(served, member.email)

    for status, html in _many(f"{served}/events/{event.slug}", remember):
        assert status == 200
        assert "rumiko.private@example.com" in html  # signed in by the cookie: the form is filled

    for status, html in _many(f"{served}/events/{event.slug}"):
        assert status == 200
        assert "rumiko.private@example.com" not in html
        assert "Remembered Rumiko" not in html


def test_a_draft_seen_by_its_remembered_organiser_is_never_served_to_strangers(
    app, make_event, organiser, served
):
    draft = make_event(publish=False, title_en="Secret draft of the year")
    remember = _remember_cookie(served, organiser.email)

    for status, html in _many(f"{served}/events/{draft.slug}", remember):
        assert status == 200
        assert "Secret draft of the year" in html

    for status, html in _many(f"{served}/events/{draft.slug}"):
        assert status == 404
        assert "Secret draft of the year" not in html
