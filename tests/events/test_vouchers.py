"""Vouchers inside registration: a domain above events gives codes a meaning (offers.voucher_kind),
and the engine redeems one in the registration's own transaction, under the event's lock. Here a
test domain's passes (a limited number of free places outside the ticket's quota, counted with
core/capacity.claim) are fought over by more people than it has uses."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import CheckConstraint, Integer, String, select
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from community.core.capacity import claim, release
from community.core.db import db
from community.core.errors import DomainError
from community.events import services
from community.events.models import Event, Registration, TicketType
from community.events.offers import VoucherUse, price_rule, voucher_kind
from community.events.services import TicketTypeData


class PassesDomain(DeclarativeBase):
    """A domain of the test's own, in a metadata apart from the app's (no migration of ours)."""


class Pass(PassesDomain):
    __tablename__ = "test_voucher_passes"
    __table_args__ = (CheckConstraint("used <= uses", name="ck_test_passes_within_uses"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    uses: Mapped[int] = mapped_column(Integer)
    used: Mapped[int] = mapped_column(Integer, default=0)


class FreePasses:
    """Each pass gives a free place outside the ticket's quota, `uses` times at most."""

    def redeem(self, code: str, registration: Registration) -> VoucherUse | None:
        found = db.session.scalar(select(Pass.id).where(Pass.code == code))
        if found is None:
            return None
        if not claim(Pass.used, Pass.uses, Pass.id == found):
            raise DomainError("This voucher has been used up.", field="voucher")
        return VoucherUse(price_minor=0, outside_quota=True)

    def release(self, registration: Registration) -> None:
        release(Pass.used, Pass.code == registration.voucher_code)


@pytest.fixture
def passes(app):
    PassesDomain.metadata.create_all(db.engine)
    voucher_kind.register(app, "free-pass", FreePasses())
    db.session.add(Pass(code="FREE-SEAT", uses=3))
    db.session.commit()
    yield
    db.session.rollback()
    PassesDomain.metadata.drop_all(db.engine)


def _paid_event(make_event):
    return make_event(
        capacity=6,
        tickets=[TicketTypeData(slug="paid", name_en="Paid", price_minor=3000, quota=1)],
    )


def _used() -> int:
    db.session.rollback()
    return db.session.scalar(select(Pass.used).where(Pass.code == "FREE-SEAT"))


def test_more_people_than_a_voucher_has_uses_register_at_once_and_only_its_uses_get_in(
    app, make_event, passes
):
    event = _paid_event(make_event)
    slug = event.slug
    start = threading.Barrier(8, timeout=30)
    outcomes: list[str] = []

    def attempt(number: int) -> None:
        with app.app_context():
            start.wait()
            try:
                registration = services.register_for_event(
                    slug,
                    name=f"Rush {number}",
                    email=f"rush{number}@example.com",
                    ticket_type="paid",
                    voucher="FREE-SEAT",
                )
            except DomainError as error:
                outcomes.append(f"refused: {error.field}")
            else:
                outcomes.append(f"{registration.status} {registration.price_minor}")

    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(outcomes) == ["confirmed 0"] * 3 + ["refused: voucher"] * 5
    assert _used() == 3
    event = db.session.get(Event, event.id)
    ticket = db.session.scalar(select(TicketType).where(TicketType.event_id == event.id))
    # Outside the ticket's quota (still free for one paying person), inside the event's capacity.
    assert (event.places_taken, ticket.taken) == (3, 0)
    counted = db.session.scalars(
        select(Registration).where(Registration.voucher_code == "FREE-SEAT")
    ).all()
    assert len(counted) == 3 and all(r.outside_quota for r in counted)


def test_a_cancelled_registration_gives_its_voucher_and_place_back(
    app, make_event, register, passes
):
    event = _paid_event(make_event)
    registration = register(event, 1, ticket_type="paid", voucher="FREE-SEAT")
    assert (registration.status, registration.price_minor, _used()) == ("confirmed", 0, 1)
    services.cancel_registration(registration.id)
    assert _used() == 0
    assert db.session.get(Event, event.id).places_taken == 0


def test_a_voucher_nobody_knows_is_refused_and_changes_nothing(app, make_event, register, passes):
    event = _paid_event(make_event)
    for code in ("NO-SUCH-CODE", "x" * 65, "FREE\nSEAT"):
        with pytest.raises(DomainError) as refused:
            register(event, 1, ticket_type="paid", voucher=code)
        assert refused.value.field == "voucher"
    assert db.session.scalars(select(Registration)).all() == []
    assert _used() == 0


def test_without_a_voucher_the_ticket_keeps_its_price_and_quota(app, make_event, register, passes):
    event = _paid_event(make_event)
    first = register(event, 1, ticket_type="paid")
    second = register(event, 2, ticket_type="paid")
    assert (first.status, first.price_minor) == ("awaiting_payment", 3000)
    assert second.status == "waitlisted"  # the quota of one is taken
    assert _used() == 0


def test_a_price_rule_of_another_domain_lowers_the_price(app, make_event, register):
    price_rule.register(
        app,
        "early-bird",
        lambda question: 2000 if question.email.endswith("@early.example") else None,
    )
    event = _paid_event(make_event)
    early = register(event, 1, ticket_type="paid", email="bird@early.example")
    assert early.price_minor == 2000
