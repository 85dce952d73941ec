"""No input gets a 5xx: a walk over the whole URL map, sending hostile values in every path
argument and every query parameter, and into every field of every form that the pages show (to a
visitor and to an admin), on each database; nothing may answer 5xx nor log a traceback.

Plus the classes behind the walk's findings, each on its own: the request-level rule for NUL and
lone surrogates, bounded integers in paths and queries, non-ASCII tokens, U+2028 in a title that
reaches an e-mail subject, and a signed webhook whose object lacks fields.
"""

from __future__ import annotations

import json
import logging
import re
from datetime import timedelta
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import quote, urlencode, urlsplit

import pytest
from flask import Flask

from community.accounts.services import request_password_reset
from community.events import services
from community.events.services import QuestionData, TicketTypeData
from community.payments.sandbox import SANDBOX_WEBHOOK_SECRET, sign
from tests.conftest import PASSWORD, IsolatedClient, csrf_token_from, link_in, submit
from tests.events.test_organiser import event_form

ROOT = Path(__file__).resolve().parents[2]

# What a path argument or query value may be, at its worst (already %-encoded where it matters).
HOSTILE_PATH_VALUES = [
    "%00",
    "a%00b",
    "%ED%A0%80",  # the UTF-8 bytes of a lone surrogate
    "%E2%80%A8",  # U+2028
    "%C3%A9%E2%9C%93%F0%9F%98%80",  # é✓😀
    "%FF%FE",  # not UTF-8 at all
    "0",
    "-1",
    "2147483648",
    "99999999999999999999",
    "x" * 2000,
    "..%2F..%2Fetc%2Fpasswd",
    "%27%3B--",
]
HOSTILE_QUERY_VALUES = [
    "",
    "\x00",
    "\u2028",
    "\ud800",
    "é✓😀",
    "0",
    "-1",
    "2147483648",
    "99999999999999999999",
    "1e999",
    "NaN",
    "x" * 5000,
    "2026-02-30",
    "[]",
]
# What form fields may receive (sent as text; the browser's own limits do not bind an attacker).
HOSTILE_FIELD_VALUES = [
    "",
    "\x00",
    "\u2028line",
    "\u0085",
    "é✓😀\u200f",
    "-1",
    "99999999999999999999",
    "1e999",
    "１２３",
    "x" * 10_000,
    "2026-13-45T25:61",
    "<script>alert(1)</script>",
]
# Every query parameter that any view reads: test_the_walk_knows_every_query_parameter keeps this
# list complete.
QUERY_PARAMETERS = [
    "campaign", "category", "code", "format", "from", "kind", "lang", "language", "next", "page",
    "paid", "partner", "per_page", "plan", "purpose", "q", "status", "ticket_type", "tier", "to",
]  # fmt: skip


