"""The user row and its role, API tokens, and login sessions. No I/O here."""

from __future__ import annotations

from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import CheckConstraint, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from community.core.db import UTCDateTime, db, utcnow

ROLES = ("member", "organiser", "admin")
LANGUAGES = ("ja", "en")


class User(UserMixin, db.Model):
    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint(f"role IN {ROLES!r}", name="role_known"),
        CheckConstraint(f"locale IN {LANGUAGES!r}", name="locale_known"),
        CheckConstraint("email = lower(email)", name="email_lowercase"),
        CheckConstraint("session_version >= 1", name="session_version_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    locale: Mapped[str] = mapped_column(String(2), default="ja")
    role: Mapped[str] = mapped_column(String(16), default="member")
    email_confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    pending_email: Mapped[str | None] = mapped_column(String(254))
    # Read by nothing since login_sessions (migration b1c2d3e4f5a6) replaced it; left in place
    # because dropping a column rebuilds `users` on SQLite, with the tables that point at it.
    session_version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    # The key of the login session this object was signed in or loaded with (not a column):
    # set by accounts.services, read by get_id() when Flask-Login signs it in.
    login_session_key = None

    def get_id(self) -> str:
        """What Flask-Login keeps in the session and in the "remember me" cookie: not the user's
        id but the key of one login session, so that each can be ended on its own."""
        if not self.login_session_key:
            raise RuntimeError("open a login session (accounts.services) before login_user()")
        return self.login_session_key

    # UserMixin compares get_id(), which differs between two logins of one person.
    __hash__ = object.__hash__

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, User):
            return NotImplemented
        return self is other or (self.id is not None and self.id == other.id)

    def __ne__(self, other: object) -> bool:
        equal = self.__eq__(other)
        return equal if equal is NotImplemented else not equal

    @property
    def is_active(self) -> bool:
        return self.deleted_at is None

    @property
    def is_confirmed(self) -> bool:
        return self.email_confirmed_at is not None

    @property
    def is_organiser(self) -> bool:
        return self.role in ("organiser", "admin")

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    def __repr__(self) -> str:
        return f"<User {self.id} {self.role}>"


class ApiToken(db.Model):
    """A bearer token for scripts, made by an organiser or admin on their profile page.

    Only a SHA-256 of the token is stored; the token itself is shown once, when it is made.
    """

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # The first characters, shown in lists so that people can tell their tokens apart.
    prefix: Mapped[str] = mapped_column(String(12))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    user: Mapped[User] = relationship()

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class LoginSession(db.Model):
    """One sign-in on one browser: its key is in that browser's session cookie and in its
    "remember me" cookie. Logging out deletes the row; a password change or "sign out everywhere"
    deletes the person's other rows, so that a copied or stolen cookie stops working.

    Only a SHA-256 of the key is stored: the database alone cannot be turned into cookies.
    """

    __tablename__ = "login_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    user: Mapped[User] = relationship()
