"""The organisers' and administrators' membership pages (/organiser/membership/): who may see
which page, the plans as administrators keep them through the form (bad input refused on its
field, changing nothing), the members list with its filters, search, pages and CSV export, one
person's memberships with their history, the reports' figures on a fixed set of memberships,
and a number of queries that does not grow with the members."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from sqlalchemy import func, select

from community.core.db import db, utcnow
from community.membership import reports, services
from community.membership.models import Membership, MembershipEvent, MembershipPlan
from community.payments.models import Order, Payment
from tests.conftest import PASSWORD, IsolatedClient, count_queries, csrf_token_from, submit

TOKYO = ZoneInfo("Asia/Tokyo")
BASE = "/organiser/membership"
MEMBERS = f"{BASE}/members"
MEMBERS_CSV = f"{BASE}/members.csv"
REPORTS = f"{BASE}/reports"
PLANS = f"{BASE}/plans"
NEW_PLAN = f"{BASE}/plans/new"

PLAN_DEFAULTS = {
    "name_ja": "個人会員",
    "name_en": "Individual",
    "description_ja": "",
    "description_en": "",
    "price_minor": 5000,
    "currency": "JPY",
    "renewal": "one_off",
    "benefits": ("member_prices",),
    "position": 0,
}


# --- fixtures ------------------------------------------------------------------------------------


@pytest.fixture
def app(make_app):
    """No card payments needed here: the pages only read what memberships hold."""
    app = make_app()
    with app.app_context():
        yield app


@pytest.fixture
def plan_of(app):
    """plan_of(**fields): a plan made through the service, for the members' and reports' data
    (the plan pages themselves are tested through their form)."""
    counter = iter(range(1, 10_000))

    def factory(**fields) -> MembershipPlan:
        values = {**PLAN_DEFAULTS, "slug": f"plan-{next(counter)}", **fields}
        values["benefits"] = tuple(values["benefits"])
        return services.create_plan(services.PlanFields(**values))

    return factory


@pytest.fixture
def membership_of(app):
    """membership_of(user, plan, status="active", history=[(kind, at, amount_minor)], ...): a
    membership and its history, written straight to the database."""

    def factory(
        user,
        plan,
        *,
        status: str = "active",
        starts_at: datetime | None = None,
        ends_at: datetime | None = None,
        grace_ends_at: datetime | None = None,
        auto_renew: bool = False,
        created_at: datetime | None = None,
        history=(),
    ) -> Membership:
        held = status not in ("pending", "abandoned")
        starts_at = starts_at or (utcnow() - timedelta(days=30) if held else None)
        if held and ends_at is None:
            ends_at = starts_at + timedelta(days=365)
        if held and grace_ends_at is None:
            grace_ends_at = ends_at + timedelta(days=14)
        membership = Membership(
            user_id=user.id,
            plan_id=plan.id,
            status=status,
            renewal=plan.renewal,
            price_minor=plan.price_minor,
            currency=plan.currency,
            auto_renew=auto_renew,
            starts_at=starts_at,
            ends_at=ends_at,
            grace_ends_at=grace_ends_at,
            terms=1 if held else 0,
            reminders_sent=0,
            created_at=created_at or starts_at or utcnow(),
            updated_at=utcnow(),
        )
        db.session.add(membership)
        db.session.flush()
        for kind, at, amount in history:
            db.session.add(
                MembershipEvent(
                    membership_id=membership.id,
                    kind=kind,
                    at=at,
                    plan_id=plan.id,
                    amount_minor=amount,
                    currency=plan.currency if amount is not None else None,
                    ends_at=ends_at,
                )
            )
        db.session.commit()
        return membership

    return factory


def browser(app, user=None, language: str = "en") -> IsolatedClient:
    """A browser of its own, signed in as `user` (a guest's without one)."""
    app.test_client_class = IsolatedClient
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = language
    if user is not None:
        response = submit(client, "/account/login", {"email": user.email, "password": PASSWORD})
        assert response.status_code == 302
    return client


@pytest.fixture
def admin(app, make_user):
    return make_user(role="admin", name="Ada Admin", email="ada@example.com")


@pytest.fixture
def admin_browser(app, admin):
    return browser(app, admin)


def text(response) -> str:
    return response.get_data(as_text=True)


def plan_form(**changes) -> dict:
    """The plan form as a browser sends it (an unticked box is not sent; None leaves a field
    out)."""
    data = {
        "slug": "supporter",
        "name_ja": "サポーター",
        "name_en": "Supporter",
        "description_ja": "コミュニティを支えるプランです。",
        "description_en": "For those who support the community.",
        "currency": "JPY",
        "price": "5,000",
        "renewal": "one_off",
        "benefits": ["member_prices", "members_only"],
        "position": "1",
    }
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


def plan_named(slug: str) -> MembershipPlan | None:
    return db.session.scalar(
        select(MembershipPlan)
        .where(MembershipPlan.slug == slug)
        .execution_options(populate_existing=True)
    )


def plan_count() -> int:
    return db.session.scalar(select(func.count()).select_from(MembershipPlan))


def post_button(client, path: str):
    """A button of the plans list: its CSRF token is all it sends."""
    return client.post(path, data={"csrf_token": csrf_token_from(text(client.get(PLANS)))})


def csv_rows(response) -> list[list[str]]:
    body = text(response)
    assert body.startswith("\ufeff")
    return list(csv.reader(io.StringIO(body.removeprefix("\ufeff"))))


# --- who may see which page ----------------------------------------------------------------------


def _pages(plan, member_id) -> tuple[list[str], list[str]]:
    organiser_pages = [f"{BASE}/", MEMBERS, MEMBERS_CSV, f"{MEMBERS}/{member_id}", REPORTS]
    admin_pages = [PLANS, NEW_PLAN, f"{PLANS}/{plan.id}/edit"]
    return organiser_pages, admin_pages


ADMIN_POSTS = [NEW_PLAN, f"{PLANS}/{{plan}}/edit", f"{PLANS}/{{plan}}/retire"]


@pytest.fixture
def a_member(make_user, plan_of, membership_of):
    plan = plan_of(slug="individual")
    user = make_user(name="Mina Member")
    membership_of(user, plan)
    return plan, user


def test_guests_are_sent_to_sign_in(app, a_member):
    plan, user = a_member
    guest = browser(app)
    organiser_pages, admin_pages = _pages(plan, user.id)
    for path in organiser_pages + admin_pages:
        response = guest.get(path)
        assert response.status_code == 302, path
        assert "/account/login" in response.headers["Location"], path
    for path in ADMIN_POSTS:
        response = guest.post(path.format(plan=plan.id), data=plan_form(slug="hacked"))
        assert response.status_code in (302, 400), path
    assert plan_named("individual").status == "active"
    assert plan_named("hacked") is None


def test_a_member_is_refused_every_page(app, a_member):
    plan, user = a_member
    client = browser(app, user)
    organiser_pages, admin_pages = _pages(plan, user.id)
    for path in organiser_pages + admin_pages:
        assert client.get(path).status_code == 403, path
    token = csrf_token_from(text(client.get("/")))
    for path in ADMIN_POSTS:
        response = client.post(
            path.format(plan=plan.id), data={"csrf_token": token, **plan_form(slug="hacked")}
        )
        assert response.status_code == 403, path
    assert plan_named("individual").status == "active"
    assert plan_named("hacked") is None


def test_an_organiser_sees_members_and_reports_but_not_the_plans(app, a_member, organiser):
    plan, user = a_member
    client = browser(app, organiser)
    organiser_pages, admin_pages = _pages(plan, user.id)
    for path in organiser_pages:
        assert client.get(path).status_code in (200, 302), path
    assert client.get(MEMBERS).status_code == 200
    for path in admin_pages:
        assert client.get(path).status_code == 403, path
    token = csrf_token_from(text(client.get(MEMBERS)))
    for path in ADMIN_POSTS:
        response = client.post(
            path.format(plan=plan.id), data={"csrf_token": token, **plan_form(slug="hacked")}
        )
        assert response.status_code == 403, path
    assert plan_named("individual").status == "active"
    assert plan_named("hacked") is None
    # No link to the plans for an organiser.
    assert f'href="{PLANS}"' not in text(client.get(MEMBERS))


def test_an_admin_sees_every_page(app, a_member, admin_browser):
    plan, user = a_member
    organiser_pages, admin_pages = _pages(plan, user.id)
    for path in organiser_pages + admin_pages:
        assert admin_browser.get(path).status_code in (200, 302), path
    assert admin_browser.get(f"{BASE}/").headers["Location"].endswith(MEMBERS)
    assert f'href="{PLANS}"' in text(admin_browser.get(MEMBERS))


def test_the_navigation_links_organisers_to_the_members(app, organiser, make_user):
    assert f'href="{MEMBERS}"' in text(browser(app, organiser).get("/"))
    assert f'href="{MEMBERS}"' not in text(browser(app, make_user()).get("/"))


@pytest.mark.parametrize("language", ["ja", "en"])
def test_every_page_renders_in_both_languages(app, a_member, make_user, language):
    plan, user = a_member
    reader = make_user(role="admin", locale=language, email=f"admin-{language}@example.com")
    client = browser(app, reader, language=language)
    for path in [MEMBERS, f"{MEMBERS}/{user.id}", REPORTS, PLANS, NEW_PLAN]:
        response = client.get(path)
        assert response.status_code == 200, path
        assert f'<html lang="{language}">' in text(response)
    assert client.get(f"{PLANS}/{plan.id}/edit").status_code == 200
    assert client.get(MEMBERS_CSV).status_code == 200


# --- the plans, through their form ---------------------------------------------------------------


def test_an_admin_creates_a_plan_through_the_form(app, admin_browser):
    response = submit(admin_browser, NEW_PLAN, plan_form(price="５，０００"))
    assert response.status_code == 302
    assert response.headers["Location"].endswith(PLANS)
    made = plan_named("supporter")
    assert (made.name_ja, made.name_en) == ("サポーター", "Supporter")
    assert made.description_en == "For those who support the community."
    assert (made.price_minor, made.currency, made.renewal) == (5000, "JPY", "one_off")
    assert made.benefits == ["member_prices", "members_only"]
    assert made.position == 1
    assert made.status == "active"
    page = text(admin_browser.get(PLANS))
    assert "The plan is saved." in page
    assert "Supporter" in page
    assert "¥5,000 a year" in page


def test_a_free_plan_and_a_subscription_in_dollars_are_made_too(app, admin_browser):
    free = plan_form(slug="friend", price="0", benefits=None)
    assert submit(admin_browser, NEW_PLAN, free).status_code == 302
    assert (plan_named("friend").price_minor, plan_named("friend").benefits) == (0, [])
    dollars = plan_form(slug="abroad", currency="USD", price="30.50", renewal="subscription")
    assert submit(admin_browser, NEW_PLAN, dollars).status_code == 302
    abroad = plan_named("abroad")
    assert (abroad.price_minor, abroad.currency, abroad.renewal) == (3050, "USD", "subscription")


def test_the_new_plan_form_labels_every_control(app, admin_browser):
    page = text(admin_browser.get(NEW_PLAN))
    for name in ("slug", "name_ja", "name_en", "description_ja", "description_en", "price"):
        assert f'<label for="{name}"' in page, name
    assert "<legend>What it gives" in page
    assert "<legend>Renewal" in page
    assert 'value="member_prices"' in page and 'value="members_only"' in page


def test_an_admin_edits_a_plan_and_unticks_its_benefits(app, admin_browser, plan_of):
    plan = plan_of(slug="individual", price_minor=5000, benefits=("member_prices", "members_only"))
    path = f"{PLANS}/{plan.id}/edit"
    page = text(admin_browser.get(path))
    assert 'value="5000"' in page
    assert 'value="individual"' in page
    response = submit(
        admin_browser,
        path,
        plan_form(slug="individual", name_en="Individual Plus", price="6,000", benefits=None),
    )
    assert response.status_code == 302
    edited = plan_named("individual")
    assert (edited.name_en, edited.price_minor, edited.benefits) == ("Individual Plus", 6000, [])


def test_members_keep_what_they_bought_when_the_plan_changes(
    app, admin_browser, plan_of, membership_of, make_user
):
    plan = plan_of(slug="individual", price_minor=5000)
    held = membership_of(make_user(), plan)
    submit(admin_browser, f"{PLANS}/{plan.id}/edit", plan_form(slug="individual", price="9000"))
    assert plan_named("individual").price_minor == 9000
    assert db.session.get(Membership, held.id, populate_existing=True).price_minor == 5000


def test_an_admin_retires_a_plan_and_offers_it_again(
    app, admin_browser, plan_of, membership_of, make_user
):
    plan = plan_of(slug="individual")
    held = membership_of(make_user(), plan)
    response = post_button(admin_browser, f"{PLANS}/{plan.id}/retire")
    assert response.status_code == 302
    assert plan_named("individual").status == "retired"
    page = text(admin_browser.get(PLANS))
    assert "The plan is retired" in page
    assert "No longer offered" in page
    assert "Offer the plan again" in page
    # Its members keep it.
    assert db.session.get(Membership, held.id, populate_existing=True).status == "active"
    assert plan.id not in [p.id for p in services.plans()]

    assert post_button(admin_browser, f"{PLANS}/{plan.id}/restore").status_code == 302
    assert plan_named("individual").status == "active"
    assert "The plan is offered again." in text(admin_browser.get(PLANS))


def test_the_plans_list_shows_retired_plans_too(app, admin_browser, plan_of):
    plan_of(slug="current", name_en="Current plan")
    old = plan_of(slug="old", name_en="Old plan")
    services.set_plan_status(old.id, "retired")
    page = text(admin_browser.get(PLANS))
    assert "Current plan" in page and "Old plan" in page
    assert "Open for joining" in page and "No longer offered" in page


def test_a_plan_button_without_its_csrf_token_is_refused(app, admin_browser, plan_of):
    plan = plan_of(slug="individual")
    assert admin_browser.post(f"{PLANS}/{plan.id}/retire").status_code == 400
    assert plan_named("individual").status == "active"


def test_a_plan_that_does_not_exist_is_not_found(app, admin_browser):
    assert admin_browser.get(f"{PLANS}/999/edit").status_code == 404
    assert admin_browser.get(f"{PLANS}/99999999999/edit").status_code == 404
    assert post_button(admin_browser, f"{PLANS}/999/retire").status_code == 404
    assert post_button(admin_browser, f"{PLANS}/1/delete").status_code in (404, 405)


BAD_PLAN_INPUT = [
    ({"slug": "Not A Slug"}, "Use lower-case letters, digits and hyphens for the address name."),
    ({"slug": "-edge-"}, "Use lower-case letters, digits and hyphens for the address name."),
    ({"slug": ""}, "Give the plan an address name."),
    ({"slug": "a" * 61}, "Field cannot be longer than 60 characters."),
    ({"name_ja": "", "name_en": ""}, "Give the plan a name in Japanese or English."),
    ({"name_ja": " ", "name_en": "\u3000"}, "Give the plan a name in Japanese or English."),
    ({"name_en": "Supporter\x01"}, "Remove the control characters from this field."),
    ({"price": "abc"}, "Give an amount such as 1500"),
    ({"price": "-5000"}, "Give an amount such as 1500"),
    ({"price": "50.5"}, "Give an amount such as 1500"),
    ({"price": ""}, "Give the price."),
    ({"price": "999999999999"}, "Enter a price from zero to 100,000,000"),
    ({"price": "99999999999999999999"}, "Give an amount such as 1500"),
    ({"price": "49"}, "Card payments start at ¥50."),
    ({"price": "1"}, "Card payments start at ¥50."),
    ({"price": "0.49", "currency": "USD"}, "Card payments start at $0.50."),
    (
        {"price": "0", "renewal": "subscription"},
        "A free plan is renewed with a click, not by a card subscription.",
    ),
    ({"currency": "XXX"}, "This currency is not accepted."),
    ({"currency": ""}, "This currency is not accepted."),
    ({"benefits": ["member_prices", "free_beer"]}, "Choose benefits from the list."),
    ({"renewal": "weekly"}, "Choose how the plan is renewed."),
    ({"renewal": None}, "Choose how the plan is renewed."),
    ({"position": "5000"}, "Enter a position from -1000 to 1000."),
    ({"position": "99999999999999999999999"}, "Enter a position from -1000 to 1000."),
    ({"position": "first"}, "Not a valid integer value."),
    ({"description_en": "x" * 4001}, "Field cannot be longer than 4000 characters."),
]


@pytest.mark.parametrize(("changes", "message"), BAD_PLAN_INPUT)
def test_bad_input_on_the_new_plan_form_is_refused_on_its_field(
    app, admin_browser, changes, message
):
    response = submit(admin_browser, NEW_PLAN, plan_form(**changes))
    assert response.status_code == 422
    page = text(response)
    assert message in page.replace("&#39;", "'")
    assert 'class="error"' in page
    assert plan_count() == 0


@pytest.mark.parametrize(("changes", "message"), BAD_PLAN_INPUT)
def test_bad_input_on_the_edit_form_changes_nothing(app, admin_browser, plan_of, changes, message):
    plan = plan_of(slug="individual", name_en="Individual", price_minor=5000)
    response = submit(
        admin_browser,
        f"{PLANS}/{plan.id}/edit",
        plan_form(**{"slug": "individual", "name_en": "Changed", **changes}),
    )
    assert response.status_code == 422
    assert message in text(response).replace("&#39;", "'")
    unchanged = plan_named("individual")
    assert (unchanged.name_en, unchanged.price_minor, unchanged.benefits) == (
        "Individual",
        5000,
        ["member_prices"],
    )


def test_a_duplicate_address_name_is_refused_on_its_field(app, admin_browser, plan_of):
    plan_of(slug="supporter", name_en="Original")
    response = submit(admin_browser, NEW_PLAN, plan_form(slug="supporter", name_en="Copy"))
    assert response.status_code == 422
    page = text(response)
    assert "Another plan has this address name." in page
    assert 'id="slug-error"' in page
    assert plan_count() == 1
    assert plan_named("supporter").name_en == "Original"
    other = plan_of(slug="other")
    response = submit(admin_browser, f"{PLANS}/{other.id}/edit", plan_form(slug="supporter"))
    assert response.status_code == 422
    assert plan_named("other") is not None


def test_a_nul_byte_on_the_plan_form_is_refused_before_the_form(app, admin_browser):
    # Every route refuses NUL (core.views) with 400 and a message, before any database sees it.
    response = submit(admin_browser, NEW_PLAN, plan_form(name_en="Supporter\x00"))
    assert response.status_code == 400
    assert "The request holds characters that are not allowed" in text(response)
    assert plan_count() == 0


def test_a_refused_plan_form_shows_what_was_typed(app, admin_browser):
    response = submit(admin_browser, NEW_PLAN, plan_form(price="１，０００", position="5000"))
    assert response.status_code == 422
    page = text(response)
    assert 'value="１，０００"' in page
    assert 'value="member_prices" checked' in page or 'checked id="benefits-0"' in page


# --- the members list ----------------------------------------------------------------------------


@pytest.fixture
def some_members(make_user, plan_of, membership_of):
    """Aiko (individual, active), Ben (individual, expired), Chen (student, past due) and a
    join Dana never paid (student)."""
    individual = plan_of(slug="individual", name_en="Individual")
    student = plan_of(slug="student", name_en="Student", price_minor=1000)
    moment = utcnow()
    people = {
        "aiko": make_user(name="Aiko Tanaka", email="aiko@example.com"),
        "ben": make_user(name="Ben Smith", email="ben.smith@example.org"),
        "chen": make_user(name="Chen Li", email="chen_li@example.com"),
        "dana": make_user(name="Dana 100%", email="dana@example.net"),
    }
    memberships = {
        "aiko": membership_of(people["aiko"], individual, created_at=moment - timedelta(days=4)),
        "ben": membership_of(
            people["ben"],
            individual,
            status="expired",
            starts_at=moment - timedelta(days=800),
            created_at=moment - timedelta(days=800),
        ),
        "chen": membership_of(
            people["chen"], student, status="past_due", created_at=moment - timedelta(days=2)
        ),
        "dana": membership_of(
            people["dana"], student, status="abandoned", created_at=moment - timedelta(days=1)
        ),
    }
    return {"plans": {"individual": individual, "student": student}, **people}, memberships


def _listed(client, query: str = "") -> list[str]:
    response = client.get(f"{MEMBERS}{query}")
    assert response.status_code == 200
    page = text(response)
    names = ["Aiko Tanaka", "Ben Smith", "Chen Li", "Dana 100%"]
    return sorted(name for name in names if f">{name}</a>" in page)


def test_the_list_shows_every_membership_newest_first(app, organiser, some_members):
    client = browser(app, organiser)
    page = text(client.get(MEMBERS))
    assert "4 memberships" in page
    order = [page.index(name) for name in ("Dana 100%", "Chen Li", "Aiko Tanaka", "Ben Smith")]
    assert order == sorted(order)
    assert "Renewal payment failed" in page and "Not completed" in page


def test_the_list_is_filtered_by_plan_status_and_search(app, organiser, some_members):
    world, _ = some_members
    client = browser(app, organiser)
    student = world["plans"]["student"].id
    assert _listed(client, f"?plan={student}") == ["Chen Li", "Dana 100%"]
    assert _listed(client, "?status=expired") == ["Ben Smith"]
    assert _listed(client, f"?plan={student}&status=past_due") == ["Chen Li"]
    assert _listed(client, "?q=tanaka") == ["Aiko Tanaka"]
    assert _listed(client, "?q=EXAMPLE.ORG") == ["Ben Smith"]
    assert _listed(client, "?q=%20aiko%20") == ["Aiko Tanaka"]
    # LIKE's wildcards are searched as themselves.
    assert _listed(client, "?q=_") == ["Chen Li"]
    assert _listed(client, "?q=%25") == ["Dana 100%"]
    assert _listed(client, "?q=nobody") == []
    assert "No membership matches." in text(client.get(f"{MEMBERS}?q=nobody"))


@pytest.mark.parametrize(
    ("query", "problem"),
    [
        ("?plan=999", "The plan you chose is unknown: it is ignored."),
        ("?plan=abc", "The plan you chose is unknown: it is ignored."),
        ("?plan=99999999999999999999", "The plan you chose is unknown: it is ignored."),
        ("?status=lost", "The status you chose is unknown: it is ignored."),
    ],
)
def test_filters_not_understood_are_ignored_and_said_so(
    app, organiser, some_members, query, problem
):
    client = browser(app, organiser)
    response = client.get(f"{MEMBERS}{query}")
    assert response.status_code == 200
    assert problem in text(response)
    assert _listed(client, query) == ["Aiko Tanaka", "Ben Smith", "Chen Li", "Dana 100%"]


@pytest.mark.parametrize(
    "query", ["?q=" + "a" * 5000, "?page=-1", "?page=abc", "?page=99999999999", "?q=%E2%80%A8"]
)
def test_odd_queries_never_fail_the_list(app, organiser, some_members, query):
    client = browser(app, organiser)
    assert client.get(f"{MEMBERS}{query}").status_code == 200
    assert client.get(f"{MEMBERS_CSV}{query}").status_code == 200


def test_a_long_search_is_cut_to_the_search_box_length(app, organiser, some_members):
    client = browser(app, organiser)
    page = text(client.get(f"{MEMBERS}?q=aiko" + "x" * 500))
    assert 'maxlength="100"' in page
    assert 'value="aiko' + "x" * 96 + '"' in page


def test_the_list_comes_a_page_at_a_time(app, organiser, some_members, monkeypatch):
    monkeypatch.setattr(reports, "PER_PAGE", 3)
    client = browser(app, organiser)
    first = text(client.get(MEMBERS))
    assert "Page 1 of 2" in first
    assert _listed(client) == ["Aiko Tanaka", "Chen Li", "Dana 100%"]
    assert 'rel="next" href="/organiser/membership/members?page=2"' in first
    assert _listed(client, "?page=2") == ["Ben Smith"]
    # Past the end: the last page. The filters go with the page links.
    assert _listed(client, "?page=50") == ["Ben Smith"]
    filtered = text(client.get(f"{MEMBERS}?q=example&page=1"))
    assert "page=2" in filtered and "q=example" in filtered


# --- the CSV export ------------------------------------------------------------------------------


def test_the_csv_export_lists_the_filtered_memberships(app, organiser, some_members):
    world, memberships = some_members
    client = browser(app, organiser)
    response = client.get(f"{MEMBERS_CSV}?plan={world['plans']['individual'].id}")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.headers["Cache-Control"] == "no-store"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = csv_rows(response)
    assert rows[0] == [
        "Name",
        "E-mail address",
        "Plan",
        "Status",
        "Starts (Asia/Tokyo)",
        "Ends (Asia/Tokyo)",
        "Renews itself",
        "Joined at (Asia/Tokyo)",
    ]
    assert [row[0] for row in rows[1:]] == ["Aiko Tanaka", "Ben Smith"]
    aiko = memberships["aiko"]
    assert rows[1] == [
        "Aiko Tanaka",
        "aiko@example.com",
        "Individual",
        "Active",
        aiko.starts_at.astimezone(TOKYO).strftime("%Y-%m-%d"),
        aiko.ends_at.astimezone(TOKYO).strftime("%Y-%m-%d"),
        "No",
        aiko.created_at.astimezone(TOKYO).strftime("%Y-%m-%d %H:%M"),
    ]
    assert rows[2][3] == "Expired"
    # Every membership when nothing is filtered; a search narrows it as the list does.
    assert len(csv_rows(client.get(MEMBERS_CSV))) == 5
    assert [row[0] for row in csv_rows(client.get(f"{MEMBERS_CSV}?q=chen"))[1:]] == ["Chen Li"]


def test_the_csv_export_says_who_renews_by_themselves(
    app, organiser, make_user, plan_of, membership_of
):
    card = plan_of(slug="card", renewal="subscription")
    membership_of(make_user(name="Sub Scriber"), card, auto_renew=True)
    membership_of(make_user(name="Stop Ped"), card, auto_renew=False)
    rows = csv_rows(browser(app, organiser).get(MEMBERS_CSV))
    assert {row[0]: row[6] for row in rows[1:]} == {"Sub Scriber": "Yes", "Stop Ped": "No"}


@pytest.mark.parametrize(
    "typed", ['=HYPERLINK("http://evil.example","x")', "+1+1", "-2+3", "@SUM(A1)"]
)
def test_what_people_typed_cannot_run_as_a_formula_in_the_csv(
    app, organiser, make_user, plan_of, membership_of, typed
):
    plan = plan_of(slug="formula", name_en=typed, name_ja=typed)
    membership_of(make_user(name=typed, email="-minus@example.com"), plan)
    rows = csv_rows(browser(app, organiser).get(MEMBERS_CSV))
    assert rows[1][0] == "'" + typed
    assert rows[1][1] == "'-minus@example.com"
    assert rows[1][2] == "'" + typed


def test_the_csv_export_speaks_the_readers_language(app, make_user, some_members):
    japanese_admin = make_user(role="admin", locale="ja", email="kanri@example.com")
    response = browser(app, japanese_admin, language="ja").get(MEMBERS_CSV)
    assert response.status_code == 200
    assert len(csv_rows(response)) == 5


# --- one person ----------------------------------------------------------------------------------


def test_a_members_page_shows_each_membership_with_its_whole_history(
    app, organiser, make_user, plan_of, membership_of
):
    individual = plan_of(slug="individual", name_en="Individual", price_minor=5000)
    person = make_user(name="Hana Yamada", email="hana@example.com")
    first_start = datetime(2024, 4, 1, 1, 0, tzinfo=UTC)
    earlier = membership_of(
        person,
        individual,
        status="expired",
        starts_at=first_start,
        ends_at=datetime(2025, 4, 1, 1, 0, tzinfo=UTC),
        history=[
            ("joined", first_start, 5000),
            ("in_grace", datetime(2025, 4, 1, 2, 0, tzinfo=UTC), None),
            ("expired", datetime(2025, 4, 15, 2, 0, tzinfo=UTC), None),
        ],
    )
    now = membership_of(
        person,
        individual,
        history=[
            ("joined", utcnow() - timedelta(days=30), 5000),
            ("refunded", utcnow() - timedelta(days=1), -2000),
        ],
    )
    response = browser(app, organiser).get(f"{MEMBERS}/{person.id}")
    assert response.status_code == 200
    page = text(response)
    assert "Hana Yamada" in page and "hana@example.com" in page
    assert f"Individual (membership #{earlier.id})" in page
    assert f"Individual (membership #{now.id})" in page
    assert page.index(f"#{now.id})") < page.index(f"#{earlier.id})")  # newest first
    for shown in ("Joined", "Grace period began", "Expired", "Refunded", "¥5,000", "-¥2,000"):
        assert shown in page, shown
    assert "1 April 2025" in page  # the end after each step, in Tokyo
    assert '<th scope="row">' in page and '<th scope="col">' in page


def test_a_members_page_lists_their_membership_orders(
    app, admin, organiser, make_user, plan_of, membership_of
):
    plan = plan_of(slug="individual")
    person = make_user(name="Paying Person")
    membership_of(person, plan)
    order = Order(
        purpose="membership",
        reference="1",
        amount_minor=5000,
        currency="JPY",
        buyer_email=person.email,
        buyer_user_id=person.id,
        description="Membership: Individual",
        status="pending",
        refunded_minor=0,
    )
    db.session.add(order)
    db.session.flush()
    order.transition("paid", utcnow())
    db.session.add(
        Payment(
            order_id=order.id,
            provider="sandbox",
            kind="checkout",
            session_id="cs_sandbox_admin_test",
            amount_minor=5000,
            currency="JPY",
            status="paid",
        )
    )
    db.session.add(
        Order(
            purpose="ticket",
            reference="9",
            amount_minor=777,
            currency="JPY",
            buyer_email=person.email,
            buyer_user_id=person.id,
            description="Not a membership",
            status="pending",
            refunded_minor=0,
        )
    )
    db.session.commit()
    page = text(browser(app, admin).get(f"{MEMBERS}/{person.id}"))
    assert "Membership: Individual" in page
    assert f'href="/organiser/orders/{order.id}"' in page
    assert "Not a membership" not in page
    # Organisers do not see membership orders in the orders back office: no link for them.
    page = text(browser(app, organiser).get(f"{MEMBERS}/{person.id}"))
    assert "Membership: Individual" in page
    assert f'href="/organiser/orders/{order.id}"' not in page


def test_a_member_page_for_no_member_is_not_found(app, organiser, make_user):
    client = browser(app, organiser)
    assert client.get(f"{MEMBERS}/999").status_code == 404
    assert client.get(f"{MEMBERS}/0").status_code == 404
    assert client.get(f"{MEMBERS}/2147483648").status_code == 404
    assert client.get(f"{MEMBERS}/99999999999999999999").status_code == 404
    # An account without any membership is not a member's page either.
    assert client.get(f"{MEMBERS}/{make_user().id}").status_code == 404


# --- the reports ---------------------------------------------------------------------------------

# The reports' fixed moment: 15 June 2026, noon in Tokyo.
NOW = datetime(2026, 6, 15, 12, 0, tzinfo=TOKYO)


@pytest.fixture
def report_data(make_user, plan_of, membership_of):
    """A small fixed set of memberships and their history, around NOW."""
    with time_machine.travel(NOW, tick=False):
        yen = plan_of(slug="individual", name_en="Individual", price_minor=5000)
        dollars = plan_of(
            slug="abroad",
            name_en="Abroad",
            price_minor=3000,
            currency="USD",
            renewal="subscription",
        )
        free = plan_of(slug="friend", name_en="Friend", price_minor=0, benefits=())
        now = NOW.astimezone(UTC)
        count = iter(range(1, 100))

        def person():
            return make_user(name=f"Reported {next(count)}")

        # Members now: Individual 2 active + 1 past due; Abroad 1 in grace.
        membership_of(
            person(),
            yen,
            starts_at=now - timedelta(days=300),
            history=[
                # 1 June, 00:30 in Tokyo (still 31 May in UTC): June's.
                ("joined", datetime(2026, 5, 31, 15, 30, tzinfo=UTC), 5000),
                ("renewed", datetime(2026, 6, 2, 3, 0, tzinfo=UTC), 5000),
                ("refunded", datetime(2026, 6, 3, 3, 0, tzinfo=UTC), -5000),
            ],
        )
        membership_of(
            person(),
            yen,
            ends_at=now + timedelta(days=59),
            history=[
                # 31 May, 23:30 in Tokyo: May's.
                ("joined", datetime(2026, 5, 31, 14, 30, tzinfo=UTC), 5000),
            ],
        )
        membership_of(
            person(),
            yen,
            status="past_due",
            ends_at=now + timedelta(days=61),  # beyond the 60 days
            history=[("joined", datetime(2025, 8, 10, 3, 0, tzinfo=UTC), 5000)],
        )
        membership_of(
            person(),
            dollars,
            status="in_grace",
            ends_at=now - timedelta(days=2),  # ended: in its grace, no renewal to come
            history=[("joined", datetime(2026, 1, 20, 3, 0, tzinfo=UTC), 3000)],
        )
        # A subscription renewing itself in 10 days, and one whose renewal was stopped.
        membership_of(
            person(),
            dollars,
            auto_renew=True,
            ends_at=now + timedelta(days=10),
            history=[("joined", datetime(2025, 6, 25, 3, 0, tzinfo=UTC), 3000)],
        )
        membership_of(
            person(),
            dollars,
            auto_renew=False,
            ends_at=now + timedelta(days=20),
            history=[("joined", datetime(2025, 12, 5, 3, 0, tzinfo=UTC), 3000)],
        )
        # Not members now: an active one whose grace ended (the job has not run yet), lapses.
        membership_of(
            person(),
            free,
            starts_at=now - timedelta(days=400),
            ends_at=now - timedelta(days=30),
            grace_ends_at=now - timedelta(days=16),
            history=[("joined", datetime(2025, 4, 10, 3, 0, tzinfo=UTC), 0)],  # too long ago
        )
        membership_of(
            person(),
            yen,
            status="expired",
            ends_at=now + timedelta(days=5),  # no renewal to come: it has ended
            history=[
                ("joined", datetime(2025, 7, 1, 3, 0, tzinfo=UTC), 5000),
                ("expired", datetime(2026, 4, 15, 3, 0, tzinfo=UTC), None),
            ],
        )
        membership_of(
            person(),
            dollars,
            status="cancelled",
            history=[
                ("joined", datetime(2026, 6, 1, 3, 0, tzinfo=UTC), 3000),
                ("refunded", datetime(2026, 6, 10, 3, 0, tzinfo=UTC), -3000),
                ("cancelled", datetime(2026, 6, 10, 3, 0, tzinfo=UTC), None),
            ],
        )
        membership_of(person(), yen, status="abandoned", history=[("abandoned", now, None)])
    return {"yen": yen, "dollars": dollars, "free": free}


def test_joins_and_lapses_are_counted_by_month_in_tokyo(app, report_data):
    figures = reports.joins_and_lapses(NOW)
    assert [m.month for m in figures] == [
        "2025-07",
        "2025-08",
        "2025-09",
        "2025-10",
        "2025-11",
        "2025-12",
        "2026-01",
        "2026-02",
        "2026-03",
        "2026-04",
        "2026-05",
        "2026-06",
    ]
    by_month = {m.month: (m.joins, m.lapses) for m in figures}
    assert by_month["2026-06"] == (2, 1)  # joined 1 June 00:30 JST and 1 June; one cancelled
    assert by_month["2026-05"] == (1, 0)  # 31 May 23:30 JST
    assert by_month["2026-04"] == (0, 1)  # expired
    assert by_month["2026-01"] == (1, 0)
    assert by_month["2025-12"] == (1, 0)
    assert by_month["2025-08"] == (1, 0)
    assert by_month["2025-07"] == (1, 0)  # 1 July 2025 12:00 JST: the window's first month
    assert sum(j for j, _ in by_month.values()) == 7  # 25 June 2025 and April 2025: too long ago
    assert by_month["2026-03"] == (0, 0)


def test_revenue_is_net_of_refunds_per_plan_and_currency(app, report_data):
    revenue = {(row.plan.slug, row.currency): row for row in reports.revenue_by_plan()}
    assert set(revenue) == {("individual", "JPY"), ("abroad", "USD")}  # the free plan took none
    yen = revenue[("individual", "JPY")]
    assert (yen.payments, yen.received_minor, yen.refunded_minor, yen.net_minor) == (
        5,
        25000,
        5000,
        20000,
    )
    dollars = revenue[("abroad", "USD")]
    assert (dollars.payments, dollars.received_minor, dollars.refunded_minor) == (4, 12000, 3000)
    assert dollars.net_minor == 9000


def test_members_now_are_counted_by_plan_and_status(app, report_data):
    counts = {row.plan.slug: row for row in reports.members_now(NOW.astimezone(UTC))}
    assert set(counts) == {"individual", "abroad"}
    assert counts["individual"].by_status == {"active": 2, "past_due": 1, "in_grace": 0}
    assert counts["abroad"].by_status == {"active": 2, "past_due": 0, "in_grace": 1}
    assert counts["individual"].total == 3


def test_renewals_to_come_say_whether_they_renew_themselves(app, report_data):
    renewals = reports.upcoming_renewals(NOW.astimezone(UTC))
    ends = [m.ends_at.astimezone(TOKYO).date().isoformat() for m in renewals.memberships]
    assert ends == ["2026-06-25", "2026-07-05", "2026-08-13"]
    assert [reports.renews_itself(m) for m in renewals.memberships] == [True, False, False]
    assert (renewals.total, renewals.renewing_themselves, renewals.by_hand) == (3, 1, 2)


def test_the_reports_page_shows_the_figures(app, report_data, make_user):
    organiser = make_user(role="organiser", email="olive@example.com")
    with time_machine.travel(NOW, tick=False):
        response = browser(app, organiser).get(REPORTS)
    assert response.status_code == 200
    page = text(response)
    assert "Members now" in page
    assert "¥20,000" in page and "$90.00" in page
    assert "3 memberships end in this time." in page
    assert "Renewing themselves: 1. Renewed by hand: 2." in page
    assert "2026-06" in page and "2025-07" in page and "2025-06" not in page
    assert '<th scope="row">Individual</th>' in page


def test_the_reports_page_with_no_member_says_so(app, organiser):
    page = text(browser(app, organiser).get(REPORTS))
    assert "Nobody is a member now." in page
    assert "Nothing received yet." in page
    assert "0 memberships end in this time." in page


# --- a fixed number of queries -------------------------------------------------------------------


def test_the_list_and_the_reports_run_as_many_queries_for_3_as_for_30_members(
    app, organiser, make_user, plan_of, membership_of
):
    plans = [plan_of(slug="individual"), plan_of(slug="card", renewal="subscription")]
    client = browser(app, organiser)
    counts: dict[str, list[int]] = {MEMBERS: [], REPORTS: [], MEMBERS_CSV: []}
    made = 0
    for total in (3, 30):
        for number in range(made, total):
            plan = plans[number % 2]
            membership_of(
                make_user(name=f"Counted {number}"),
                plan,
                status=("active", "past_due", "expired")[number % 3],
                auto_renew=plan.renewal == "subscription",
                ends_at=utcnow() + timedelta(days=5 + number),
                history=[
                    ("joined", utcnow() - timedelta(days=40 * number), plan.price_minor),
                    ("refunded", utcnow() - timedelta(days=number), -100),
                ],
            )
        made = total
        for path in counts:
            client.get(path)  # warm the caches of compiled statements
            with count_queries() as statements:
                response = client.get(path)
            assert response.status_code == 200
            counts[path].append(len(statements))
        assert f"{total} memberships" in text(client.get(MEMBERS))
    for path, found in counts.items():
        assert found[0] == found[1], (path, found)
    # The person, the plans, a count and a page (+ BEGIN on SQLite and a session's touch).
    assert counts[MEMBERS][0] <= 8, counts
    assert counts[REPORTS][0] <= 9, counts


def test_a_members_page_runs_as_many_queries_for_a_long_history(
    app, organiser, make_user, plan_of, membership_of
):
    plan = plan_of(slug="individual")
    short, long = make_user(name="Short History"), make_user(name="Long History")
    membership_of(short, plan, history=[("joined", utcnow(), 5000)])
    for year in range(1, 4):
        membership_of(
            long,
            plan,
            status="expired",
            starts_at=utcnow() - timedelta(days=400 * year),
            history=[("joined", utcnow() - timedelta(days=400 * year), 5000)] * 5,
        )
    client = browser(app, organiser)
    found = []
    for person in (short, long):
        client.get(f"{MEMBERS}/{person.id}")
        with count_queries() as statements:
            assert client.get(f"{MEMBERS}/{person.id}").status_code == 200
        found.append(len(statements))
    assert found[0] == found[1], found
