"""Fixtures for the payments tests: the fake Stripe server and real `StripeClient`s pointed at it.

One server runs for the whole session (its URL stays the same, so an app configured once keeps
reaching it); every test gets it reset — no objects, events, faults or settings from another test.
"""

from __future__ import annotations

import pytest
import stripe

from tests.payments.fake_stripe import FakeStripe


@pytest.fixture
def app(make_app, fake_stripe):
    """The payments tests' app: the real Stripe gateway, pointed at the fake (a module may
    override it, as the sandbox's and the webhook's do)."""
    app = make_app(
        STRIPE_SECRET_KEY="sk_test_fake",
        STRIPE_API_BASE=fake_stripe.url,
        STRIPE_WEBHOOK_SECRET=fake_stripe.webhook_secret,
    )
    with app.app_context():
        yield app


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


@pytest.fixture
def awaiting_payment(client, make_event, register, fake_stripe):
    """awaiting_payment(capacity=1, price=3000, number=1, language="en", **event fields) →
    (event, registration, session_id): a held place whose Checkout Session was opened at the fake
    Stripe through "Pay now". The fake's webhooks reach the app through the test client."""
    from tests.payments.fake_stripe import flask_client_sender
    from tests.payments.test_checkout import _pay, _session_of

    fake_stripe.webhook_sender = flask_client_sender(client)

    def make(
        *, capacity: int = 1, price: int = 3000, number: int = 1, language: str = "en", **fields
    ):
        from community.events.services import TicketTypeData

        event = make_event(
            capacity=capacity,
            tickets=[TicketTypeData(slug="paid", name_en="Paid", price_minor=price)],
            **fields,
        )
        registration = register(event, number, language=language)
        return event, registration, _session_of(_pay(client, registration))

    return make
