"""Event cover images: checked by their first bytes (PNG, JPEG, WebP) and size, stored under
UPLOAD_DIR with a random name, served by the events views."""

from __future__ import annotations

import re
import secrets
from pathlib import Path

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from community.core.db import db, utcnow
from community.core.errors import DomainError
from community.events.models import Event

__all__ = ["COVER_IMAGE_MAX_BYTES", "check_cover_image", "cover_image_file", "set_cover_image"]


COVER_IMAGE_MAX_BYTES = 2 * 1024 * 1024
# Recognised by their first bytes, never by the file's name or the browser's claimed type.
_IMAGE_SIGNATURES = (
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"\xff\xd8\xff", "jpg"),
)
COVER_IMAGE_TYPES = {"png": "image/png", "jpg": "image/jpeg", "webp": "image/webp"}
_COVER_NAME_RE = re.compile(r"^[A-Za-z0-9_-]{8,64}\.(png|jpg|webp)$")


def check_cover_image(data: bytes) -> str:
    """The file extension for an acceptable cover image; DomainError on the field otherwise."""
    if not data:
        raise DomainError(_l("The file is empty."), field="cover_image")
    if len(data) > COVER_IMAGE_MAX_BYTES:
        raise DomainError(
            _l(
                "The image is too large: at most %(size)d MB.",
                size=COVER_IMAGE_MAX_BYTES // (1024 * 1024),
            ),
            field="cover_image",
        )
    for signature, extension in _IMAGE_SIGNATURES:
        if data.startswith(signature):
            return extension
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    raise DomainError(_l("Choose a PNG, JPEG or WebP image."), field="cover_image")


def _upload_dir() -> Path:
    configured = current_app.config.get("UPLOAD_DIR")
    base = Path(configured) if configured else Path(current_app.instance_path) / "uploads"
    return base / "events"


def set_cover_image(event: Event, data: bytes) -> None:
    """Check and store a new cover image under a random name, then point the event at it."""
    extension = check_cover_image(data)
    directory = _upload_dir()
    directory.mkdir(parents=True, exist_ok=True)
    name = f"{secrets.token_urlsafe(16)}.{extension}"
    (directory / name).write_bytes(data)
    previous = event.cover_image
    event.cover_image = name
    event.updated_at = utcnow()
    db.session.commit()
    # A duplicated event shares its original's file: remove it only when nobody uses it.
    if previous and _COVER_NAME_RE.match(previous):
        still_used = db.session.scalar(select(Event.id).where(Event.cover_image == previous))
        if still_used is None:
            (directory / previous).unlink(missing_ok=True)


def cover_image_file(event: Event) -> tuple[Path, str] | None:
    """(path, MIME type) of the event's stored cover image, if it has one on disk."""
    name = event.cover_image or ""
    if not _COVER_NAME_RE.match(name):
        return None
    path = _upload_dir() / name
    if not path.is_file():
        return None
    return path, COVER_IMAGE_TYPES[name.rsplit(".", 1)[1]]
