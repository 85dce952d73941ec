"""Security baseline: CSRF, cookies, headers, rate limits, safe redirects."""

from __future__ import annotations

import os

import pytest
from itsdangerous import BadSignature

from community.core.security import is_safe_next
from tests.conftest import PASSWORD, submit


def test_a_post_without_csrf_token_is_refused_and_changes_nothing(client, mailbox):
    response = client.post(
        "/account/signup",
        data={
            "name": "No Token",
            "email": "notoken@example.com",
            "password": PASSWORD,
            "password_confirm": PASSWORD,
            "locale": "en",
        },
    )
    assert response.status_code == 400
    assert "The form had expired" in response.get_data(as_text=True)
    assert mailbox.messages == []


def test_a_post_with_a_forged_csrf_token_is_refused(client, make_user):
    user = make_user()
    response = client.post(
        "/account/login", data={"csrf_token": "forged", "email": user.email, "password": PASSWORD}
    )
    assert response.status_code == 400


def test_the_language_switch_needs_a_csrf_token(client):
    assert client.post("/language", data={"lang": "en"}).status_code == 400


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/",
        "//evil.example/",
        "/\\evil.example",
        "\\\\evil.example",
        "javascript:alert(1)",
        "http:/evil.example",
        "",
    ],
)
def test_open_redirects_are_refused(target):
    assert not is_safe_next(target)


def test_local_next_targets_are_allowed():
    assert is_safe_next("/events?kind=workshop")
    assert is_safe_next("/account/profile")


def test_login_ignores_a_next_pointing_to_another_site(client, make_user):
    user = make_user()
    response = submit(
        client,
        "/account/login?next=https://evil.example/",
        {"email": user.email, "password": PASSWORD, "next": "https://evil.example/"},
        post_path="/account/login",
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


def test_login_follows_a_local_next(client, make_user):
    user = make_user()
    response = submit(
        client,
        "/account/login?next=/account/profile",
        {"email": user.email, "password": PASSWORD, "next": "/account/profile"},
        post_path="/account/login",
    )
    assert response.headers["Location"] == "/account/profile"


def test_pages_carry_security_headers_and_a_csp_without_inline_scripts(client):
    response = client.get("/")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    html = response.get_data(as_text=True)
    assert "<script>" not in html and " onclick=" not in html and "style=" not in html


def test_no_template_has_an_inline_script_or_handler():
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "templates"
    offenders = []
    for path in root.rglob("*.html"):
        if "mail" in path.parts:
            continue  # e-mails are not served by the site and may carry inline styles
        text = path.read_text(encoding="utf-8")
        if "<script>" in text or " onclick=" in text or " onload=" in text or "style=" in text:
            offenders.append(str(path))
    assert offenders == []


def test_session_cookie_is_httponly_and_lax(client, make_user, login):
    response = login(make_user())
    session_cookie = next(
        c for c in response.headers.getlist("Set-Cookie") if c.startswith("session=")
    )
    assert "HttpOnly" in session_cookie
    assert "SameSite=Lax" in session_cookie
    assert "Secure" not in session_cookie  # development serves plain http


def test_cookies_are_secure_in_production(make_app):
    app = make_app(
        COMMUNITY_ENV="production",
        SECRET_KEY="x" * 40,
        SQLALCHEMY_DATABASE_URI="postgresql+psycopg://postgres@127.0.0.1/test",
        STRIPE_SECRET_KEY="sk_test_123",
        STRIPE_WEBHOOK_SECRET="whsec_123",
        SESSION_COOKIE_SECURE=True,
        REMEMBER_COOKIE_SECURE=True,
    )
    assert app.config["SESSION_COOKIE_SECURE"] is True
    from community.config import build_config

    config = build_config(
        environ={
            "COMMUNITY_ENV": "production",
            "SECRET_KEY": "y" * 40,
            "DATABASE_URL": "postgresql://db/community",
            "STRIPE_SECRET_KEY": "sk_live_x",
            "STRIPE_WEBHOOK_SECRET": "whsec_x",
            "BASE_URL": "https://community.example",
        }
    )
    assert config["SESSION_COOKIE_SECURE"] is True
    assert config["REMEMBER_COOKIE_SECURE"] is True


def test_login_is_rate_limited_with_429(client, make_user):
    user = make_user()
    statuses = []
    for _ in range(12):
        response = submit(client, "/account/login", {"email": user.email, "password": "wrong"})
        statuses.append(response.status_code)
    assert statuses[:10] == [422] * 10
    assert statuses[10] == 429
    page = client.get("/account/login")  # reading the page is not limited
    assert page.status_code == 200
    limited = submit(client, "/account/login", {"email": user.email, "password": PASSWORD})
    assert limited.status_code == 429
    assert "Too many requests" in limited.get_data(as_text=True)


def test_signup_and_reset_are_rate_limited(client):
    signup_statuses = [
        submit(client, "/account/signup", {"email": "bad"}).status_code for _ in range(6)
    ]
    assert signup_statuses[-1] == 429
    reset_statuses = [
        submit(client, "/account/reset", {"email": "x@example.com"}).status_code for _ in range(6)
    ]
    assert reset_statuses[-1] == 429


def test_the_429_page_is_in_japanese_for_japanese_readers(client):
    for _ in range(6):
        response = submit(
            client, "/account/reset", {"email": "bad"}, headers={"Accept-Language": "ja"}
        )
    assert response.status_code == 429
    assert "リクエストが多すぎます" in response.get_data(as_text=True)


# Needs a Redis server; .ci/run starts one and sets TEST_REDIS_URL, so CI always runs this.
@pytest.mark.skipif(
    not os.environ.get("TEST_REDIS_URL"),
    reason="TEST_REDIS_URL is not set (CI sets it); the Redis rate-limit storage is tested there",
)
def test_rate_limits_are_shared_between_processes_through_redis(make_app, make_user):
    import redis

    url = os.environ["TEST_REDIS_URL"]
    connection = redis.Redis.from_url(url)
    connection.flushdb()
    first = make_app(RATELIMIT_STORAGE_URI=url)
    with first.app_context():
        user = make_user()
        email = user.email
    counts = []
    # Two app instances stand for two processes: they share nothing but Redis.
    for app in (first, make_app(RATELIMIT_STORAGE_URI=url)):
        client = app.test_client()
        for _ in range(6):
            counts.append(
                submit(client, "/account/login", {"email": email, "password": "x"}).status_code
            )
    connection.flushdb()
    connection.close()
    assert counts[:10] == [422] * 10
    assert counts[10:] == [429, 429]


def test_the_session_serializer_is_made_once_per_app_and_set_of_keys(app):
    interface = app.session_interface
    first = interface.get_signing_serializer(app)
    assert interface.get_signing_serializer(app) is first
    signed = first.dumps({"lang": "ja"})
    old_key = app.secret_key
    app.config["SECRET_KEY"] = "another-secret-key-of-forty-characters!!"
    try:
        rotated = interface.get_signing_serializer(app)
        assert rotated is not first
        with pytest.raises(BadSignature):
            rotated.loads(signed)  # signed with a key the app no longer has
        app.config["SECRET_KEY_FALLBACKS"] = [old_key]
        assert interface.get_signing_serializer(app).loads(signed) == {"lang": "ja"}
    finally:
        app.config["SECRET_KEY"] = old_key
        app.config["SECRET_KEY_FALLBACKS"] = []
