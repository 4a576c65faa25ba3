"""What the billing service publishes: each private account event mapped to a public contract."""

from services.billing.domain import Account
from services.billing.legacy import LegacyInvoice, legacy_invoice_data
from shared.publishing import Publish

DOCUMENT_NAMES = {
    "invoice": "invoice_issued",
    "supplementary": "invoice_issued",
    "credit_note": "credit_note_issued",
    "pro_forma": "pro_forma_issued",
}


def issued_data(app, domain_event) -> dict:
    account = app.state_at(domain_event)
    document = account.document(domain_event.document["id"])
    return dict(account_data(account), **document_data(account, document))


def voided_data(app, domain_event) -> dict:
    data = _about_document(app, domain_event)
    return dict(data, void_reason=domain_event.reason, voided_by=domain_event.actor)


def payment_data(app, domain_event) -> dict:
    payment = domain_event.payment
    fields = ("amount", "method", "reference", "paid_on", "source", "actor", "transaction_id")
    return dict(_about_document(app, domain_event), **{k: payment[k] for k in fields})


def rejection_data(app, domain_event) -> dict:
    rejection = domain_event.rejection
    return dict(
        _about_document(app, domain_event),
        transaction_id=rejection["transaction_id"],
        amount=rejection["amount"],
        rejection_reason=rejection["reason"],
    )


def channel_data(app, domain_event) -> dict:
    account = app.state_at(domain_event)
    return dict(account_data(account), **account.channel_changes[-1])


def _about_document(app, domain_event) -> dict:
    account = app.state_at(domain_event)
    document = account.document(domain_event.document_id)
    return dict(account_data(account), **document_data(account, document))


PUBLISHED = {
    Account.Issued: Publish(lambda data: DOCUMENT_NAMES[data["kind"]], issued_data),
    Account.Voided: Publish("invoice_voided", voided_data),
    Account.PaymentRecorded: Publish("payment_recorded", payment_data),
    Account.PaymentRejected: Publish("payment_rejected", rejection_data),
    Account.ChannelChanged: Publish("payment_channel_changed", channel_data),
    LegacyInvoice.Issued: Publish("invoice_issued", legacy_invoice_data),
}


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
        "version": account.version,
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
        "sha256": document.get("sha256"),  # of its PDF, recorded at issue (None before 2026-12)
    }
