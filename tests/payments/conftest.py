"""Fixtures for the payments tests: the fake Stripe server and real `StripeClient`s pointed at it.

One server runs for the whole session (its URL stays the same, so an app configured once keeps
reaching it); every test gets it reset — no objects, events, faults or settings from another test.
"""

from __future__ import annotations

import pytest
import stripe

from tests.payments.fake_stripe import FakeStripe


@pytest.fixture(scope="session")
def fake_stripe_server():
    with FakeStripe(api_version=stripe.api_version) as fake:
        yield fake


@pytest.fixture
def fake_stripe(fake_stripe_server):
    """The fake Stripe, reset: set `webhook_url` or `webhook_sender` to receive its events."""
    fake_stripe_server.reset()
    yield fake_stripe_server
    errors = list(fake_stripe_server.internal_errors)
    fake_stripe_server.reset()
    assert not errors, "the fake Stripe itself failed:\n" + "\n".join(errors)


@pytest.fixture
def make_stripe_client(fake_stripe):
    """make_stripe_client(timeout=10, max_network_retries=0, api_key=...) → a real StripeClient
    speaking the SDK's pinned API version to the fake; closed after the test."""
    http_clients = []

    def make(
        *, timeout: float = 10, max_network_retries: int = 0, api_key: str = "sk_test_fake"
    ) -> stripe.StripeClient:
        # A timeout of our own: the SDK's default of 80 s would let a bug stall the suite.
        http_client = stripe.RequestsClient(timeout=timeout)
        http_clients.append(http_client)
        return stripe.StripeClient(
            api_key,
            stripe_version=stripe.api_version,
            base_addresses={"api": fake_stripe.url},
            max_network_retries=max_network_retries,
            http_client=http_client,
        )

    yield make
    for http_client in http_clients:
        http_client.close()


@pytest.fixture
def stripe_client(make_stripe_client) -> stripe.StripeClient:
    return make_stripe_client()
