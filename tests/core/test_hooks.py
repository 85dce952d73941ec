"""The one hook mechanism (core/hooks.py) and what the domains register through it from their
init_app: parts belong to an app, keep their order, and are never registered twice; the
navigation, the profile page's sections and "is this person a member" come from it."""

from __future__ import annotations

import configparser
import re
from importlib import import_module
from pathlib import Path

import pytest

from community import DOMAINS
from community.accounts.membership import has_benefit, is_member, membership_check
from community.core.hooks import Hook
from community.core.navigation import NavEntry, add_navigation, signed_in

ROOT = Path(__file__).resolve().parents[2]
numbers: Hook[int] = Hook("tests.numbers")


def test_parts_belong_to_the_app_that_registered_them(make_app):
    first, second = make_app(), make_app()
    numbers.register(first, "one", 1)
    with first.app_context():
        assert numbers.items() == [("one", 1)]
    with second.app_context():
        assert numbers.items() == []
        assert numbers.get("one") is None


def test_parts_keep_the_order_they_were_registered_in_and_a_replaced_one_its_place(app):
    for name, number in (("c", 3), ("a", 1), ("b", 2)):
        numbers.register(app, name, number)
    numbers.replace(app, "a", 10)
    assert numbers.keys() == ["c", "a", "b"]
    assert numbers.values() == [3, 10, 2]


def test_a_name_registered_twice_is_refused(app):
    numbers.register(app, "one", 1)
    with pytest.raises(ValueError, match="already registered"):
        numbers.register(app, "one", 2)
    with pytest.raises(KeyError):
        numbers.replace(app, "two", 2)
    assert numbers.items() == [("one", 1)]


def test_two_hooks_cannot_share_a_name():
    with pytest.raises(ValueError, match="already declared"):
        Hook("tests.numbers")


def test_every_domain_has_an_init_app():
    for name in DOMAINS:
        assert callable(import_module(name).init_app), name


def test_every_domain_package_is_in_domains_lowest_first_as_in_the_import_contracts():
    contracts = configparser.ConfigParser()
    contracts.read(ROOT / ".importlinter")
    layers = contracts["importlinter:contract:layers"]["layers"].split("\n")
    # Lowest first, each layer's packages without the parentheses of a layer still to come.
    rank = {
        name.strip(" ()"): height
        for height, layer in enumerate(reversed([line for line in layers if line.strip()]))
        for name in layer.split("|")
    }
    packages = {path.parent.name for path in (ROOT / "community").glob("*/__init__.py")}
    assert {name.removeprefix("community.") for name in DOMAINS} == packages - {"core"}
    heights = [rank[name.removeprefix("community.")] for name in DOMAINS]
    assert heights == sorted(heights)


def test_a_member_is_a_signed_in_person_whom_a_check_says_is_one(app, make_user):
    someone, staff = make_user(), make_user(email="partner@example.org")
    assert not is_member(someone)  # the membership domain's own check: no membership
    membership_check.register(app, "never", lambda user, benefit: False)
    membership_check.register(
        app, "staff", lambda user, benefit: user.email.endswith("@example.org")
    )
    assert not is_member(someone)
    assert is_member(staff)
    assert has_benefit(staff, "member_prices")
    # A guest is never a member, whatever address they type.
    assert not is_member(None, "partner@example.org")
    assert not has_benefit(None, "member_prices")


def _labels(client) -> list[str]:
    """The main menu's entries as a person reads them."""
    page = client.get("/").get_data(as_text=True)
    nav = page[page.index('<nav class="wrap main-nav"') : page.index("</nav>")]
    items = re.findall(r"<li>(.*?)</li>", nav, re.S)
    return [" ".join(re.sub(r"<[^>]+>", " ", item).split()) for item in items]


def test_the_main_menu_shows_each_person_their_entries_in_the_domains_positions(
    client, make_user, login
):
    public = ["Events", "Calendar", "Partners", "Join", "Donate"]
    assert _labels(client) == [*public, "Sign in", "Sign up"]
    login(make_user(email="admin@example.com", role="admin"))
    assert _labels(client) == [
        *public,
        "Organiser",
        "Sponsorship",
        "Members",
        "Donations",
        "Orders",
        "People",
        "My account",
        "Sign out",
    ]


def test_the_footer_lists_the_pages_the_domains_put_there(client):
    page = client.get("/").get_data(as_text=True)
    footer = page[page.index('<ul class="footer-links">') :]
    footer = footer[: footer.index("</ul>")]
    assert re.findall(r'href="([^"]+)"', footer) == [
        "/events/past",
        "/calendar",
        "/partners",
        "/sponsors",
        "/join",
        "/donate",
    ]


def test_a_domain_adds_an_entry_to_the_menu_where_its_position_says(app, client, make_user, login):
    add_navigation(
        app,
        NavEntry("core.healthz", "Health", 35),
        NavEntry("core.robots", "Only signed in", 95, shown_to=signed_in),
    )
    labels = _labels(client)
    assert labels[labels.index("Partners") + 1] == "Health"
    assert "Only signed in" not in labels
    login(make_user())
    labels = _labels(client)
    assert labels[labels.index("My account") + 1] == "Only signed in"


def test_my_events_come_before_the_calendar_on_the_profile_page(client, make_user, login):
    login(make_user())
    page = client.get("/account/profile").get_data(as_text=True)
    assert 0 < page.index('<section id="my-events"') < page.index('<section id="calendar-feed"')
