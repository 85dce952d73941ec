"""The ways money reaches an order, behind one interface: Stripe Checkout (`gateway.py`), the
offline sandbox that stands in for it (`sandbox.py`), and a bank transfer against the order's
invoice (here).

Every provider names itself in the ledger's rows (`provider`) and says how its money is known:
a card provider's through its verified webhook (and by re-reading the session), a bank
transfer's because an administrator saw it on the account and records it
(`services.record_payment`). Either way the same code settles the order and runs its purpose's
fulfilment. What a card provider must answer is `CardProvider`; the Stripe gateway and the
sandbox both do, so the services never ask which one they have. Nothing here touches the
database: the services do.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol, runtime_checkable

from flask_babel import lazy_gettext as _l

from community.payments.gateway import (
    CheckoutSession,
    GatewayError,
    RefundResult,
    SubscriptionData,
    WebhookEventData,
)

__all__ = ["BANK_TRANSFER", "BankTransfer", "CardProvider", "Provider"]


@runtime_checkable
class Provider(Protocol):
    # The name in the ledger's rows: "stripe", "sandbox", "bank_transfer".
    provider: str
    # Whether its money is recorded by a person (a bank transfer), not reported by a webhook.
    records_by_hand: bool
    # The kind of payment row its money makes (Payment.kind).
    payment_kind: str


@runtime_checkable
class CardProvider(Provider, Protocol):
    """A hosted checkout with webhooks: Stripe, or the sandbox that imitates it."""

    webhook_secret: str

    def create_checkout_session(
        self,
        *,
        mode: str,
        amount_minor: int,
        currency: str,
        name: str,
        email: str,
        order_id: int,
        purpose: str,
        reference: str,
        expires_at: datetime | None,
        success_url: str,
        cancel_url: str,
        idempotency_key: str,
        interval: str | None = None,
    ) -> CheckoutSession: ...

    def retrieve_session(self, session_id: str) -> CheckoutSession: ...

    def expire_session(self, session_id: str) -> CheckoutSession: ...

    def list_sessions(self, created_since: datetime) -> list[CheckoutSession]: ...

    def list_events(self, created_since: datetime) -> list[WebhookEventData]: ...

    def receipt_url_of(self, payment_intent_id: str) -> str | None: ...

    def invoice_payment_intent(self, invoice_id: str) -> str | None: ...

    def invoice_of_payment_intent(self, payment_intent_id: str) -> str | None: ...

    def create_refund(
        self, *, payment_intent: str, amount_minor: int, idempotency_key: str
    ) -> RefundResult: ...

    def verify_event(self, payload: bytes, signature: str | None) -> WebhookEventData: ...

    def set_renewal(self, subscription_id: str, *, renew: bool) -> SubscriptionData: ...

    def unpaid_invoice_url(self, subscription_id: str) -> str | None: ...


class BankTransfer:
    """A bank transfer to the community's account, against the order's invoice.

    There is no checkout to open and no webhook: the buyer is sent the invoice (its number comes
    from documents.py's series), and an administrator records the transfer once it is on the
    account.
    Money goes back by another transfer, made by hand: `create_refund` refuses."""

    provider = "bank_transfer"
    records_by_hand = True
    payment_kind = "bank_transfer"
    REFUND_BY_HAND = _l("A bank transfer is returned by another bank transfer, made by hand.")

    def create_refund(
        self, *, payment_intent: str, amount_minor: int, idempotency_key: str
    ) -> RefundResult:
        raise GatewayError(str(self.REFUND_BY_HAND), transient=False)


BANK_TRANSFER = BankTransfer()
