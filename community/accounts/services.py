"""Account rules: sign-up, confirmation, log-in, reset, profile changes, roles, export,
deletion. (API tokens live in tokens.py and are re-exported here for the views and the CLI.)

Messages never tell whether an e-mail address has an account: sign-up and reset answer with the
same page after the same work either way (a password is hashed whether or not it is kept, and
e-mail leaves only after the response), and the mailbox's owner is told instead. Links are signed
with SECRET_KEY, expire, and carry a fingerprint of what they change so that each works once.

Each sign-in is a row in login_sessions whose key the browser's cookies carry; logging out, a
password change and "sign out everywhere" delete rows, so that a copied cookie stops working.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _l
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import bindparam, delete, func, select
from sqlalchemy.exc import IntegrityError
from werkzeug.security import check_password_hash, generate_password_hash

from community.accounts.models import LANGUAGES, ROLES, LoginSession, User
from community.accounts.tokens import (
    create_api_token,
    list_api_tokens,
    revoke_all_api_tokens,
    revoke_api_token,
    user_for_api_token,
)
from community.core.db import db, utcnow
from community.core.errors import Conflict, DomainError, Forbidden, NotFound
from community.core.hooks import Hook
from community.core.mail import pretend_to_send_mail, send_mail
from community.core.security import is_safe_next
from community.core.text import normalise_email  # input is normalised in core, once
from community.core.transaction import write_transaction
from community.core.urls import external_url

MIN_PASSWORD_LENGTH = 10
# Checked against when no account matches, so that a wrong e-mail costs as long as a wrong password.
_DUMMY_HASH = generate_password_hash("not-a-real-password")


class InvalidLink(DomainError):
    code = "invalid_link"


class EmailNotConfirmed(DomainError):
    code = "email_not_confirmed"
    http_status = 403


class WrongCredentials(DomainError):
    code = "wrong_credentials"
    http_status = 401


# --- personal data hooks -------------------------------------------------------------------------


@dataclass(frozen=True)
class PersonalData:
    """How a domain that keeps personal data about a user exports it and erases it."""

    export: Callable[[User], Any]
    erase: Callable[[User], None]


# Registered from each domain's init_app; erased in registration order (the domains' order).
personal_data: Hook[PersonalData] = Hook("accounts.personal_data")


# --- helpers -------------------------------------------------------------------------------------


def find_user_by_email(address: str) -> User | None:
    try:
        email = normalise_email(address)
    except DomainError:
        return None
    return db.session.scalar(select(User).where(User.email == email, User.deleted_at.is_(None)))


def _serializer(purpose: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=f"community.{purpose}")


def _fingerprint(value: str | None) -> str:
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, (value or "").encode(), hashlib.sha256).hexdigest()[:16]


def make_token(purpose: str, payload: dict) -> str:
    return _serializer(purpose).dumps(payload)


def read_token(purpose: str, token: str, max_age: int) -> dict:
    try:
        payload = _serializer(purpose).loads(token, max_age=max_age)
    except SignatureExpired as error:
        raise InvalidLink(_l("This link has expired. Please ask for a new one.")) from error
    except BadSignature as error:
        raise InvalidLink(_l("This link is not valid. Please ask for a new one.")) from error
    if not isinstance(payload, dict):
        raise InvalidLink(_l("This link is not valid. Please ask for a new one."))
    return payload


def _check_password_strength(password: str, field: str = "password") -> None:
    if len(password or "") < MIN_PASSWORD_LENGTH:
        raise DomainError(
            _l("Use at least %(count)d characters.", count=MIN_PASSWORD_LENGTH), field=field
        )


def _load_active_user(user_id: Any) -> User:
    user = db.session.get(User, user_id) if isinstance(user_id, int) else None
    if user is None or not user.is_active:
        raise InvalidLink(_l("This link is not valid. Please ask for a new one."))
    return user


# --- sign-up and confirmation --------------------------------------------------------------------


def sign_up(
    name: str, email: str, password: str, locale: str, next_path: str | None = None
) -> User | None:
    """Create an unconfirmed account and send the confirmation link (which brings the person
    back to `next_path`, a page of ours, once they sign in).

    When the address already has an account nothing is created and its owner is told by e-mail;
    the caller shows the same message either way. Returns the new user, or None.
    """
    email = normalise_email(email)
    name = (name or "").strip()
    if not name:
        raise DomainError(_l("Enter your name."), field="name")
    _check_password_strength(password)
    if locale not in LANGUAGES:
        raise DomainError(_l("Choose a language."), field="locale")
    # The same work whether or not the address has an account, so that the time of the answer
    # does not tell: hash the password and insert; the unique e-mail refuses a known address.
    user = User(
        name=name,
        email=email,
        password_hash=generate_password_hash(password),
        locale=locale,
        role="member",
    )
    db.session.add(user)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        existing = db.session.scalar(select(User).where(User.email == email))
        if existing is None:
            raise  # not the e-mail address: a bug, not an answer to give
        _send_already_registered(existing)
        return None
    send_confirmation(user, next_path=next_path)
    return user


def _send_already_registered(user: User) -> None:
    if not user.is_active:
        return
    send_mail(
        user.email,
        _l("Someone tried to sign up with your e-mail address"),
        "accounts/already_registered",
        user.locale,
        user=user,
        login_url=external_url("accounts.login"),
        reset_url=external_url("accounts.reset_request"),
    )


def _nobody() -> User:
    """A stand-in, never saved, for whom a message is made and written but never sent when an
    address has no account: the answer then costs the same work as when it has one."""
    return User(name="", email="nobody@example.invalid", locale="ja")


NEXT_PATH_MAX = 300


def send_confirmation(
    user: User, make_or_send: Callable[..., object] = send_mail, next_path: str | None = None
) -> None:
    payload = {"uid": user.id, "email": _fingerprint(user.email)}
    if next_path and is_safe_next(next_path) and len(next_path) <= NEXT_PATH_MAX:
        payload["next"] = next_path
    token = make_token("confirm", payload)
    make_or_send(
        user.email,
        _l("Confirm your e-mail address"),
        "accounts/confirm",
        user.locale,
        user=user,
        confirm_url=external_url("accounts.confirm", token=token),
        hours=current_app.config["CONFIRM_LINK_MAX_AGE"] // 3600,
    )


def resend_confirmation(email: str) -> None:
    """A new link for an unconfirmed account; the caller answers the same for any address."""
    user = find_user_by_email(email)
    if user is not None and not user.is_confirmed:
        send_confirmation(user)
    else:
        send_confirmation(_nobody(), make_or_send=pretend_to_send_mail)


def confirm_email(token: str) -> User:
    payload = read_token("confirm", token, current_app.config["CONFIRM_LINK_MAX_AGE"])
    user = _load_active_user(payload.get("uid"))
    if not hmac.compare_digest(str(payload.get("email", "")), _fingerprint(user.email)):
        raise InvalidLink(_l("This link is not valid. Please ask for a new one."))
    if user.email_confirmed_at is None:
        user.email_confirmed_at = utcnow()
        db.session.commit()
    return user


def confirmation_next(token: str) -> str | None:
    """The page of ours that a confirmation link brings its person back to, if it names one."""
    payload = read_token("confirm", token, current_app.config["CONFIRM_LINK_MAX_AGE"])
    target = payload.get("next")
    return target if isinstance(target, str) and is_safe_next(target) else None


# --- log-in --------------------------------------------------------------------------------------


def authenticate(email: str, password: str) -> User:
    user = find_user_by_email(email)
    hash_to_check = user.password_hash if user and user.password_hash else _DUMMY_HASH
    password_ok = check_password_hash(hash_to_check, password or "")
    if user is None or not user.password_hash or not password_ok:
        raise WrongCredentials(_l("The e-mail address or the password is wrong."))
    if not user.is_confirmed:
        send_confirmation(user)
        raise EmailNotConfirmed(
            _l("Please confirm your e-mail address first. We have sent you a new link.")
        )
    user.last_login_at = utcnow()
    _open_login_session(user)
    db.session.commit()
    return user


# --- login sessions ------------------------------------------------------------------------------


def _hash_login_session_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _login_session_max_age() -> timedelta:
    # As long as a "remember me" cookie lives: no row outlives the cookies that carry its key.
    duration = current_app.config["REMEMBER_COOKIE_DURATION"]
    return duration if isinstance(duration, timedelta) else timedelta(seconds=duration)


def _open_login_session(user: User) -> None:
    """A new login session for this browser (committed by the caller); its key goes on `user`
    for Flask-Login's login_user(). The person's expired sessions are swept on the way."""
    db.session.execute(
        delete(LoginSession).where(
            LoginSession.user_id == user.id,
            LoginSession.created_at < utcnow() - _login_session_max_age(),
        )
    )
    key = secrets.token_urlsafe(32)
    db.session.add(
        LoginSession(user_id=user.id, key_hash=_hash_login_session_key(key), created_at=utcnow())
    )
    user.login_session_key = key


def _end_all_login_sessions(user: User) -> None:
    db.session.execute(delete(LoginSession).where(LoginSession.user_id == user.id))


# Every signed-in request runs this: built once, not per request.
_USER_OF_SESSION = (
    select(User)
    .join(LoginSession, LoginSession.user_id == User.id)
    .where(
        LoginSession.key_hash == bindparam("key_hash"),
        LoginSession.created_at >= bindparam("since"),
        User.deleted_at.is_(None),
    )
)


def load_user_for_session(session_key: str) -> User | None:
    """Flask-Login's user loader: the person whose login session this key opens, or None when
    the key is unknown, ended, expired, or the account is gone."""
    # secrets.token_urlsafe(32) makes 43 characters; anything much longer is not ours.
    if not session_key or len(session_key) > 64:
        return None
    user = db.session.scalar(
        _USER_OF_SESSION,
        {
            "key_hash": _hash_login_session_key(session_key),
            "since": utcnow() - _login_session_max_age(),
        },
    )
    if user is not None:
        user.login_session_key = session_key
    return user


def end_login_session(user: User) -> None:
    """Log-out: this browser's session key stops working, wherever a copy of it is."""
    key = user.login_session_key
    if not key:
        return
    db.session.execute(
        delete(LoginSession).where(LoginSession.key_hash == _hash_login_session_key(key))
    )
    db.session.commit()
    user.login_session_key = None


