"""Public events of the fulfilment service."""

from marshmallow import Schema, fields

from shared.contracts import Contract, Money


class PurchaseLine(Schema):
    sku = fields.String(required=True)
    name = fields.String(required=True)
    quantity = fields.Integer(required=True)
    unit_price = Money(required=True)
    currency = fields.String(required=True)


class PurchaseOrderRaised(Contract):
    service = "fulfilment"
    name = "purchase_order_raised"
    purchase_order_id = fields.String(required=True)
    order_id = fields.String(required=True)
    order_reference = fields.String(required=True)
    shipping_id = fields.String(required=True)
    distributor = fields.String(required=True)
    lines = fields.List(fields.Nested(PurchaseLine), required=True)
    status = fields.String(required=True)
    version = fields.Integer()  # since 2026-12 (optional): the purchase order's version
