"""`POST /stripe/webhook`: Stripe's deliveries, verified on the raw body, applied once."""

from __future__ import annotations

import logging

from flask import Blueprint, jsonify, request

from community.core.errors import Busy
from community.extensions import csrf, limiter
from community.payments import services
from community.payments.gateway import MalformedEvent, SignatureError

log = logging.getLogger(__name__)

bp = Blueprint("payments", __name__)


@bp.post("/stripe/webhook")
@csrf.exempt
@limiter.exempt
def stripe_webhook():
    verifier = services.gateway()
    if verifier is None:
        return jsonify({"error": {"code": "not_configured", "message": "No payments."}}), 400
    try:
        event = verifier.verify_event(request.get_data(), request.headers.get("Stripe-Signature"))
    except SignatureError as error:
        log.warning("webhook refused: %s", error)
        return jsonify({"error": {"code": "bad_signature", "message": "Invalid signature."}}), 400
    try:
        outcome = services.apply_event(event, verifier.provider)
    except Busy:
        return jsonify({"error": {"code": "busy", "message": "Try again."}}), 503
    except MalformedEvent as error:
        # Signed, so Stripe's, but not what its documentation promises: applied not at all.
        log.warning("webhook %s %s not applied: %s", event.type, event.id, error)
        return jsonify({"error": {"code": "malformed_event", "message": str(error)}}), 400
    log.info("webhook %s %s: %s", event.type, event.id, outcome)
    return jsonify({"received": True, "outcome": outcome})