def sign_out_everywhere(user: User) -> None:
    """End every login session of the person, on every device and in every "remember me" cookie,
    and open a new one for this browser (the caller signs it in again with the new key)."""
    _end_all_login_sessions(user)
    _open_login_session(user)
    db.session.commit()


# --- password reset ------------------------------------------------------------------------------


def request_password_reset(email: str) -> None:
    """Send a reset link if the address has an account; the caller answers the same either way.

    For an unknown address the same link and message are made for nobody and dropped, so that
    the time of the answer does not tell either.
    """
    user = find_user_by_email(email)
    recipient = user or _nobody()
    token = make_token("reset", {"uid": recipient.id, "pw": _fingerprint(recipient.password_hash)})
    make_or_send = send_mail if user is not None else pretend_to_send_mail
    make_or_send(
        recipient.email,
        _l("Reset your password"),
        "accounts/reset",
        recipient.locale,
        user=recipient,
        reset_url=external_url("accounts.reset_password", token=token),
        minutes=current_app.config["RESET_LINK_MAX_AGE"] // 60,
    )


def check_reset_token(token: str) -> User:
    payload = read_token("reset", token, current_app.config["RESET_LINK_MAX_AGE"])
    user = _load_active_user(payload.get("uid"))
    # The fingerprint of the current hash makes the link work once: a new password retires it.
    if not hmac.compare_digest(str(payload.get("pw", "")), _fingerprint(user.password_hash)):
        raise InvalidLink(_l("This link has already been used. Please ask for a new one."))
    return user