class _Forms(HTMLParser):
    """The POST forms of a page: action and fields (name → a valid value, or the options)."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict] = []
        self._form: dict | None = None
        self._select: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form" and (attrs.get("method") or "get").lower() == "post":
            self._form = {"action": attrs.get("action") or "", "fields": {}}
            self.forms.append(self._form)
        elif self._form is None:
            return
        elif tag == "input" and attrs.get("name"):
            kind = (attrs.get("type") or "text").lower()
            if kind in {"checkbox", "radio"}:
                self._form["fields"].setdefault(attrs["name"], attrs.get("value") or "y")
            elif kind != "file":
                self._form["fields"][attrs["name"]] = attrs.get("value") or ""
        elif tag == "select" and attrs.get("name"):
            self._select = attrs["name"]
            self._form["fields"][self._select] = ""
        elif tag == "option" and self._select and not self._form["fields"][self._select]:
            self._form["fields"][self._select] = attrs.get("value") or ""
        elif tag == "textarea" and attrs.get("name"):
            self._textarea = attrs["name"]
            self._form["fields"][self._textarea] = ""

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data):
        if self._form is not None and self._textarea:
            self._form["fields"][self._textarea] += data


def forms_of(html: str) -> list[dict]:
    parser = _Forms()
    parser.feed(html)
    return parser.forms


class Walk:
    """Sends requests and remembers every answer that broke the rule."""

    def __init__(self, app: Flask, caplog) -> None:
        self.app = app
        self.caplog = caplog
        self.failures: list[str] = []
        self.count = 0
        self.forms: set[str] = set()

    def check(self, method: str, target: str, response, detail: str = "") -> None:
        self.count += 1
        response.close()  # a streamed file (static, covers) is closed as a server would
        if response.status_code >= 500:
            self.failures.append(f"{response.status_code} {method} {target[:200]} {detail[:200]}")
        for record in self.caplog.records:
            if record.exc_info or "Traceback" in record.getMessage():
                self.failures.append(
                    f"traceback logged for {method} {target[:200]} {detail[:200]}: "
                    f"{record.getMessage()[:300]}"
                )
        self.caplog.clear()


@pytest.fixture
def app(make_app):
    """This module's one app, with rate limits off: the walk would meet 429s instead of the code
    under test."""
    app = make_app(RATELIMIT_ENABLED=False, STRIPE_SECRET_KEY="")
    app.test_client_class = IsolatedClient
    with app.app_context():
        yield app


@pytest.fixture
def hostile_app(app):
    return app


@pytest.fixture
def world(hostile_app, make_user, make_event, organiser, register):
    """Some of everything, for the walk's valid values: a free event with questions, a paid one
    with a held place (and its sandbox checkout), a guest's registration, an admin."""
    admin = make_user(role="admin", email="admin@example.com", name="Ada Admin")
    free = make_event(
        slug="free-event",
        questions=[
            QuestionData(kind="short_text", label_en="Company", label_ja="会社", required=False),
            QuestionData(
                kind="single_choice",
                label_en="Diet",
                label_ja="食事",
                options=[
                    {"value": "none", "ja": "なし", "en": "None"},
                    {"value": "vegan", "ja": "ヴィーガン", "en": "Vegan"},
                ],
                required=False,
            ),
        ],
    )
    paid = make_event(
        slug="paid-event",
        tickets=[
            TicketTypeData(slug="standard", name_ja="一般", name_en="Standard", price_minor=3000)
        ],
    )
    registration = register(free, 1)
    visitor = hostile_app.test_client()
    page = visitor.get("/events/paid-event")
    answer = visitor.post(
        "/events/paid-event/register",
        data={
            "csrf_token": csrf_token_from(page.get_data(as_text=True)),
            "name": "Paying Person",
            "email": "payer@example.com",
            "ticket_type": "standard",
        },
    )
    assert answer.status_code in (302, 303), answer.status_code
    checkout = urlsplit(answer.headers["Location"])
    # Two more people pay in the sandbox: paid orders, whose refund forms the walk fills in. The
    # order page's (the first order) may refund it in full, after which the attendee list offers
    # no refund for it: the second one's is still there.
    for email in ("paid@example.com", "paid-too@example.com"):
        payer = hostile_app.test_client()
        page = payer.get("/events/paid-event")
        paying = payer.post(
            "/events/paid-event/register",
            data={
                "csrf_token": csrf_token_from(page.get_data(as_text=True)),
                "name": "Paid Person",
                "email": email,
                "ticket_type": "standard",
            },
        )
        sandbox_page = urlsplit(paying.headers["Location"])
        sandbox_html = payer.get(f"{sandbox_page.path}?{sandbox_page.query}").get_data(as_text=True)
        paid_answer = payer.post(
            sandbox_page.path,
            data={"csrf_token": csrf_token_from(sandbox_html), "outcome": "pay"},
        )
        assert paid_answer.status_code == 303, paid_answer.status_code
    from sqlalchemy import select

    from community.core.db import db
    from community.payments.models import Order

    order = db.session.scalars(
        select(Order).where(Order.status == "paid").order_by(Order.id)
    ).first()
    # A free membership plan whose address name is the free event's slug (the walk gives every
    # <slug> the same valid value), which the admin holds, and a paid one.
    from community.membership import services as membership

    plan = membership.create_plan(
        membership.PlanFields(
            slug=free.slug,
            name_ja="無料",
            name_en="Free",
            description_ja="",
            description_en="",
            price_minor=0,
            currency="JPY",
            renewal="one_off",
            benefits=("member_prices",),
        )
    )
    held = membership.join(admin, plan.slug).membership
    # A campaign at the same address name, and a gift to it, confirmed, with its private link.
    from community.core.db import utcnow
    from community.donations import services as donations
    from community.donations.models import Campaign, Donation, DonationPayment

    campaign = Campaign(
        slug=free.slug,
        name_ja="キャンペーン",
        name_en="Campaign",
        goal_minor=100_000,
        currency="JPY",
        starts_at=utcnow() - timedelta(days=1),
        ends_at=utcnow() + timedelta(days=30),
    )
    db.session.add(campaign)
    db.session.flush()
    gift = Donation(
        kind="one_off",
        status="paid",
        amount_minor=5000,
        currency="JPY",
        campaign_id=campaign.id,
        email="donor@example.com",
        email_key="donor@example.com",
        donor_key="email:donor@example.com",
        wall="anonymous",
        language="en",
        manage_nonce="0" * 32,
        confirmed_at=utcnow(),
    )
    gift.payments.append(
        DonationPayment(counted_campaign_id=campaign.id, amount_minor=5000, currency="JPY")
    )
    db.session.add(gift)
    db.session.commit()
    return {
        "admin": admin,
        "organiser": organiser,
        "free": free,
        "paid": paid,
        "registration": registration,
        "manage_token": services.manage_token(registration),
        "order": order,
        "checkout_path": checkout.path,
        "plan": plan,
        "membership": held,
        "gift": gift,
        "gift_key": donations.manage_token(gift),
    }


