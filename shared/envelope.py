"""The CloudEvents 1.0 envelope every integration event travels in."""

from marshmallow import INCLUDE, Schema, fields

SPECVERSION = "1.0"


def build(
    service: str,
    position: int,
    type_: str,
    version: int,
    subject: str,
    time: str,
    data: dict,
    correlation_id: str | None,
    causation_id: str | None,
) -> dict:
    event_id = f"{service}:{position}"
    return {
        "specversion": SPECVERSION,
        "id": event_id,
        "source": f"oms/{service}",
        "type": f"{service}.{type_}",
        "dataversion": version,
        "time": time,
        "subject": subject,
        "datacontenttype": "application/json",
        "sequence": position,
        "correlationid": correlation_id or event_id,
        "causationid": causation_id or event_id,
        "data": data,
    }


def service_of(envelope: dict) -> str:
    return envelope["type"].split(".", 1)[0]


def name_of(envelope: dict) -> str:
    """`orders.order_accepted` -> `order_accepted` (the routing key)."""
    return envelope["type"].split(".", 1)[1]


class EnvelopeSchema(Schema):
    """Checks an envelope received from the broker or an upstream's log before acting on it."""

    class Meta:
        unknown = INCLUDE

    specversion = fields.String(required=True)
    id = fields.String(required=True)
    source = fields.String(required=True)
    type = fields.String(required=True)
    dataversion = fields.Integer(required=True)
    time = fields.String(required=True)
    subject = fields.String(required=True)
    sequence = fields.Integer(required=True, strict=True)
    correlationid = fields.String(required=True)
    causationid = fields.String(required=True)
    data = fields.Dict(required=True)
