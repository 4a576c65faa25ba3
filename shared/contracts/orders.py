"""Public events of the orders service.

Every order event carries the order as it stands after the change (status, payment status, lines,
shippings, totals, links) plus the fields of the change itself, including who made it (`actor`)
and why (`reason`) where the change has one. Fields added since version 1 are optional.
"""

from marshmallow import Schema, fields

from shared.contracts import Client, Contract, Money
from shared.personal import Personal


class Line(Schema):
    sku = fields.String(required=True)
    name = fields.String(required=True)
    quantity = fields.Integer(required=True)
    unit_price = Money(required=True)
    currency = fields.String(required=True)
    distributor = fields.String(allow_none=True, required=True)
    made_in_house = fields.Boolean(required=True)
    vat_rate = Money(allow_none=True)
    delivered = fields.Integer()
    in_production = fields.Boolean()
    ready = fields.Boolean()
    # since 2026-12 (optional): the line's production, and the catalogue's production policy
    produced = fields.Integer()
    production_status = fields.String(allow_none=True)
    production_policy = fields.String(allow_none=True)


class Address(Schema):
    """Since version 2 the lines, city and postcode are sealed with the client's key; the
    country stays plain."""

    line1 = Personal(fields.String(), required=True)
    line2 = Personal(fields.String(), allow_none=True)
    city = Personal(fields.String(), required=True)
    postcode = Personal(fields.String(), required=True)
    country = fields.String(required=True)


class Quantity(Schema):
    sku = fields.String(required=True)
    quantity = fields.Integer(required=True)


class Courier(Schema):
    name = fields.String(required=True)
    eta = fields.String(required=True)


class Shipping(Schema):
    id = fields.String(required=True)
    planned_date = fields.String(required=True)
    address = fields.Nested(Address, required=True)
    lines = fields.List(fields.Nested(Quantity), required=True)
    status = fields.String(required=True)
    # since 2026-12 (optional): an own courier bringing it, and whether it was delivered whole
    courier = fields.Nested(Courier, allow_none=True)
    delivered = fields.Boolean()


class Link(Schema):
    kind = fields.String(required=True)
    order_id = fields.String(required=True)
    reference = fields.String(required=True)


class Claim(Schema):
    id = fields.String(required=True)
    reason = fields.String(required=True)
    lines = fields.List(fields.Nested(Quantity), required=True)
    status = fields.String(required=True)
    opened_by = fields.String(allow_none=True)
    resolution_reason = fields.String(allow_none=True)
    reorder = fields.Nested(Link(only=("order_id", "reference")), allow_none=True)


class OrderEvent(Contract):
    """Names the order, its reference, its client and its status after the change."""

    service = "orders"
    order_id = fields.String(required=True)
    reference = fields.String(required=True)
    status = fields.String(required=True)
    client = fields.Nested(Client, required=True)
    title = fields.String()
    payment_status = fields.String(allow_none=True)  # null until an invoice is issued
    lines = fields.List(fields.Nested(Line))
    shippings = fields.List(fields.Nested(Shipping))
    payment_method = fields.String(allow_none=True)
    total = Money()
    currency = fields.String()
    links = fields.List(fields.Nested(Link))
    actor = fields.String(allow_none=True)
    version = fields.Integer()  # since 2026-12 (optional): the order's version after the change


# 2: the client's personal fields and the addresses sealed (shared/personal.py). Set after the
# class is made: its `version` field (the order's) takes the name in the class body.
OrderEvent.version = 2


class OrderPlaced(OrderEvent):
    name = "order_placed"
    channel = fields.String(required=True)
    lines = fields.List(fields.Nested(Line), required=True)
    shippings = fields.List(fields.Nested(Shipping), required=True)
    note = fields.String(allow_none=True)
    total = Money(required=True)
    currency = fields.String(required=True)


class OrderAccepted(OrderEvent):
    name = "order_accepted"
    lines = fields.List(fields.Nested(Line), required=True)
    total = Money(required=True)
    currency = fields.String(required=True)


class Reasoned(OrderEvent):
    reason = fields.String(required=True)
    actor = fields.String(allow_none=True, required=True)


class OrderDeclined(OrderEvent):
    name = "order_declined"
    reason = fields.String(required=True)


class OrderVoided(Reasoned):
    name = "order_voided"


class OrderHeld(Reasoned):
    name = "order_held"


class OrderReleased(Reasoned):
    name = "order_released"


class OrderCompleted(OrderEvent):
    name = "order_completed"
    reason = fields.String(allow_none=True, required=True)
    actor = fields.String(allow_none=True, required=True)


class LineInProduction(OrderEvent):
    """A made-in-house line went into production (from the production service)."""

    name = "line_in_production"
    sku = fields.String(required=True)


class LineReady(OrderEvent):
    name = "line_ready"
    sku = fields.String(required=True)
    # since 2026-12 (optional): the production order that completed the line
    production_order_id = fields.String()
    production_status = fields.String(allow_none=True)
    produced = fields.Integer()


