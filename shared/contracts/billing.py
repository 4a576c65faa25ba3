"""Public events of the billing service.

Every event names the order and carries its `payment_status` over all its invoices (None until it
has one), its payment `channel` and the `refund_due` on it; document events add the document as it
stands after the change. Fields added since version 1 are optional.

Since version 2 the client's personal fields (in `client` and a document's `billing`) are sealed
with the client's key as orders sealed them (shared/personal.py): they open to "forgotten client"
once the client is forgotten. What an invoice keeps for the retention period is never published.
"""

from marshmallow import Schema, fields

from shared.contracts import Client, Contract, Money
from shared.contracts.orders import Address


class Line(Schema):
    sku = fields.String(required=True)
    name = fields.String(required=True)
    quantity = fields.Integer(required=True)
    unit_price = Money(required=True)
    vat_rate = Money(required=True)
    net = Money(required=True)


class Vat(Schema):
    rate = Money(required=True)
    net = Money(required=True)
    tax = Money(required=True)


class BillingDetails(Client):
    address = fields.Nested(Address, allow_none=True)


class BillingEvent(Contract):
    service = "billing"
    order_id = fields.String(required=True)
    order_reference = fields.String(required=True)
    client = fields.Nested(Client, required=True)
    currency = fields.String(required=True)
    payment_status = fields.String(allow_none=True)
    channel = fields.String(allow_none=True)
    refund_due = Money()
    version = fields.Integer()  # since 2026-12 (optional): the account's version after the change


# 2: the client's personal fields sealed (shared/personal.py). Set after the class is made: its
# `version` field (the account's) takes the name in the class body.
BillingEvent.version = 2


class DocumentEvent(BillingEvent):
    """An invoice, supplementary invoice, credit note or pro-forma (`kind`) after the change."""

    invoice_id = fields.String(required=True)
    status = fields.String(required=True)
    total = Money(required=True)  # = gross
    number = fields.String()
    kind = fields.String()
    issued_on = fields.String()
    issued_by = fields.String(allow_none=True)
    due_on = fields.String(allow_none=True)
    billing = fields.Nested(BillingDetails)
    lines = fields.List(fields.Nested(Line))
    vat = fields.List(fields.Nested(Vat))
    net = Money()
    tax = Money()
    gross = Money()
    rounding = fields.String()
    paid = Money()
    due = Money()
    corrects = fields.String(allow_none=True)
    shipping_id = fields.String(allow_none=True)
    sha256 = fields.String(allow_none=True)  # since 2026-12 (optional): of the document's PDF
    reason = fields.String(allow_none=True)


class InvoiceIssued(DocumentEvent):
    """An invoice or a supplementary invoice (`kind`)."""

    name = "invoice_issued"


class CreditNoteIssued(DocumentEvent):
    name = "credit_note_issued"


class ProFormaIssued(DocumentEvent):
    name = "pro_forma_issued"


class InvoiceVoided(DocumentEvent):
    name = "invoice_voided"
    void_reason = fields.String(required=True)
    voided_by = fields.String(required=True)


class PaymentRecorded(DocumentEvent):
    name = "payment_recorded"
    amount = Money(required=True)
    method = fields.String(required=True)
    reference = fields.String(required=True)
    paid_on = fields.String(required=True)
    source = fields.String(required=True)  # operator or gateway
    actor = fields.String(required=True)
    transaction_id = fields.String(allow_none=True)


class PaymentRejected(DocumentEvent):
    """The payment gateway rejected a payment; the invoice is unchanged."""

    name = "payment_rejected"
    transaction_id = fields.String(required=True)
    amount = Money(required=True)
    rejection_reason = fields.String(allow_none=True)


class PaymentChannelChanged(BillingEvent):
    """The channel an order's invoices are to be paid through changed (card, transfer, cash…)."""

    name = "payment_channel_changed"
    channel = fields.String(required=True)
    previous = fields.String(allow_none=True)
    reason = fields.String(required=True)
    actor = fields.String(required=True)
