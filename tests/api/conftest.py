"""The API tests' own factory: API tokens (organisers and events come from tests/conftest.py)."""

from __future__ import annotations

import pytest

from community.accounts import services as accounts


@pytest.fixture
def api_token(app):
    """api_token(user) → a raw bearer token for that organiser or admin."""

    def make(user, name: str = "test script") -> str:
        _token, raw = accounts.create_api_token(user, name)
        return raw

    return make


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}
