"""Public events of the fulfilment service. Fields added since version 1 are optional.

Since 2026-12 every event about a purchase order or a courier's delivery names the client's
`subject` (shared/personal.py); what it carries of the client — a delivery's client and address,
a purchase order's PDF — is sealed with that subject's key (`{"sealed", "box"}`), plain in events
from before. Whoever must show or send it opens it with `orders.personal_keys`."""

from marshmallow import Schema, fields

from shared.contracts import Contract, Money
from shared.contracts.orders import Address
from shared.personal import Personal


class PurchaseLine(Schema):
    sku = fields.String(required=True)
    name = fields.String(required=True)
    quantity = fields.Integer(required=True)
    unit_price = Money(required=True)  # the order's price to its client
    currency = fields.String(required=True)
    # since 2026-12 (optional): the distributor's price (null: its own), and where it came from
    cost_price = Money(allow_none=True)
    cost_source = fields.String(allow_none=True)  # catalogue | feed | edited


class PurchaseOrderEvent(Contract):
    service = "fulfilment"
    purchase_order_id = fields.String(required=True)
    order_id = fields.String(required=True)
    order_reference = fields.String(required=True)
    shipping_id = fields.String(required=True)
    distributor = fields.String(required=True)
    lines = fields.List(fields.Nested(PurchaseLine), required=True)
    status = fields.String(required=True)
    version = fields.Integer()  # since 2026-12 (optional): the purchase order's version
    number = fields.String(allow_none=True)  # since 2026-12 (optional)
    channel = fields.String(allow_none=True)  # since 2026-12 (optional): api | email
    #: since 2026-12 (optional): whose key seals what it carries of the client (`client:<code>`,
    #: `order:<id>`); null for a purchase order raised before
    subject = fields.String(allow_none=True)


class PurchaseOrderRaised(PurchaseOrderEvent):
    """A shipped shipping raised a purchase order to one distributor, at catalogue cost prices."""

    name = "purchase_order_raised"


class Document(Schema):
    filename = fields.String(required=True)
    content_type = fields.String(required=True)
    sha256 = fields.String(required=True)
    #: base64; since 2026-12 sealed with the client's key (it shows the address delivered to)
    content = Personal(fields.String(), required=True)


class Attempt(PurchaseOrderEvent):
    """One attempt at sending the purchase order (`kind` order) or its cancellation."""

    kind = fields.String(required=True)
    attempt = fields.Integer(required=True)
    answer = fields.String(required=True)
    reference = fields.String(allow_none=True)
    retry_at = fields.Float(allow_none=True)
    send_channel = fields.String(required=True)  # api | email
    #: an account manager handed the PDF (e-mail ordering, or cost prices edited)
    recipient = fields.String()
    document = fields.Nested(Document)


class PurchaseOrderSent(Attempt):
    name = "purchase_order_sent"


class PurchaseOrderSendDeferred(Attempt):
    name = "purchase_order_send_deferred"


class PurchaseOrderSendFailed(Attempt):
    name = "purchase_order_send_failed"


class PurchaseOrderAcknowledged(PurchaseOrderEvent):
    """The distributor took the purchase order (in its answer or a signed callback)."""

    name = "purchase_order_acknowledged"
    reference = fields.String(allow_none=True, required=True)
    by = fields.String(required=True)  # answer | callback


class PurchaseOrderRejected(PurchaseOrderEvent):
    """The distributor refused the purchase order, saying why."""

    name = "purchase_order_rejected"
    reason = fields.String(required=True)
    by = fields.String(required=True)


class PurchaseOrderCostsEdited(PurchaseOrderEvent):
    """Cost prices were edited before sending: a new revision of its document."""

    name = "purchase_order_costs_edited"
    reason = fields.String(allow_none=True, required=True)
    actor = fields.String(required=True)


class PurchaseOrderCancelled(PurchaseOrderEvent):
    """The purchase order was cancelled (by an operator, or by its order's void)."""

    name = "purchase_order_cancelled"
    reason = fields.String(required=True)
    actor = fields.String(allow_none=True, required=True)
    by_void = fields.Boolean(required=True)


class PurchaseOrderReceived(PurchaseOrderEvent):
    """Goods of the purchase order were received (in part or in full)."""

    name = "purchase_order_received"
    actor = fields.String(required=True)


class PurchaseOrderClosed(PurchaseOrderEvent):
    """The purchase order was closed: nothing more is expected of it."""

    name = "purchase_order_closed"
    reason = fields.String(allow_none=True, required=True)
    actor = fields.String(required=True)


class DistributorEvent(Contract):
    service = "fulfilment"
    code = fields.String(required=True)
    name_ = fields.String(required=True, data_key="name")
    channel = fields.String(required=True)
    live = fields.Boolean(required=True)
    feed = fields.Boolean(required=True)
    active = fields.Boolean(required=True)
    version = fields.Integer(required=True)


class DistributorRegistered(DistributorEvent):
    """A distributor was registered: how it takes orders, its stock sources, charges and reach."""

    name = "distributor_registered"


class DistributorUpdated(DistributorEvent):
    """A distributor's details changed (only what is given; credentials never shown)."""

    name = "distributor_updated"


class CourierRegistered(Contract):
    """An own courier was registered (or its details changed): name, e-mail, phone."""

    service = "fulfilment"
    name = "courier_registered"
    code = fields.String(required=True)
    name_ = fields.String(required=True, data_key="name")
    email = fields.String(required=True)
    phone = fields.String(required=True)
    active = fields.Boolean(required=True)
    version = fields.Integer(required=True)


class CourierContact(Schema):
    code = fields.String(required=True)
    name = fields.String(required=True)
    email = fields.String(required=True)
    phone = fields.String(required=True)


class RunClient(Schema):
    """Since 2026-12 the name, e-mail and phone are sealed with the key of `subject`."""

    name = Personal(fields.String(), required=True)
    email = Personal(fields.String(), allow_none=True)
    phone = Personal(fields.String(), allow_none=True)
    language = fields.String(allow_none=True)
    subject = fields.String()  # since 2026-12 (optional)


class RunLine(Schema):
    sku = fields.String(required=True)
    name = fields.String(required=True)
    quantity = fields.Integer(required=True)


class Delivered(Schema):
    at = fields.String(required=True)
    by = fields.String(required=True)
    generation = fields.Integer(required=True)


class CourierRunEvent(Contract):
    """An own courier's delivery of one shipping (its links are notify's to make)."""

    service = "fulfilment"
    run_id = fields.String(required=True)
    order_id = fields.String(required=True)
    order_reference = fields.String(required=True)
    shipping_id = fields.String(required=True)
    courier = fields.Nested(CourierContact, required=True)
    client = fields.Nested(RunClient, required=True)
    address = fields.Nested(Address, required=True)
    lines = fields.List(fields.Nested(RunLine), required=True)
    planned_date = fields.String(allow_none=True, required=True)
    eta = fields.String(required=True)  # when the client may expect it (ISO, UTC)
    generation = fields.Integer(required=True)  # moves on with each assignment
    expires = fields.Integer(required=True)  # unix seconds: when the courier's links stop
    delivered = fields.Nested(Delivered, allow_none=True, required=True)
    version = fields.Integer(required=True)
    subject = fields.String(allow_none=True)  # since 2026-12 (optional): the client's


class CourierAssigned(CourierRunEvent):
    name = "courier_assigned"


class CourierDelivered(CourierRunEvent):
    name = "courier_delivered"
