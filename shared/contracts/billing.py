"""Public events of the billing service."""

from marshmallow import fields

from shared.contracts import Client, Contract, Money


class InvoiceIssued(Contract):
    service = "billing"
    name = "invoice_issued"
    invoice_id = fields.String(required=True)
    order_id = fields.String(required=True)
    order_reference = fields.String(required=True)
    client = fields.Nested(Client, required=True)
    status = fields.String(required=True)
    total = Money(required=True)
    currency = fields.String(required=True)
