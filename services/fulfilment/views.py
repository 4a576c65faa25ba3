"""What fulfilment answers: distributors (never their credentials), purchase orders with every
send and attempt, couriers and their deliveries, and what a courier's link shows."""

from marshmallow import Schema, fields


class CourierOut(Schema):
    code = fields.String()
    name = fields.String()
    email = fields.String()
    phone = fields.String()
    active = fields.Boolean()
    version = fields.Integer()


class CourierRunOut(Schema):
    id = fields.String()
    order_id = fields.String()
    order_reference = fields.String()
    shipping_id = fields.String()
    courier = fields.Raw()
    address = fields.Raw()
    lines = fields.Raw()
    planned_date = fields.String(allow_none=True)
    eta = fields.String()
    generation = fields.Integer()
    delivered = fields.Raw(allow_none=True)
    version = fields.Integer()


class CourierTaskOut(Schema):
    """What a courier's link shows: the delivery, the client's name and phone (not more)."""

    order_reference = fields.String()
    shipping_id = fields.String()
    courier = fields.Method("dump_courier")
    client = fields.Method("dump_client")
    address = fields.Raw()
    lines = fields.Raw()
    planned_date = fields.String(allow_none=True)
    eta = fields.String()
    delivered = fields.Raw(allow_none=True)

    def dump_courier(self, run):
        return {"name": run.courier["name"]}

    def dump_client(self, run):
        return {"name": run.client["name"], "phone": run.client.get("phone")}


class DistributorOut(Schema):
    """A distributor as operators see it: its credentials are never shown."""

    code = fields.String()
    name = fields.String()
    account_manager_email = fields.String()
    currency = fields.String()
    ordering = fields.Method("dump_ordering")
    live = fields.Method("dump_live")
    feed = fields.Raw()
    delivery = fields.Method("dump_delivery")
    lead_time_days = fields.Integer()
    delivers_to = fields.List(fields.String())
    active = fields.Boolean()
    version = fields.Integer()

    def dump_ordering(self, d):
        return _hidden(d.ordering)

    def dump_live(self, d):
        return _hidden(d.live) if d.live else None

    def dump_delivery(self, d):
        return _strings(d.delivery)


def _hidden(config: dict) -> dict:
    shown = {k: v for k, v in config.items() if k != "credential"}
    shown["credential_set"] = bool(config.get("credential"))
    return shown


def _attempt(attempt: dict) -> dict:
    """An attempt as answered: what it sent, but the PDF it handed on (`document` serves it)."""
    content = {k: v for k, v in attempt["content"].items() if k != "document"}
    return dict(attempt, content=content)


def _strings(value):
    """Decimals (money, weights) as strings, all the way down."""
    if isinstance(value, dict):
        return {k: _strings(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_strings(v) for v in value]
    if value is None or isinstance(value, (bool, int, str)):
        return value
    return str(value)


class PurchaseOrderOut(Schema):
    id = fields.String()
    number = fields.String(allow_none=True)
    order_id = fields.String()
    order_reference = fields.String()
    shipping_id = fields.String()
    distributor = fields.String()
    channel = fields.String(allow_none=True)
    lines = fields.Method("dump_lines")
    status = fields.String()
    sends = fields.Method("dump_sends")
    acknowledgement = fields.Raw(allow_none=True)
    rejection = fields.Raw(allow_none=True)
    costs_edited = fields.Raw(allow_none=True)
    received = fields.Raw()
    cancellation = fields.Raw(allow_none=True)
    revisions = fields.Method("dump_revisions")
    version = fields.Integer()

    def dump_lines(self, po):
        return _strings(po.lines)

    def dump_sends(self, po):
        return _strings([dict(s, attempts=[_attempt(a) for a in s["attempts"]])
                         for s in po.sends.values()])  # fmt: skip

    def dump_revisions(self, po):
        return len(po.documents)
