"""Public events of the orders service."""

from marshmallow import Schema, fields

from shared.contracts import Client, Contract, Money


class Line(Schema):
    sku = fields.String(required=True)
    name = fields.String(required=True)
    quantity = fields.Integer(required=True)
    unit_price = Money(required=True)
    currency = fields.String(required=True)
    distributor = fields.String(allow_none=True, required=True)
    made_in_house = fields.Boolean(required=True)


class Address(Schema):
    line1 = fields.String(required=True)
    line2 = fields.String(allow_none=True)
    city = fields.String(required=True)
    postcode = fields.String(required=True)
    country = fields.String(required=True)


class ShippingLine(Schema):
    sku = fields.String(required=True)
    quantity = fields.Integer(required=True)


class Shipping(Schema):
    id = fields.String(required=True)
    planned_date = fields.String(required=True)
    address = fields.Nested(Address, required=True)
    lines = fields.List(fields.Nested(ShippingLine), required=True)
    status = fields.String(required=True)


class OrderEvent(Contract):
    """Every order event names the order, its reference, its client and its status after the change."""

    service = "orders"
    order_id = fields.String(required=True)
    reference = fields.String(required=True)
    status = fields.String(required=True)
    client = fields.Nested(Client, required=True)


class OrderPlaced(OrderEvent):
    name = "order_placed"
    channel = fields.String(required=True)
    lines = fields.List(fields.Nested(Line), required=True)
    shippings = fields.List(fields.Nested(Shipping), required=True)
    payment_method = fields.String(allow_none=True)
    note = fields.String(allow_none=True)
    total = Money(required=True)
    currency = fields.String(required=True)


class OrderAccepted(OrderEvent):
    name = "order_accepted"
    lines = fields.List(fields.Nested(Line), required=True)
    total = Money(required=True)
    currency = fields.String(required=True)


class OrderDeclined(OrderEvent):
    name = "order_declined"
    reason = fields.String(required=True)


class ShippingShipped(OrderEvent):
    name = "shipping_shipped"
    shipping_id = fields.String(required=True)
    planned_date = fields.String(required=True)
    address = fields.Nested(Address, required=True)
    lines = fields.List(fields.Nested(Line), required=True)
