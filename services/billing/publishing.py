"""What the billing service publishes: each private account event mapped to a public contract."""

from services.billing.domain import Account
from services.billing.legacy import legacy_event

DOCUMENT_NAMES = {
    "invoice": "invoice_issued",
    "supplementary": "invoice_issued",
    "credit_note": "credit_note_issued",
    "pro_forma": "pro_forma_issued",
}

PUBLISHED = (
    Account.Issued,
    Account.Voided,
    Account.PaymentRecorded,
    Account.PaymentRejected,
    Account.ChannelChanged,
)


def integration_event(app, domain_event) -> tuple[str, dict] | None:
    kind = type(domain_event)
    if kind not in PUBLISHED:
        return legacy_event(domain_event)
    account = app.state_at(domain_event)
    data = account_data(account)
    if kind is Account.ChannelChanged:
        changed = account.channel_changes[-1]
        return "payment_channel_changed", dict(data, **changed)
    if kind is Account.Issued:
        document = account.document(domain_event.document["id"])
        return DOCUMENT_NAMES[document["kind"]], dict(data, **document_data(account, document))
    data.update(document_data(account, account.document(domain_event.document_id)))
    if kind is Account.Voided:
        return "invoice_voided", dict(
            data, void_reason=domain_event.reason, voided_by=domain_event.actor
        )
    if kind is Account.PaymentRecorded:
        payment = domain_event.payment
        fields = ("amount", "method", "reference", "paid_on", "source", "actor", "transaction_id")
        return "payment_recorded", dict(data, **{k: payment[k] for k in fields})
    rejection = domain_event.rejection
    return "payment_rejected", dict(
        data,
        transaction_id=rejection["transaction_id"],
        amount=rejection["amount"],
        rejection_reason=rejection["reason"],
    )


def account_data(account: Account) -> dict:
    """What every billing event carries: the order, its payment status, channel and refund due."""
    return {
        "order_id": account.order_id,
        "order_reference": account.order_reference,
        "client": account.client,
        "currency": account.currency,
        "payment_status": account.payment_status,
        "channel": account.channel,
        "refund_due": account.refund_due,
    }


def document_data(account: Account, document: dict) -> dict:
    fields = ("number", "kind", "issued_on", "due_on", "billing", "lines", "vat", "net", "tax")
    return {
        **{k: document[k] for k in fields},
        "issued_by": document.get("issued_by"),
        "invoice_id": document["id"],
        "status": account.status_of(document),
        "total": document["gross"],
        "gross": document["gross"],
        "rounding": document["rounding"],
        "paid": account.paid(document),
        "due": account.due(document),
        "corrects": document["corrects"],
        "shipping_id": document["shipping_id"],
        "reason": document["reason"],
    }
