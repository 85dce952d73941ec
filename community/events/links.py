"""The private manage link of a registration: its secret (an HMAC of the registration's id and
nonce, never stored) and its address. Replacing the link is tickets.py's business."""

from __future__ import annotations

import hashlib
import hmac

from flask import current_app

from community.core.urls import external_url
from community.events.models import Registration


def manage_token(registration: Registration) -> str:
    key = current_app.config["SECRET_KEY"].encode()
    message = f"manage:{registration.id}:{registration.manage_nonce}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()[:32]


def manage_url(registration: Registration) -> str:
    return external_url(
        "events.manage", registration_id=registration.id, token=manage_token(registration)
    )