class LineProductionChanged(OrderEvent):
    """A line's production moved: a production order was created, released, started, recorded
    produced quantities, cancelled… (`production_status`: waiting, in_production,
    partially_produced; ready is `line_ready`)."""

    name = "line_production_changed"
    sku = fields.String(required=True)
    production_order_id = fields.String(required=True)
    production_status = fields.String(allow_none=True, required=True)
    produced = fields.Integer(required=True)


class ShippingShipped(OrderEvent):
    name = "shipping_shipped"
    shipping_id = fields.String(required=True)
    planned_date = fields.String(required=True)
    address = fields.Nested(Address, required=True)
    lines = fields.List(fields.Nested(Line), required=True)


class DistributorsChosen(OrderEvent):
    """Who supplies bought-in lines, chosen again before they ship: {sku: distributor}."""

    name = "distributors_chosen"
    choices = fields.Dict(keys=fields.String(), values=fields.String(), required=True)
    reason = fields.String(allow_none=True, required=True)
    actor = fields.String(allow_none=True, required=True)


class LinesDelivered(OrderEvent):
    name = "lines_delivered"
    lines = fields.List(fields.Nested(Line), required=True)
    delivered_now = fields.List(fields.Nested(Quantity), required=True)
    shipping_id = fields.String()  # since 2026-12 (optional): a whole shipping delivered


class OrderEdited(OrderEvent):
    """The money effect is `total_after - total_before`; billing acts on it."""

    name = "order_edited"
    lines = fields.List(fields.Nested(Line), required=True)
    changes = fields.List(fields.Dict(), required=True)
    total_before = Money(required=True)
    total_after = Money(required=True)
    reason = fields.String(allow_none=True, required=True)


class ShippingsChanged(OrderEvent):
    """A shipping was added, quantities moved between shippings, or one was rescheduled."""

    name = "shippings_changed"
    shippings = fields.List(fields.Nested(Shipping), required=True)
    change = fields.String(required=True)  # added, moved or rescheduled
    shipping_id = fields.String(required=True)
    reason = fields.String(allow_none=True)


class NoteAdded(OrderEvent):
    name = "note_added"
    note_id = fields.String(required=True)
    kind = fields.String(required=True)
    text = fields.String(required=True)
    at = fields.String(required=True)


class ClaimOpened(OrderEvent):
    name = "claim_opened"
    claim = fields.Nested(Claim, required=True)


class ClaimResolved(OrderEvent):
    name = "claim_resolved"
    claim = fields.Nested(Claim, required=True)


class OrderLinked(OrderEvent):
    name = "order_linked"
    kind = fields.String(required=True)
    links = fields.List(fields.Nested(Link), required=True)


class PaymentStatusChanged(OrderEvent):
    """Billing's payment status, as the order now shows it."""

    name = "payment_status_changed"
    payment_status = fields.String(required=True)


class ClientEvent(Contract):
    service = "orders"
    version = 2  # 2: name, e-mail, phone and address sealed with the client's key
    code = fields.String(required=True)
    name_ = Personal(fields.String(), required=True, data_key="name")
    email = Personal(fields.Email(), required=True)
    phone = Personal(fields.String(), required=True)
    default_address = fields.Nested(Address, allow_none=True, required=True)
    active = fields.Boolean(required=True)
    language = fields.String(allow_none=True)  # since 2026-12 (optional)
    subject = fields.String()  # since version 2: client:<code>, whose key seals the details


class ClientRegistered(ClientEvent):
    """A catalogue client was registered with its details."""

    name = "client_registered"


class ClientUpdated(ClientEvent):
    """A catalogue client's details changed."""

    name = "client_updated"


class ClientDeactivated(ClientEvent):
    """A catalogue client was deactivated: no new orders for it."""

    name = "client_deactivated"


class ClientForgotten(Contract):
    """A client was forgotten: the key sealing its personal data is destroyed. Everything
    sealed for `subject` now opens to "forgotten client"; services drop what they kept of it."""

    service = "orders"
    name = "client_forgotten"
    subject = fields.String(required=True)  # client:<code>, or order:<id> for a guest
    code = fields.String(allow_none=True)
    actor = fields.String(allow_none=True)


class ProductEvent(Contract):
    service = "orders"
    sku = fields.String(required=True)
    name_ = fields.String(required=True, data_key="name")
    unit_price = Money(required=True)
    currency = fields.String(required=True)
    vat_rate = Money(required=True)
    made_in_house = fields.Boolean(required=True)
    distributors = fields.List(fields.String(), required=True)
    default_distributor = fields.String(allow_none=True, required=True)
    active = fields.Boolean(required=True)
    production_policy = fields.String(allow_none=True)  # since 2026-12 (optional)
    # since 2026-12 (optional): kilograms, and what each distributor charges
    weight = Money(allow_none=True)
    cost_prices = fields.Dict(keys=fields.String(), values=Money())


class ProductRegistered(ProductEvent):
    """A catalogue product was registered: price, VAT, distributors and cost prices, weight."""

    name = "product_registered"


class ProductUpdated(ProductEvent):
    """A catalogue product's details changed."""

    name = "product_updated"