def reset_password(token: str, new_password: str) -> User:
    user = check_reset_token(token)
    _check_password_strength(new_password)
    user.password_hash = generate_password_hash(new_password)
    # Whoever had the old password may hold a session: every one ends, this browser's too.
    _end_all_login_sessions(user)
    # Whoever holds the mailbox proved it: an unconfirmed address is now confirmed.
    user.email_confirmed_at = user.email_confirmed_at or utcnow()
    db.session.commit()
    return user


# --- profile -------------------------------------------------------------------------------------


def update_profile(user: User, name: str, locale: str) -> None:
    name = (name or "").strip()
    if not name:
        raise DomainError(_l("Enter your name."), field="name")
    if locale not in LANGUAGES:
        raise DomainError(_l("Choose a language."), field="locale")
    user.name = name
    user.locale = locale
    db.session.commit()


def _require_password(user: User, password: str, field: str = "current_password") -> None:
    if not user.password_hash or not check_password_hash(user.password_hash, password or ""):
        raise WrongCredentials(_l("The password is wrong."), field=field)


def change_password(user: User, current_password: str, new_password: str) -> None:
    """Change the password and end every other login session of the person; this browser gets
    a new one (the caller signs it in again with the new key)."""
    _require_password(user, current_password)
    _check_password_strength(new_password, field="new_password")
    user.password_hash = generate_password_hash(new_password)
    _end_all_login_sessions(user)
    _open_login_session(user)
    db.session.commit()


def request_email_change(user: User, new_email: str, password: str) -> None:
    _require_password(user, password)
    new_email = normalise_email(new_email)
    if new_email == user.email:
        raise DomainError(_l("This is already your e-mail address."), field="email")
    taken = db.session.scalar(select(User.id).where(User.email == new_email))
    user.pending_email = new_email
    db.session.commit()
    if taken is not None:
        # Say nothing on the page; the owner of that mailbox already has an account.
        owner = db.session.get(User, taken)
        if owner is not None:
            _send_already_registered(owner)
        return
    token = make_token("change-email", {"uid": user.id, "email": new_email})
    send_mail(
        new_email,
        _l("Confirm your new e-mail address"),
        "accounts/change_email",
        user.locale,
        user=user,
        confirm_url=external_url("accounts.confirm_email_change", token=token),
        hours=current_app.config["CONFIRM_LINK_MAX_AGE"] // 3600,
    )


