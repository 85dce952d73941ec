"""Configuration from the environment, and refusal of unsafe production settings."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from community.config import ConfigurationError, build_config

ROOT = Path(__file__).resolve().parents[2]
SAFE_PRODUCTION = {
    "COMMUNITY_ENV": "production",
    "SECRET_KEY": "k" * 48,
    "DATABASE_URL": "postgresql://db.internal/community",
    "STRIPE_SECRET_KEY": "sk_live_123",
    "STRIPE_WEBHOOK_SECRET": "whsec_123",
    "BASE_URL": "https://community.example",
}


def test_development_defaults_use_sqlite_in_instance_and_the_sandbox():
    config = build_config(environ={})
    assert config["SQLALCHEMY_DATABASE_URI"].endswith("instance/community.db")
    assert config["PAYMENTS_SANDBOX"] is True
    assert config["DEFAULT_CURRENCY"] == "JPY"
    assert config["DEFAULT_TIMEZONE"] == "Asia/Tokyo"
    assert config["RATELIMIT_STORAGE_URI"] == "memory://"
    assert config["RATELIMIT_ENABLED"] is True


def test_environment_variables_are_read_by_their_spec_names():
    config = build_config(
        environ={
            "DATABASE_URL": "postgres://u@h/db",
            "BASE_URL": "https://community.example/",
            "MAIL_SERVER": "smtp.example",
            "MAIL_PORT": "2525",
            "MAIL_USE_TLS": "true",
            "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379/0",
            "RATELIMIT_ENABLED": "false",
            "DEFAULT_CURRENCY": "usd",
            "DEFAULT_TIMEZONE": "Europe/London",
            "STRIPE_API_BASE": "http://127.0.0.1:12111",
        }
    )
    assert config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u@h/db"
    assert config["BASE_URL"] == "https://community.example"
    assert (config["MAIL_SERVER"], config["MAIL_PORT"], config["MAIL_USE_TLS"]) == (
        "smtp.example",
        2525,
        True,
    )
    assert config["RATELIMIT_STORAGE_URI"] == "redis://127.0.0.1:6379/0"
    assert config["RATELIMIT_ENABLED"] is False
    assert config["DEFAULT_CURRENCY"] == "USD"
    assert config["DEFAULT_TIMEZONE"] == "Europe/London"
    assert config["STRIPE_API_BASE"] == "http://127.0.0.1:12111"


def test_a_safe_production_configuration_is_accepted():
    config = build_config(environ=SAFE_PRODUCTION)
    assert config["SESSION_COOKIE_SECURE"] is True
    assert config["PAYMENTS_SANDBOX"] is False


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"SECRET_KEY": ""}, "SECRET_KEY is missing or a default"),
        ({"SECRET_KEY": "development-only-secret-key"}, "SECRET_KEY is missing or a default"),
        ({"SECRET_KEY": "short"}, "SECRET_KEY is shorter than 32 characters"),
        ({"DATABASE_URL": ""}, "DATABASE_URL points at SQLite"),
        ({"DATABASE_URL": "sqlite:////srv/app.db"}, "DATABASE_URL points at SQLite"),
        ({"STRIPE_SECRET_KEY": ""}, "offline payment sandbox"),
        ({"STRIPE_WEBHOOK_SECRET": ""}, "STRIPE_WEBHOOK_SECRET is not set"),
    ],
)
def test_production_refuses_unsafe_settings_with_one_line(change, reason):
    environ = {**SAFE_PRODUCTION, **change}
    environ = {key: value for key, value in environ.items() if value}
    with pytest.raises(ConfigurationError) as refused:
        build_config(environ=environ)
    assert reason in str(refused.value.code)
    assert "\n" not in str(refused.value.code)


def _run(args, env_changes):
    env = {key: value for key, value in os.environ.items() if not key.startswith("FLASK_")}
    env.update(env_changes)
    return subprocess.run(
        args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False
    )


def test_flask_cli_refuses_to_start_in_production_without_a_secret_key():
    result = _run(
        [sys.executable, "-m", "flask", "--app", "wsgi", "routes"], {"COMMUNITY_ENV": "production"}
    )
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert lines == [
        "community refuses to start: SECRET_KEY is missing or a default; set a long random value"
    ]


def test_gunicorn_stops_at_once_in_production_with_sqlite():
    gunicorn = Path(sys.executable).with_name("gunicorn")
    result = _run(
        [str(gunicorn), "--bind", "127.0.0.1:0", "wsgi:app"],
        {"COMMUNITY_ENV": "production", "SECRET_KEY": "s" * 40, "DATABASE_URL": ""},
    )
    assert result.returncode != 0
    assert "community refuses to start: DATABASE_URL points at SQLite" in result.stderr
    assert "Booting worker" not in result.stderr


@pytest.mark.parametrize("typo", ["prod", "staging", "dev", "live"])
def test_an_unknown_community_env_is_refused_at_start_up(typo):
    with pytest.raises(ConfigurationError) as refused:
        build_config(environ={**SAFE_PRODUCTION, "COMMUNITY_ENV": typo})
    assert "COMMUNITY_ENV is" in str(refused.value.code)
    assert "development, test, production" in str(refused.value.code)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"SECRET_KEY": " " * 48}, "SECRET_KEY is missing or a default"),
        ({"SECRET_KEY": "\t\n"}, "SECRET_KEY is missing or a default"),
        ({"STRIPE_SECRET_KEY": "   "}, "offline payment sandbox"),
        ({"STRIPE_WEBHOOK_SECRET": " \t "}, "STRIPE_WEBHOOK_SECRET is not set"),
    ],
)
def test_production_refuses_blank_secrets(change, reason):
    with pytest.raises(ConfigurationError) as refused:
        build_config(environ={**SAFE_PRODUCTION, **change})
    assert reason in str(refused.value.code)


def test_surrounding_blanks_are_not_part_of_a_secret():
    config = build_config(environ={**SAFE_PRODUCTION, "SECRET_KEY": f"  {'k' * 48}\n"})
    assert config["SECRET_KEY"] == "k" * 48


def test_gunicorn_warns_when_several_processes_count_rate_limits_in_memory(tmp_path):
    """The warning comes from gunicorn's master, which knows how many workers it starts; the
    run is stopped as soon as it is in the log."""
    gunicorn = Path(sys.executable).with_name("gunicorn")
    env = {key: value for key, value in os.environ.items() if not key.startswith("FLASK_")}
    env.update(SAFE_PRODUCTION, RATELIMIT_STORAGE_URI="memory://", BASE_URL="https://x.example")
    log = tmp_path / "gunicorn.log"
    with log.open("w") as output:
        process = subprocess.Popen(
            [str(gunicorn), "--bind", "127.0.0.1:0", "--workers", "3", "wsgi:app"],
            cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT,
        )  # fmt: skip
        try:
            for _ in range(150):
                if "Booting worker" in log.read_text() or process.poll() is not None:
                    break
                time.sleep(0.1)
        finally:
            process.terminate()
            process.wait(timeout=15)
    text = log.read_text()
    assert "rate limits are counted in memory while 3 processes serve" in text
    assert "RATELIMIT_STORAGE_URI" in text


def test_no_warning_when_rate_limits_are_shared():
    from community.config import deployment_warnings

    shared = build_config(
        environ={**SAFE_PRODUCTION, "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379/0"}
    )
    assert deployment_warnings(shared, processes=4) == []
    alone = build_config(environ=SAFE_PRODUCTION)
    assert deployment_warnings(alone, processes=1) == []
    assert len(deployment_warnings(alone, processes=2)) == 1


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ({}, "http://127.0.0.1:5000"),
        ({"PORT": "5731"}, "http://127.0.0.1:5731"),
        ({"HOST": "0.0.0.0", "PORT": "8080"}, "http://127.0.0.1:8080"),  # noqa: S104
        ({"HOST": "localhost", "PORT": "5001"}, "http://localhost:5001"),
        ({"HOST": "::1", "PORT": "5002"}, "http://[::1]:5002"),
        ({"PORT": "5731", "BASE_URL": "https://dev.example/"}, "https://dev.example"),
    ],
)
def test_in_development_the_public_address_follows_host_and_port(address, expected):
    """`make run PORT=5731`: e-mailed links, feeds, QR tickets and the payment page's way back
    lead to where the server listens, unless BASE_URL says otherwise."""
    assert build_config(environ=address)["BASE_URL"] == expected


def test_production_refuses_to_start_without_a_base_url():
    environ = {key: value for key, value in SAFE_PRODUCTION.items() if key != "BASE_URL"}
    with pytest.raises(ConfigurationError) as refused:
        build_config(environ={**environ, "PORT": "8000"})
    assert "BASE_URL is not set" in str(refused.value.code)


def test_make_run_hands_its_host_and_port_to_the_app():
    makefile = (ROOT / "Makefile").read_text()
    run = makefile[makefile.index("\nrun:") :].split("\n\n")[0]
    assert "export HOST=$(HOST) PORT=$(PORT)" in run
    assert "flask worker &" in run  # the timed jobs run beside the server


@pytest.mark.parametrize(
    ("environment", "reason"),
    [
        ({"DONATION_MINIMUM": "10"}, "DONATION_MINIMUM must be at least 50"),
        ({"DONATION_MINIMUM": "5000", "DONATION_MAXIMUM": "1000"}, "below DONATION_MAXIMUM"),
        ({"DONATION_SUGGESTED": "100,3000"}, "DONATION_SUGGESTED must be whole amounts"),
        ({"DONATION_CURRENCIES": "JPY,XYZ"}, "DONATION_CURRENCIES holds a currency code"),
    ],
)
def test_donation_limits_that_stripe_or_the_form_cannot_honour_refuse_to_start(environment, reason):
    with pytest.raises(ConfigurationError) as refused:
        build_config(environ={"COMMUNITY_ENV": "development", **environment})
    assert reason in str(refused.value)


def test_donation_settings_are_read_from_the_environment():
    config = build_config(
        environ={
            "DONATION_CURRENCIES": "jpy, usd",
            "DONATION_MINIMUM": "1000",
            "DONATION_SUGGESTED": "1000,2000",
        }
    )
    assert config["DONATION_CURRENCIES"] == ("JPY", "USD")
    assert config["DONATION_MINIMUM"] == 1000
    assert config["DONATION_SUGGESTED"] == (1000, 2000)
