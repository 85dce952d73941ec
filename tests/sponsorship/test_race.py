"""A tier's last place is sold once: companies buying it at the same moment, through the real
HTTP interface served by several gunicorn processes, on SQLite (BEGIN IMMEDIATE) and on
PostgreSQL (the counter's conditional UPDATE); and a company submitting the same purchase twice at
once gets one sponsorship. The same races inside one process, with the worst interleaving
(`writers_meet`), check the services without HTTP in the way."""

from __future__ import annotations

import html
import http.cookiejar
import re
import threading
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select

from community.core.db import db
from community.core.errors import Conflict
from community.sponsorship import services, years
from community.sponsorship.models import HOLDING, Sponsorship, TierYear
from tests.conftest import PASSWORD
from tests.serving import gunicorn_serving
from tests.sponsorship.conftest import contact_of

SOLD_OUT = "This tier has no place left for that year. Choose another tier or year."
ALREADY_HOLDS = (
    "This company already has a sponsorship for that year: see it on the company's page."
)
TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


@pytest.fixture
def served(app, smtp_server, tmp_path):
    """The app served by gunicorn (4 processes × 4 threads) on this test's database."""
    with gunicorn_serving(app, smtp_server, tmp_path, workers=4, threads=4) as base:
        yield base


class Answer:
    def __init__(self, status: int, location: str, body: str) -> None:
        self.status, self.location, self.body = status, location, body