def _valid_arguments(world) -> dict[str, str]:
    return {
        "slug": world["free"].slug,
        "registration_id": str(world["registration"].id),
        "token": world["manage_token"],
        "order_id": str(world["order"].id) if world["order"] else "1",
        "user_id": str(world["admin"].id),
        "token_id": "1",
        "name": "events",
        "session_id": world["checkout_path"].rsplit("/", 1)[-1],
        "filename": "css/site.css",
        "plan_id": str(world["plan"].id),
        "membership_id": str(world["membership"].id),
        "payment_id": "1",
        "donation_id": str(world["gift"].id),
        "key": world["gift_key"],
        "campaign_id": "1",
        "year": str(world["gift"].confirmed_at.year),
    }


_ARGUMENT = re.compile(r"<(?:(?P<converter>[a-z]+)(?:\([^)]*\))?:)?(?P<name>\w+)>")


def _paths(rule, valid: dict[str, str]) -> list[tuple[str, str]]:
    """The rule with valid arguments, then with each argument in turn made hostile."""
    names = [match.group("name") for match in _ARGUMENT.finditer(rule.rule)]

    def build(values: dict[str, str]) -> str:
        return _ARGUMENT.sub(lambda match: values[match.group("name")], rule.rule)

    valid_values = {name: quote(valid.get(name, "x"), safe="/") for name in names}
    paths = [(build(valid_values), "valid arguments")]
    for name in names:
        for value in HOSTILE_PATH_VALUES:
            paths.append((build({**valid_values, name: value}), f"{name}={value[:20]}"))
    return paths