def confirm_email_change(token: str) -> User:
    payload = read_token("change-email", token, current_app.config["CONFIRM_LINK_MAX_AGE"])
    user = _load_active_user(payload.get("uid"))
    new_email = payload.get("email")
    if not new_email or user.pending_email != new_email:
        raise InvalidLink(_l("This link is not valid. Please ask for a new one."))
    old_email = user.email
    user.email = new_email
    user.pending_email = None
    user.email_confirmed_at = utcnow()
    try:
        db.session.commit()
    except IntegrityError as error:
        db.session.rollback()
        raise Conflict(_l("This e-mail address is already in use."), field="email") from error
    send_mail(
        old_email,
        _l("Your e-mail address was changed"),
        "accounts/email_changed",
        user.locale,
        user=user,
        new_email=new_email,
    )
    return user


# --- roles ---------------------------------------------------------------------------------------


def list_users(search: str = "", limit: int = 200) -> list[User]:
    query = select(User).where(User.deleted_at.is_(None))
    if search:
        pattern = f"%{search.strip().lower()}%"
        query = query.where(User.email.like(pattern) | func.lower(User.name).like(pattern))
    order = (User.role != "admin", User.role != "organiser", User.email)
    return list(db.session.scalars(query.order_by(*order).limit(limit)))


def set_role(actor: User, user_id: int, role: str) -> User:
    """An admin grants or revokes the organiser role; admins are made with the CLI only."""
    if not actor.is_admin:
        raise Forbidden(_l("Only administrators can change roles."))
    if role not in ("member", "organiser"):
        raise DomainError(_l("Choose a role."), field="role")
    user = db.session.get(User, user_id)
    if user is None or not user.is_active:
        raise NotFound(_l("There is no such person."))
    if user.is_admin:
        raise Forbidden(_l("An administrator's role cannot be changed here."))
    user.role = role
    db.session.commit()
    return user


def create_admin(email: str, name: str | None = None) -> tuple[User, str | None]:
    """Promote the account with this e-mail to admin, or create it with a new random password.

    Returns the user and the new password when one was created.
    """
    address = normalise_email(email)
    user = db.session.scalar(select(User).where(User.email == address))
    password = None
    if user is None or not user.is_active:
        password = secrets.token_urlsafe(12)
        user = User(
            email=address,
            name=name or address.split("@")[0],
            password_hash=generate_password_hash(password),
            locale="ja",
            email_confirmed_at=utcnow(),
        )
        db.session.add(user)
    user.role = "admin"
    db.session.commit()
    return user, password


# --- personal data -------------------------------------------------------------------------------


def export_personal_data(user: User) -> dict:
    data: dict[str, Any] = {
        "account": {
            "id": user.id,
            "name": user.name,
            "email": user.email,
            "pending_email": user.pending_email,
            "language": user.locale,
            "role": user.role,
            "email_confirmed_at": _iso(user.email_confirmed_at),
            "created_at": _iso(user.created_at),
            "last_login_at": _iso(user.last_login_at),
        }
    }
    for name, hooks in sorted(personal_data.items()):
        data[name] = hooks.export(user)
    data["exported_at"] = _iso(utcnow())
    return data


def delete_account(user: User, password: str) -> None:
    """Remove what identifies the person; rows that others need (payments) stay, anonymised.

    One unit of work: each domain's eraser runs inside it (their own units nest as savepoints),
    so that nothing is erased unless everything is, whatever order the domains come in."""
    _require_password(user, password, field="password")
    with write_transaction():
        for hooks in personal_data.values():
            hooks.erase(user)
        revoke_all_api_tokens(user)
        user.email = f"deleted-{user.id}@deleted.invalid"
        user.name = ""
        user.password_hash = None
        user.pending_email = None
        user.email_confirmed_at = None
        user.last_login_at = None
        user.role = "member"
        user.deleted_at = utcnow()
        _end_all_login_sessions(user)


def _iso(value) -> str | None:
    return value.isoformat() if value else None


__all__ = [
    "ROLES",
    "EmailNotConfirmed",
    "InvalidLink",
    "PersonalData",
    "WrongCredentials",
    "authenticate",
    "change_password",
    "check_reset_token",
    "confirm_email",
    "confirm_email_change",
    "create_admin",
    "create_api_token",
    "delete_account",
    "end_login_session",
    "export_personal_data",
    "list_api_tokens",
    "list_users",
    "personal_data",
    "request_email_change",
    "request_password_reset",
    "reset_password",
    "revoke_api_token",
    "set_role",
    "sign_out_everywhere",
    "sign_up",
    "update_profile",
    "user_for_api_token",
]