class Browser:
    """A browser of one person: its own cookie jar, redirects not followed."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), _NoRedirect
        )

    def open(self, path: str, data: dict | None = None) -> Answer:
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        request = urllib.request.Request(self.base + path, data=body)
        request.add_header("Accept-Language", "en")
        try:
            with self.opener.open(request, timeout=120) as response:
                return Answer(response.status, "", response.read().decode())
        except urllib.error.HTTPError as answer:
            return Answer(answer.code, answer.headers.get("Location", ""), answer.read().decode())

    def token(self, path: str) -> str:
        page = self.open(path)
        assert page.status == 200, (path, page.status, page.body[:500])
        return TOKEN.search(page.body).group(1)

    def log_in(self, user) -> None:
        token = self.token("/account/login")
        answer = self.open(
            "/account/login", {"csrf_token": token, "email": user.email, "password": PASSWORD}
        )
        assert answer.status == 302, answer.body[:500]


def signed_in(base: str, user) -> Browser:
    browser = Browser(base)
    browser.log_in(user)
    return browser


def holding_count(tier) -> int:
    db.session.rollback()  # end this test's read transaction: see what the servers wrote
    return db.session.scalar(
        select(func.count())
        .select_from(Sponsorship)
        .where(Sponsorship.tier_id == tier.id, Sponsorship.status.in_(HOLDING))
    )


def taken(tier, year: int) -> int:
    db.session.rollback()
    return db.session.scalar(
        select(TierYear.taken).where(TierYear.tier_id == tier.id, TierYear.year == year)
    )


def all_at_once(calls) -> list:
    """Run each call in its own thread, all released at the same moment; their results."""
    barrier = threading.Barrier(len(calls))

    def run(call):
        barrier.wait(timeout=60)
        return call()

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        futures = [pool.submit(run, call) for call in calls]
        return [future.result(timeout=180) for future in futures]


def purchase(browser: Browser, token: str, partner_id: int, tier_slug: str, year: int):
    data = {
        "csrf_token": token,
        "partner": partner_id,
        "tier": tier_slug,
        "year": year,
        "method": "invoice",
    }
    return lambda: browser.open("/partners/buy", data)


def test_two_companies_racing_for_the_last_place_of_a_tier_one_gets_it(
    app, served, make_tier, make_partner, mailbox
):
    tier = make_tier(places=1)
    first, second = make_partner(), make_partner()
    year = years.year_of(years.today())
    buyers = [(signed_in(served, contact_of(p)), p) for p in (first, second)]
    tokens = [browser.token("/partners/buy") for browser, _ in buyers]

    answers = all_at_once(
        [
            purchase(browser, token, partner.id, tier.slug, year)
            for (browser, partner), token in zip(buyers, tokens, strict=True)
        ]
    )

    assert sorted(answer.status for answer in answers) == [302, 409], [
        (a.status, a.body[:300]) for a in answers
    ]
    winner = next(answer for answer in answers if answer.status == 302)
    loser = next(answer for answer in answers if answer.status == 409)
    db.session.rollback()  # end this test's read transaction: see what the servers wrote
    sponsorship = db.session.scalar(select(Sponsorship).where(Sponsorship.tier_id == tier.id))
    assert urllib.parse.urlsplit(winner.location).path == (
        f"/partners/sponsorships/{sponsorship.id}"
    )
    assert sponsorship.status == "invoiced"
    assert SOLD_OUT in html.unescape(loser.body)
    assert taken(tier, year) == 1
    assert holding_count(tier) == 1
    assert services.places_left([tier.id], year)[tier.id] == 0


def test_many_companies_racing_for_a_tiers_places_never_oversell(
    app, served, make_tier, make_partner
):
    places, companies = 3, 12
    tier = make_tier(places=places)
    partners = [make_partner() for _ in range(companies)]
    year = years.year_of(years.today())
    buyers = [(signed_in(served, contact_of(p)), p) for p in partners]
    tokens = [browser.token("/partners/buy") for browser, _ in buyers]

    answers = all_at_once(
        [
            purchase(browser, token, partner.id, tier.slug, year)
            for (browser, partner), token in zip(buyers, tokens, strict=True)
        ]
    )

    statuses = sorted(answer.status for answer in answers)
    assert statuses == [302] * places + [409] * (companies - places), statuses
    assert all(SOLD_OUT in html.unescape(answer.body) for answer in answers if answer.status == 409)
    assert taken(tier, year) == places
    assert holding_count(tier) == places


def test_the_same_company_submitting_twice_at_once_gets_one_sponsorship(
    app, served, make_tier, make_partner
):
    tier = make_tier(places=5)
    partner = make_partner()
    year = years.year_of(years.today())
    browser = signed_in(served, contact_of(partner))
    token = browser.token("/partners/buy")

    answers = all_at_once([purchase(browser, token, partner.id, tier.slug, year)] * 2)

    assert sorted(answer.status for answer in answers) == [302, 409], [
        (a.status, a.body[:300]) for a in answers
    ]
    loser = next(answer for answer in answers if answer.status == 409)
    assert ALREADY_HOLDS in html.unescape(loser.body)
    assert taken(tier, year) == 1
    assert holding_count(tier) == 1


# --- the same races in one process, at the worst interleaving ------------------------------------


def _race(app, calls) -> list[str]:
    """Run each call in a thread of its own, each in an app context of its own (its own
    database session); what each came to ("bought", or the refusal's message)."""
    db.session.commit()
    outcomes: list[str] = []

    def run(call) -> None:
        with app.app_context():
            try:
                call()
            except Conflict as error:
                outcomes.append(str(error))
            else:
                outcomes.append("bought")
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return sorted(outcomes)


def _buyer(partner_id: int, user_id: int, tier_slug: str, year: int):
    def call():
        from community.accounts.models import User

        services.buy_sponsorship(
            partner_id,
            db.session.get(User, user_id),
            tier_slug=tier_slug,
            year=year,
            method="invoice",
        )

    return call


def test_two_purchases_of_the_last_place_that_both_read_first_sell_it_once(
    app, make_tier, make_partner, writers_meet
):
    tier = make_tier(places=1)
    first, second = make_partner(), make_partner()
    year = years.year_of(years.today())
    calls = [_buyer(p.id, contact_of(p).id, tier.slug, year) for p in (first, second)]
    writers_meet(2)  # both have read the tier and the year before either writes

    outcomes = _race(app, calls)

    assert outcomes == sorted(["bought", SOLD_OUT])
    assert taken(tier, year) == 1
    assert holding_count(tier) == 1


def test_one_company_buying_twice_at_once_that_both_read_first_holds_one_sponsorship(
    app, make_tier, make_partner, writers_meet
):
    tier = make_tier(places=5)
    partner = make_partner()
    year = years.year_of(years.today())
    call = _buyer(partner.id, contact_of(partner).id, tier.slug, year)
    writers_meet(2)

    outcomes = _race(app, [call, call])

    assert outcomes == sorted(["bought", ALREADY_HOLDS])
    assert taken(tier, year) == 1
    assert holding_count(tier) == 1


def test_the_first_purchases_of_a_new_year_at_once_share_its_counter(
    app, make_tier, make_partner, writers_meet
):
    # Nobody has bought the tier for next year yet: both purchases make its counter row.
    tier = make_tier(places=2)
    first, second = make_partner(), make_partner()
    year = years.year_of(years.today()) + 1
    calls = [_buyer(p.id, contact_of(p).id, tier.slug, year) for p in (first, second)]
    writers_meet(2)

    outcomes = _race(app, calls)

    assert outcomes == ["bought", "bought"]
    assert taken(tier, year) == 2
    db.session.rollback()
    assert (
        db.session.scalar(
            select(func.count()).select_from(TierYear).where(TierYear.tier_id == tier.id)
        )
        == 1
    )