def _walk_urls(walk: Walk, client, valid: dict[str, str]) -> list[str]:
    """GET every rule with hostile arguments and hostile queries; return the pages that worked."""
    pages = []
    for rule in walk.app.url_map.iter_rules():
        if "GET" not in rule.methods and "POST" not in rule.methods:
            continue
        for path, detail in _paths(rule, valid):
            for method in sorted(rule.methods & {"GET", "POST"}):
                response = client.open(path, method=method)
                walk.check(method, path, response, detail)
                if method == "GET" and detail == "valid arguments" and response.status_code == 200:
                    pages.append(path)
            if detail != "valid arguments" or "GET" not in rule.methods:
                continue
            for value in HOSTILE_QUERY_VALUES:
                every = _query(dict.fromkeys(QUERY_PARAMETERS, value))
                walk.check("GET", f"{path}?{every}", client.get(f"{path}?{every}"), "every param")
            for name in QUERY_PARAMETERS:
                for value in ("\u2028", "99999999999999999999", "x" * 5000, "-1"):
                    target = f"{path}?{_query({name: value})}"
                    walk.check("GET", target, client.get(target), name)
    return pages


def _query(values: dict[str, str]) -> str:
    # surrogatepass: a lone surrogate goes out as the bytes a hostile client would send.
    return urlencode(values, encoding="utf-8", errors="surrogatepass")


def _walk_forms(walk: Walk, client, pages: list[str], sign_in) -> None:
    """Fill every field of every POST form on those pages with hostile values, one field at a
    time and all at once, with a valid CSRF token."""
    seen = set()
    for page in pages:
        if sign_in is not None:
            sign_in()  # a form of the page before may have signed the walk out
        response = client.get(page)
        if response.status_code != 200 or response.mimetype != "text/html":
            continue
        for form in forms_of(response.get_data(as_text=True)):
            action = form["action"] or page
            action_path = urlsplit(action).path
            key = (re.sub(r"\d+", "N", action_path), tuple(sorted(form["fields"])))
            if key in seen:
                continue
            seen.add(key)
            walk.forms.add(key[0])
            fields = {k: v for k, v in form["fields"].items() if k != "csrf_token"}
            trials = [
                (dict.fromkeys(fields, value), "all fields") for value in HOSTILE_FIELD_VALUES
            ]
            for name in fields:
                for value in ("\u2028line", "99999999999999999999", "x" * 10_000):
                    trials.append(({**fields, name: value}, f"{name}={value[:20]!r}"))
            token = csrf_token_from(response.get_data(as_text=True))
            for data, detail in trials:
                answer = client.post(action, data={"csrf_token": token, **data})
                walk.check("POST", action, answer, detail)
                if sign_in is not None and action_path.startswith("/account/") and sign_in():
                    page_again = client.get(page)
                    if page_again.status_code != 200:
                        break
                    token = csrf_token_from(page_again.get_data(as_text=True))


@pytest.fixture
def walk(hostile_app, caplog):
    caplog.set_level(logging.WARNING)
    return Walk(hostile_app, caplog)


def test_no_path_or_query_value_gets_a_5xx_for_a_visitor(hostile_app, world, walk):
    client = hostile_app.test_client()
    _walk_urls(walk, client, _valid_arguments(world))
    assert not walk.failures, f"{len(walk.failures)} of {walk.count}:\n" + "\n".join(
        walk.failures[:40]
    )


def test_no_path_or_query_value_gets_a_5xx_for_an_admin(hostile_app, world, walk):
    client = hostile_app.test_client()
    submit(client, "/account/login", {"email": world["admin"].email, "password": PASSWORD})
    _walk_urls(walk, client, _valid_arguments(world))
    assert not walk.failures, f"{len(walk.failures)} of {walk.count}:\n" + "\n".join(
        walk.failures[:40]
    )


