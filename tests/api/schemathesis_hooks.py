"""Schemathesis hooks for tests/api/test_openapi_live.py, loaded through SCHEMATHESIS_HOOKS.

The document cannot say which ticket types and questions an event has: that is data. A valid
registration for the seeded event is given one of its ticket types and a valid answer before it
is sent, and its generated e-mail address a numbered tag (`local+7@domain`), since deterministic
generation repeats addresses and a second registration is a 409; a voucher code is data too (no
generated code is one that exists), so a valid body goes without one; everything else (name,
language, extra properties) stays as generated, and invalid bodies are sent untouched.
Schemathesis revalidates a case after `before_call`, so the edited body still counts as valid
input that must be accepted.
"""

from __future__ import annotations

import itertools
import os
import zlib

import schemathesis

TICKET_TYPES = ("general", "paid")
_numbers = itertools.count(1)


@schemathesis.hook
def before_call(context, case, kwargs):
    slug = os.environ.get("CONFORMANCE_SLUG")
    if not (
        case.method.upper() == "POST"
        and case.path.endswith("/registrations")
        and (case.path_parameters or {}).get("slug") == slug
        and case.meta is not None
        and case.meta.generation.mode.is_positive
        and isinstance(case.body, dict)
    ):
        return
    # The same body always gets the same ticket type: runs stay reproducible.
    pick = zlib.crc32(repr(sorted(case.body.items(), key=str)).encode())
    body = dict(case.body)
    body["ticket_type"] = TICKET_TYPES[pick % len(TICKET_TYPES)]
    body["answers"] = {os.environ["CONFORMANCE_QUESTION_ID"]: "veg"}
    body.pop("voucher", None)
    if isinstance(body.get("email"), str) and "@" in body["email"]:
        local, _, domain = body["email"].rpartition("@")
        body["email"] = f"{local}+{next(_numbers)}@{domain}"
    case.body = body
