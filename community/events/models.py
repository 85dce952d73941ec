"""Events, ticket types, questions, registrations and answers. Columns, constraints, small derived
values and the one transition function per status; no I/O.

Counters (`places_taken` on events, `taken` on ticket types) count the places held by confirmed,
awaiting-payment and offered registrations. They are the write locks of the registration engine
(see services.py) and CHECK constraints keep them within their limits.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from community.accounts.models import User
from community.core.db import UTCDateTime, db, utcnow
from community.core.i18n import localized
from community.core.status import sql_in, status_type

KINDS = ("event", "workshop")
STATUSES = ("draft", "published", "cancelled")
FORMATS = ("in_person", "online", "hybrid")
EVENT_LANGUAGES = ("ja", "en", "ja_en")
QUESTION_KINDS = ("short_text", "long_text", "single_choice", "multiple_choice")

REGISTRATION_STATUSES = (
    "confirmed",
    "awaiting_payment",
    "waitlisted",
    "offered",
    "cancelled",
    "expired",
)
# Statuses that hold one of the event's places (and one of the ticket type's).
HOLDING = ("confirmed", "awaiting_payment", "offered")
# Statuses that make a registration "active": one per e-mail per event.
ACTIVE = ("confirmed", "awaiting_payment", "waitlisted", "offered")

TRANSITIONS = {
    "awaiting_payment": {"confirmed", "expired", "cancelled"},
    "waitlisted": {"confirmed", "offered", "awaiting_payment", "cancelled"},
    "offered": {"confirmed", "awaiting_payment", "expired", "cancelled"},
    "confirmed": {"cancelled"},
    "cancelled": set(),
    "expired": set(),
}

event_organisers = Table(
    "event_organisers",
    db.metadata,
    Column("event_id", ForeignKey("events.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class IllegalTransition(Exception):
    """A status change that the model does not allow (a programming error, not user input)."""


class Category(db.Model):
    __tablename__ = "categories"
    # /calendar/events.ics and /calendar/workshops.ics are the kinds' feeds, not categories'.
    __table_args__ = (
        CheckConstraint("slug NOT IN ('events', 'workshops')", name="slug_not_a_kind_feed"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(60), unique=True)
    name_ja: Mapped[str] = mapped_column(String(120))
    name_en: Mapped[str] = mapped_column(String(120))

    @property
    def name(self) -> str:
        return localized(self, "name")


class RegistrationWindow:
    """When an event takes registrations: shared by the model and the registration's facts
    (facts.py), which read the same columns."""

    status: str
    starts_at: datetime
    ends_at: datetime
    registration_opens_at: datetime | None
    registration_closes_at: datetime | None

    def registration_open_at(self, moment: datetime) -> bool:
        if self.status != "published" or moment >= self.ends_at:
            return False
        if self.registration_opens_at and moment < self.registration_opens_at:
            return False
        closes = self.registration_closes_at or self.starts_at
        return moment < closes


class SaleWindow:
    """When a ticket type is on sale (the model's rule and the registration's facts')."""

    sale_starts_at: datetime | None
    sale_ends_at: datetime | None

    def on_sale_at(self, moment: datetime) -> bool:
        if self.sale_starts_at and moment < self.sale_starts_at:
            return False
        return not (self.sale_ends_at and moment >= self.sale_ends_at)


class Choices:
    """A question's options as values (the model's rule and the registration's facts')."""

    options: list

    def option_values(self) -> list[str]:
        return [str(option.get("value")) for option in self.options or []]


class Event(RegistrationWindow, db.Model):
    __tablename__ = "events"
    __table_args__ = (
        CheckConstraint(f"kind IN {sql_in(KINDS)}", name="kind_known"),
        CheckConstraint(f"format IN {sql_in(FORMATS)}", name="format_known"),
        CheckConstraint(f"language IN {sql_in(EVENT_LANGUAGES)}", name="language_known"),
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        CheckConstraint("capacity >= 0", name="capacity_not_negative"),
        CheckConstraint("places_taken >= 0", name="places_taken_not_negative"),
        CheckConstraint("places_taken <= capacity", name="places_taken_within_capacity"),
        CheckConstraint(
            "registration_closes_at IS NULL OR registration_opens_at IS NULL "
            "OR registration_closes_at > registration_opens_at",
            name="registration_window_ordered",
        ),
        CheckConstraint("cancel_deadline_hours >= 0", name="cancel_deadline_not_negative"),
        CheckConstraint("refund_percent BETWEEN 0 AND 100", name="refund_percent_range"),
        CheckConstraint("sequence >= 0", name="sequence_not_negative"),
        CheckConstraint(
            "(latitude IS NULL) = (longitude IS NULL)", name="geo_latitude_with_longitude"
        ),
        CheckConstraint("latitude BETWEEN -90 AND 90", name="geo_latitude_range"),
        CheckConstraint("longitude BETWEEN -180 AND 180", name="geo_longitude_range"),
        Index("ix_events_status_starts_at", "status", "starts_at"),
        Index("ix_events_status_ends_at", "status", "ends_at"),
        # The public lists' order (catalog._listing): walked, never sorted.
        Index("ix_events_starts_at_id", "starts_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    kind: Mapped[str] = mapped_column(String(16), default="event")
    status: Mapped[str] = mapped_column(status_type(STATUSES, length=16), default="draft")
    title_ja: Mapped[str] = mapped_column(String(200), default="")
    title_en: Mapped[str] = mapped_column(String(200), default="")
    summary_ja: Mapped[str] = mapped_column(String(500), default="")
    summary_en: Mapped[str] = mapped_column(String(500), default="")
    description_ja: Mapped[str] = mapped_column(Text, default="")
    description_en: Mapped[str] = mapped_column(Text, default="")
    prerequisites_ja: Mapped[str] = mapped_column(Text, default="", server_default="")
    prerequisites_en: Mapped[str] = mapped_column(Text, default="", server_default="")
    materials_url: Mapped[str] = mapped_column(String(500), default="", server_default="")
    category_id: Mapped[int | None] = mapped_column(ForeignKey("categories.id"), index=True)
    format: Mapped[str] = mapped_column(String(16), default="in_person")
    venue_name: Mapped[str] = mapped_column(String(200), default="")
    venue_address: Mapped[str] = mapped_column(String(300), default="")
    map_url: Mapped[str] = mapped_column(String(500), default="")
    online_url: Mapped[str] = mapped_column(String(500), default="")
    # The venue's position (WGS 84 degrees), for maps and the calendars' GEO; both or neither.
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime())
    timezone: Mapped[str] = mapped_column(String(64), default="Asia/Tokyo")
    language: Mapped[str] = mapped_column(String(8), default="ja")
    capacity: Mapped[int] = mapped_column(Integer, default=0)
    places_taken: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    registration_opens_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    registration_closes_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # People may cancel until this many hours before the start.
    cancel_deadline_hours: Mapped[int] = mapped_column(
        Integer, default=24, server_default=text("24")
    )
    # The refund policy: the share of the price given back to people who cancel a paid ticket
    # before the deadline.
    refund_percent: Mapped[int] = mapped_column(Integer, default=100, server_default=text("100"))
    cover_image: Mapped[str] = mapped_column(String(120), default="", server_default="")
    # Bumped when time, place or status change (calendar clients compare it).
    sequence: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # Set by the services when the event's own content changes; registrations do not touch it.
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    category: Mapped[Category | None] = relationship(lazy="joined")
    organisers: Mapped[list[User]] = relationship(secondary=event_organisers)
    ticket_types: Mapped[list[TicketType]] = relationship(
        back_populates="event",
        order_by="TicketType.position, TicketType.id",
        cascade="all, delete-orphan",
    )
    questions: Mapped[list[Question]] = relationship(
        back_populates="event",
        order_by="Question.position, Question.id",
        cascade="all, delete-orphan",
    )

    @property
    def title(self) -> str:
        return localized(self, "title")

    @property
    def summary(self) -> str:
        return localized(self, "summary")

    @property
    def description(self) -> str:
        return localized(self, "description")

    @property
    def prerequisites(self) -> str:
        return localized(self, "prerequisites")

    @property
    def is_published(self) -> bool:
        return self.status == "published"

    @property
    def places_left(self) -> int:
        return max(self.capacity - self.places_taken, 0)

    @property
    def has_venue(self) -> bool:
        return self.format in ("in_person", "hybrid")

    @property
    def is_online(self) -> bool:
        return self.format in ("online", "hybrid")

    def __repr__(self) -> str:
        return f"<Event {self.slug} {self.status}>"


class TicketType(SaleWindow, db.Model):
    __tablename__ = "ticket_types"
    __table_args__ = (
        UniqueConstraint("event_id", "slug", name="uq_ticket_types_event_id_slug"),
        CheckConstraint("price_minor >= 0", name="price_not_negative"),
        CheckConstraint(
            "member_price_minor IS NULL OR (member_price_minor >= 0 "
            "AND member_price_minor <= price_minor)",
            name="member_price_within_price",
        ),
        CheckConstraint("quota IS NULL OR quota >= 0", name="quota_not_negative"),
        CheckConstraint("taken >= 0", name="taken_not_negative"),
        CheckConstraint("quota IS NULL OR taken <= quota", name="taken_within_quota"),
        CheckConstraint("length(currency) = 3", name="currency_code"),
        CheckConstraint(
            "sale_ends_at IS NULL OR sale_starts_at IS NULL OR sale_ends_at > sale_starts_at",
            name="sale_window_ordered",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    slug: Mapped[str] = mapped_column(String(60))
    name_ja: Mapped[str] = mapped_column(String(120), default="")
    name_en: Mapped[str] = mapped_column(String(120), default="")
    price_minor: Mapped[int] = mapped_column(Integer, default=0)
    currency: Mapped[str] = mapped_column(String(3), default="JPY")
    member_price_minor: Mapped[int | None] = mapped_column(Integer)
    members_only: Mapped[bool] = mapped_column(Boolean, default=False)
    # None: no quota of its own, only the event's capacity limits it.
    quota: Mapped[int | None] = mapped_column(Integer)
    taken: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    sale_starts_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    sale_ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    position: Mapped[int] = mapped_column(Integer, default=0)

    event: Mapped[Event] = relationship(back_populates="ticket_types")

    @property
    def name(self) -> str:
        return localized(self, "name")

    @property
    def is_free(self) -> bool:
        return self.price_minor == 0

    def places_left(self, event: Event | None = None) -> int:
        event = event or self.event
        own = self.quota - self.taken if self.quota is not None else event.places_left
        return max(min(own, event.places_left), 0)


class Question(Choices, db.Model):
    __tablename__ = "questions"
    __table_args__ = (CheckConstraint(f"kind IN {sql_in(QUESTION_KINDS)}", name="kind_known"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20), default="short_text")
    label_ja: Mapped[str] = mapped_column(String(300), default="")
    label_en: Mapped[str] = mapped_column(String(300), default="")
    # For choice questions: [{"value": "veg", "ja": "ベジタリアン", "en": "Vegetarian"}, ...]
    options: Mapped[list] = mapped_column(JSON, default=list)
    required: Mapped[bool] = mapped_column(Boolean, default=False)
    position: Mapped[int] = mapped_column(Integer, default=0)

    event: Mapped[Event] = relationship(back_populates="questions")

    @property
    def label(self) -> str:
        return localized(self, "label")

    @property
    def is_choice(self) -> bool:
        return self.kind in ("single_choice", "multiple_choice")

    def option_label(self, value: str, language: str) -> str:
        for option in self.options or []:
            if str(option.get("value")) == value:
                other = "en" if language == "ja" else "ja"
                return option.get(language) or option.get(other) or value
        return value


class Registration(db.Model):
    __tablename__ = "registrations"
    __table_args__ = (
        CheckConstraint("email = lower(email)", name="email_lowercase"),
        CheckConstraint("price_minor >= 0", name="price_not_negative"),
        CheckConstraint(
            "status <> 'awaiting_payment' OR hold_expires_at IS NOT NULL", name="hold_has_expiry"
        ),
        CheckConstraint("status <> 'offered' OR offer_expires_at IS NOT NULL", name="offer_expiry"),
        CheckConstraint(
            "(voucher_kind IS NULL) = (voucher_code IS NULL)", name="voucher_kind_and_code"
        ),
        # One active registration per e-mail per event, whatever the number of writers.
        Index(
            "uq_registrations_event_id_email_active",
            "event_id",
            "email",
            unique=True,
            sqlite_where=text(f"status IN {sql_in(ACTIVE)}"),
            postgresql_where=text(f"status IN {sql_in(ACTIVE)}"),
        ),
        Index("ix_registrations_event_id_status_queued_at", "event_id", "status", "queued_at"),
        Index("ix_registrations_status_hold_expires_at", "status", "hold_expires_at"),
        Index("ix_registrations_status_offer_expires_at", "status", "offer_expires_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    ticket_type_id: Mapped[int] = mapped_column(ForeignKey("ticket_types.id"), index=True)
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    name: Mapped[str] = mapped_column(String(120))
    email: Mapped[str] = mapped_column(String(254), index=True)
    locale: Mapped[str] = mapped_column(String(2), default="ja")
    status: Mapped[str] = mapped_column(status_type(REGISTRATION_STATUSES, length=20))
    price_minor: Mapped[int] = mapped_column(Integer, default=0)
    currency: Mapped[str] = mapped_column(String(3), default="JPY")
    # Random, unique, printed in the QR ticket and used at the door.
    ticket_code: Mapped[str] = mapped_column(String(32), unique=True)
    # Part of the manage link's signature: changing it retires every link sent so far.
    manage_nonce: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # When the person joined the queue (registration time); the waiting list is FIFO on it.
    queued_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    hold_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    offer_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    checked_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reminder_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    # A voucher redeemed with this registration: which kind of voucher (the domain that gave it
    # meaning, offers.voucher_kind) and its code; and whether its place is one of the event's
    # outside the ticket type's quota (a voucher may give that).
    voucher_kind: Mapped[str | None] = mapped_column(String(40))
    voucher_code: Mapped[str | None] = mapped_column(String(64))
    outside_quota: Mapped[bool] = mapped_column(Boolean, default=False)
    # The order of its current payment (payments' ledger), set when its checkout is opened.
    order_id: Mapped[int | None] = mapped_column(
        ForeignKey("orders.id", ondelete="SET NULL"), index=True
    )

    event: Mapped[Event] = relationship()
    ticket_type: Mapped[TicketType] = relationship()
    user: Mapped[User | None] = relationship()
    answers: Mapped[list[Answer]] = relationship(
        back_populates="registration", cascade="all, delete-orphan"
    )

    @property
    def holds_place(self) -> bool:
        return self.status in HOLDING

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE

    def has_lapsed(self, now: datetime) -> bool:
        """A hold or an offer whose time is up, though the job that ends it has not run yet."""
        if self.status == "awaiting_payment":
            return self.hold_expires_at is not None and self.hold_expires_at <= now
        if self.status == "offered":
            return self.offer_expires_at is not None and self.offer_expires_at <= now
        return False

    def transition(self, new_status: str, moment: datetime) -> None:
        """The only way a registration's status changes; refuses moves the model does not allow."""
        if new_status not in TRANSITIONS.get(self.status, set()):
            raise IllegalTransition(f"{self.status} → {new_status}")
        self.status = new_status
        if new_status == "confirmed":
            self.confirmed_at = moment
        if new_status in ("cancelled", "expired"):
            self.cancelled_at = moment
        if new_status != "awaiting_payment":
            self.hold_expires_at = None
        if new_status != "offered":
            self.offer_expires_at = None


class Answer(db.Model):
    __tablename__ = "answers"
    __table_args__ = (
        UniqueConstraint("registration_id", "question_id", name="uq_answers_registration_question"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    registration_id: Mapped[int] = mapped_column(
        ForeignKey("registrations.id", ondelete="CASCADE"), index=True
    )
    question_id: Mapped[int] = mapped_column(ForeignKey("questions.id", ondelete="CASCADE"))
    # Text answers as they were typed; choice answers as a JSON list of option values.
    value: Mapped[str] = mapped_column(Text, default="")

    registration: Mapped[Registration] = relationship(back_populates="answers")
    question: Mapped[Question] = relationship()