def test_no_form_field_value_gets_a_5xx(hostile_app, world, walk, make_user, mailbox):
    admin_client = hostile_app.test_client()
    member = make_user(email="member@example.com")
    request_password_reset(member.email)
    reset_page = urlsplit(link_in(mailbox.last_to(member.email), "/account/reset/")).path

    def sign_in() -> bool:
        """Sign the admin in again if a form signed them out; True if it had to."""
        if admin_client.get("/account/profile").status_code == 200:
            return False
        login_form = {"email": world["admin"].email, "password": PASSWORD}
        assert submit(admin_client, "/account/login", login_form).status_code == 302
        return True

    sign_in()
    valid = _valid_arguments(world)
    pages = [
        "/account/signup", "/account/login", "/account/reset", "/account/confirm/resend",
        f"/events/{valid['slug']}", "/events/paid-event",
        f"/registrations/{valid['registration_id']}/{valid['token']}", world["checkout_path"],
        reset_page,
    ]  # fmt: skip
    visitor = hostile_app.test_client()
    _walk_forms(walk, visitor, pages, sign_in=None)
    # The order page before the attendee list, whose forms may refund or cancel that order.
    admin_pages = [
        "/account/profile", "/account/delete", "/organiser/", "/organiser/events/new",
        "/organiser/orders/", f"/organiser/orders/{valid['order_id']}", "/organiser/users/",
        f"/organiser/events/{valid['slug']}/edit", f"/organiser/events/{valid['slug']}/attendees",
        f"/organiser/events/{valid['slug']}/check-in", f"/organiser/events/{valid['slug']}/cancel",
        "/organiser/events/paid-event/attendees", "/calendar",
    ]  # fmt: skip
    _walk_forms(walk, admin_client, admin_pages, sign_in=sign_in)
    assert walk.count > 200
    expected = {
        "/events/free-event/register", "/account/signup", "/account/login", "/account/reset",
        "/account/profile", "/account/profile/password", "/organiser/events/new",
        "/organiser/events/free-event/edit", "/organiser/events/free-event/attendees/email",
        "/organiser/events/free-event/cancel", "/organiser/users/N/role", "/account/delete",
        "/account/logout", "/account/profile/sign-out-everywhere",
        "/organiser/events/paid-event/attendees/N/refund", re.sub(r"\d+", "N", reset_page),
        "/organiser/orders/N/refund",
    }  # fmt: skip
    assert expected <= walk.forms, sorted(expected - walk.forms)
    assert not walk.failures, f"{len(walk.failures)} of {walk.count}:\n" + "\n".join(
        walk.failures[:40]
    )


def test_the_walk_knows_every_query_parameter():
    read = set()
    for source in (ROOT / "community").rglob("*.py"):
        text = source.read_text()
        read |= set(re.findall(r"args\.get(?:list)?\(\s*\"(\w+)\"", text))
        read |= set(re.findall(r"args, \"(\w+)\"", text))
        read |= set(re.findall(r"args\[\"(\w+)\"\]", text))
    assert read, "the pattern finds no query parameter: it is out of date"
    assert read <= set(QUERY_PARAMETERS), sorted(read - set(QUERY_PARAMETERS))


# --- the classes, one by one --------------------------------------------------------------------


@pytest.mark.parametrize(
    "target",
    ["/events/%00", "/events?category=%00", "/events?q=a%00b", "/api/v1/events?category=%00"],
)
def test_a_nul_byte_anywhere_in_the_address_is_a_400_with_a_message(client, target):
    response = client.get(target)
    assert response.status_code == 400
    assert "NUL" in response.get_data(as_text=True)


def test_a_nul_byte_in_a_form_is_a_400_in_the_visitors_language(client, make_event):
    event = make_event()
    page = client.get(f"/events/{event.slug}", headers={"Accept-Language": "ja"})
    answer = client.post(
        f"/events/{event.slug}/register",
        data={
            "csrf_token": csrf_token_from(page.get_data(as_text=True)),
            "name": "A\x00B",
            "email": "nul@example.com",
            "ticket_type": "general",
        },
        headers={"Accept-Language": "ja"},
    )
    assert answer.status_code == 400
    assert "NUL" in answer.get_data(as_text=True)
    assert '<html lang="ja">' in answer.get_data(as_text=True)


def test_a_lone_surrogate_in_a_json_body_is_a_400(client, make_event):
    event = make_event()
    body = '{"name": "\\ud800", "email": "s@example.com"}'
    answer = client.post(
        f"/api/v1/events/{event.slug}/registrations",
        data=body,
        content_type="application/json",
    )
    assert answer.status_code == 400
    assert answer.get_json()["error"]["code"] == "bad_request"


