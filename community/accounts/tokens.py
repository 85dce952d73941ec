"""API bearer tokens for organisers' scripts: made on the profile page or by the CLI, shown once,
stored only as a SHA-256, revoked by their owner or with the account."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import OperationalError

from community.accounts.models import ApiToken, User
from community.core.db import db, utcnow
from community.core.errors import DomainError, Forbidden, NotFound
from community.core.text import TOKEN_NAME_MAX

__all__ = [
    "create_api_token",
    "list_api_tokens",
    "revoke_all_api_tokens",
    "revoke_api_token",
    "user_for_api_token",
]

API_TOKEN_PREFIX = "ct_"  # noqa: S105 - a label that makes leaked tokens easy to spot
MAX_API_TOKENS = 20
# last_used_at is written at most this often per token: a script polling every second should not
# turn every read of the API into a write.
API_TOKEN_TOUCH_INTERVAL = timedelta(minutes=1)


def _hash_api_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def create_api_token(user: User, name: str) -> tuple[ApiToken, str]:
    """A new bearer token for an organiser or admin; returns the row and the token itself.

    Only the token's SHA-256 is stored: the caller shows the raw token once, and it cannot be
    shown again.
    """
    if not user.is_active or not user.is_organiser:
        raise Forbidden(_l("Only organisers and administrators can have API tokens."))
    name = (name or "").strip()
    if not name:
        raise DomainError(_l("Give the token a name."), field="name")
    if len(name) > TOKEN_NAME_MAX:
        raise DomainError(_l("Keep the name under 80 characters."), field="name")
    active = db.session.scalar(
        select(func.count())
        .select_from(ApiToken)
        .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
    )
    if active >= MAX_API_TOKENS:
        raise DomainError(
            _l("You have %(count)d tokens. Revoke one first.", count=active), field="name"
        )
    raw = API_TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        user_id=user.id,
        name=name,
        token_hash=_hash_api_token(raw),
        prefix=raw[:10],
        created_at=utcnow(),
    )
    db.session.add(token)
    db.session.commit()
    return token, raw


def list_api_tokens(user: User) -> list[ApiToken]:
    """The user's tokens that still work, newest first."""
    return list(
        db.session.scalars(
            select(ApiToken)
            .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
            .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
        )
    )


def revoke_api_token(user: User, token_id: int) -> ApiToken:
    """Revoke one of the user's own tokens; revoking twice changes nothing."""
    token = db.session.get(ApiToken, token_id) if isinstance(token_id, int) else None
    if token is None or token.user_id != user.id:
        raise NotFound(_l("There is no such token."))
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        db.session.commit()
    return token


def user_for_api_token(raw: str | None) -> User | None:
    """The active organiser or admin whose unrevoked token this is, or None."""
    if not raw or not raw.startswith(API_TOKEN_PREFIX) or len(raw) > 100:
        return None
    row = db.session.execute(
        select(ApiToken.id, User)
        .join(User, User.id == ApiToken.user_id)
        .where(ApiToken.token_hash == _hash_api_token(raw), ApiToken.revoked_at.is_(None))
    ).first()
    if row is None:
        return None
    token_id, user = row
    if not user.is_active or not user.is_organiser:
        return None
    _touch_api_token(token_id)
    return user


def _touch_api_token(token_id: int) -> None:
    moment = utcnow()
    try:
        # The UPDATE itself may wait for another process's write lock (SQLite): inside the try.
        result = db.session.execute(
            update(ApiToken)
            .where(
                ApiToken.id == token_id,
                or_(
                    ApiToken.last_used_at.is_(None),
                    ApiToken.last_used_at < moment - API_TOKEN_TOUCH_INTERVAL,
                ),
            )
            .values(last_used_at=moment)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount:
            db.session.commit()
        else:
            db.session.rollback()
    except OperationalError:
        # A busy database must not refuse a valid token: the time of last use is a courtesy.
        db.session.rollback()


def revoke_all_api_tokens(user: User) -> None:
    db.session.execute(
        update(ApiToken)
        .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
        .execution_options(synchronize_session=False)
    )
