"""The CloudEvents RabbitMQ binding, structured mode: each AMQP message's body is the whole JSON
envelope (shared/envelope.py) and its content type `application/cloudevents+json`, so the
`cloudevents` SDK (`cloudevents.core.bindings.rabbitmq.from_rabbitmq`) reads a message as it is.

kombu decodes a body by its content type: importing this module registers the type (as JSON) in
the process, and consumers name it in their `accept` list (`ACCEPT`).
"""

import json

from kombu.serialization import register

CONTENT_TYPE = "application/cloudevents+json"
SERIALIZER = "cloudevents"  # kombu's name for it, as `serializer=` of a publish
ACCEPT = ["json", CONTENT_TYPE]  # what a consumer of the event exchanges takes


def _dumps(envelope) -> str:
    return json.dumps(envelope, separators=(",", ":"))


register(SERIALIZER, _dumps, json.loads, content_type=CONTENT_TYPE, content_encoding="utf-8")


def vector(by_type: dict) -> str:
    """`previousbytype` as it travels: a CloudEvents extension attribute must be a string, a
    number or a boolean, never an object, so the map goes as compact JSON text."""
    return json.dumps(by_type, sort_keys=True, separators=(",", ":"))


def read_vector(value) -> dict | None:
    """`previousbytype` as sent (JSON text; an object from relays before the binding), or None."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return None
    return value if isinstance(value, dict) else None