@pytest.mark.parametrize(
    "target",
    [
        "/registrations/2147483648/abc",
        "/registrations/99999999999999999999/abc",
        "/organiser/orders/99999999999999999999",
    ],
)
def test_an_id_beyond_a_database_integer_is_a_plain_404(client, target):
    assert client.get(target).status_code == 404


def test_a_page_number_beyond_any_list_shows_the_first_page(client, make_event):
    make_event(title_en="Listed")
    response = client.get("/events?page=99999999999999999999")
    assert response.status_code == 200
    assert "Listed" in response.get_data(as_text=True)


def test_a_manage_link_with_a_non_ascii_token_is_a_404(client, register, make_event):
    registration = register(make_event())
    assert client.get(f"/registrations/{registration.id}/%C3%A9%E2%9C%93").status_code == 404


def test_an_event_title_with_a_line_separator_is_refused_with_a_message(client, organiser, login):
    login(organiser)
    data = event_form(title_en="Night\u2028Bcc: everyone@example.com")
    response = submit(client, "/organiser/events/new", data)
    assert response.status_code == 422
    assert "Remove the control characters" in response.get_data(as_text=True)


def test_a_title_that_already_holds_a_line_separator_still_sends_one_line_subjects(
    app, client, make_event, mailbox
):
    """A title stored before the rule (or through another path) must not break the header after
    the place was committed: the person gets the place, a 302, and the e-mail."""
    event = make_event(title_en="Line\u2028Break")
    page = client.get(f"/events/{event.slug}")
    answer = client.post(
        f"/events/{event.slug}/register",
        data={
            "csrf_token": csrf_token_from(page.get_data(as_text=True)),
            "name": "Sep Person",
            "email": "sep@example.com",
            "ticket_type": "general",
        },
    )
    assert answer.status_code == 302
    message = mailbox.last_to("sep@example.com")
    assert "\u2028" not in message["Subject"]
    assert "Line Break" in message["Subject"]


WEBHOOK_TYPES = [
    "checkout.session.completed",
    "checkout.session.async_payment_succeeded",
    "checkout.session.async_payment_failed",
    "checkout.session.expired",
    "charge.refunded",
    "invoice.paid",
    "invoice.payment_failed",
    "customer.subscription.updated",
    "customer.subscription.deleted",
]


@pytest.mark.parametrize("kind", WEBHOOK_TYPES)
@pytest.mark.parametrize(
    "obj",
    [
        {},
        {"id": "cs_missing"},
        {"id": None, "metadata": None, "amount_total": "lots"},
        {"id": "cs_x", "client_reference_id": "99999999999999999999", "metadata": {"order": "x"}},
        {"object": "checkout.session", "id": 5, "payment_intent": {"weird": True}},
    ],
    ids=["empty", "id-only", "nulls", "huge-reference", "wrong-types"],
)
def test_a_signed_webhook_whose_object_lacks_fields_never_gets_a_5xx(client, kind, obj, caplog):
    event = {"id": f"evt_hostile_{kind}_{len(json.dumps(obj))}", "object": "event", "type": kind}
    event["data"] = {"object": obj}
    body = json.dumps(event).encode()
    answer = client.post(
        "/stripe/webhook",
        data=body,
        content_type="application/json",
        headers={"Stripe-Signature": sign(body, SANDBOX_WEBHOOK_SECRET)},
    )
    assert answer.status_code < 500, answer.get_data(as_text=True)
    assert not [record for record in caplog.records if record.exc_info]


def test_a_title_that_already_holds_a_line_separator_is_one_line_in_the_calendars(
    client, make_event
):
    event = make_event(title_en="Line\u2028Break\u0085Night", venue_name="Hall\u2029B")
    for path in ("/calendar.ics", f"/events/{event.slug}.ics"):
        body = client.get(path).get_data(as_text=True)
        assert "Line Break Night" in body
        assert "Hall B" in body
        assert not re.search("[\u2028\u2029\u0085]", body)
