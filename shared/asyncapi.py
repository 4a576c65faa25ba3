"""The AsyncAPI 3.0 document of the integration events: a channel, a message and a send operation
per registered contract, each message the CloudEvents envelope the relay publishes with the
contract as its `data`. It is built from the contracts and the relay's exchanges, so it cannot
drift from what goes over the broker; the gateway serves it at /asyncapi.json."""

import copy
import sys

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin

from shared import cloudevents, envelope
from shared.contracts import REGISTRY, Contract, Money
from shared.personal import Personal
from shared.relay import event_exchange

CONTENT_TYPE = cloudevents.CONTENT_TYPE  # structured mode: the body is the whole envelope
AMQP_BINDING = "0.3.0"
SCHEMAS = "#/components/schemas/"
ENVELOPE = "CloudEvent"
ENVELOPE_SCHEMA = {
    "type": "object",
    "description": "A CloudEvents 1.0 envelope (shared/envelope.py) as the relay publishes it.",
    "required": [
        *("specversion", "id", "source", "type", "dataversion", "time", "subject"),
        *("datacontenttype", "sequence", "correlationid", "causationid", "data"),
        *("previoussequence", "previousbytype"),
    ],
    "properties": {
        "specversion": {"const": envelope.SPECVERSION},
        "id": {"type": "string", "description": "`<service>:<sequence>`: unique, for dedup."},
        "source": {"type": "string", "description": "`oms/<service>`."},
        "type": {"type": "string", "description": "`<service>.<name>`: the contract."},
        "dataversion": {"type": "integer", "minimum": 1, "description": "The contract's version."},
        "time": {"type": "string", "format": "date-time"},
        "subject": {"type": "string", "description": "The id of the aggregate that changed."},
        "datacontenttype": {"const": "application/json"},
        "sequence": {
            "type": "integer",
            "minimum": 1,
            "description": "Its position in the service's log: increasing, with gaps where"
            " private events sit (see `previoussequence`).",
        },
        "correlationid": {"type": "string", "description": "The request that started it all."},
        "causationid": {"type": "string", "description": "What caused this very event."},
        "previoussequence": {
            "type": "integer",
            "minimum": 0,
            "description": "The sequence of the event the service published before it (0: none).",
        },
        "previousbytype": {
            "type": "string",
            "contentMediaType": "application/json",
            "description": "JSON text mapping each event name to the sequence last published of"
            ' that name before it, e.g. `{"order_placed":7}`: a follower bound to some names'
            " knows a jump past the others is no gap.",
        },
        "data": {"type": "object", "description": "The payload, as the contract says."},
    },
}


def build(version: str = "1.0.0") -> dict:
    contracts = sorted(REGISTRY.items())
    return {
        "asyncapi": "3.0.0",
        "info": _info(version),
        "defaultContentType": CONTENT_TYPE,
        "servers": {
            "local": {
                "host": "localhost:5672",
                "protocol": "amqp",
                "protocolVersion": "0.9.1",
                "description": "RabbitMQ as the services run locally; a deployment names its own.",
            }
        },
        "channels": {t: _channel(t, c) for t, c in contracts},
        "operations": {t: _operation(t, c) for t, c in contracts},
        "components": {
            "schemas": {ENVELOPE: copy.deepcopy(ENVELOPE_SCHEMA), **_schemas(contracts)},
            "messages": {t: _message(t, c) for t, c in contracts},
        },
    }


def _info(version: str) -> dict:
    services = sorted({c.service for c in REGISTRY.values()})
    return {
        "title": "Order management: the integration events",
        "version": version,
        "description": "Every event a service publishes, one channel per event type. Each service"
        " publishes to its durable topic exchange `<service>.events` with the event's name as the"
        " routing key; bind a queue to receive some. Each message is a CloudEvents 1.0 envelope in"
        " structured mode (its body the JSON envelope, its `message_id` the envelope's `id`, its"
        " `correlation_id` the `correlationid`), persistent. Fields added to a contract since"
        " version 1 are optional.",
        "tags": [{"name": s, "description": _module_doc(s)} for s in services],
    }


def _channel(event_type: str, contract: type[Contract]) -> dict:
    exchange = event_exchange(contract.service)
    return {
        "address": contract.name,
        "title": event_type,
        "description": f"Routing key `{contract.name}` on the `{exchange.name}` exchange.",
        "messages": {event_type: {"$ref": f"#/components/messages/{event_type}"}},
        "bindings": {
            "amqp": {
                "is": "routingKey",
                "exchange": {
                    "name": exchange.name,
                    "type": exchange.type,
                    "durable": exchange.durable,
                    "autoDelete": exchange.auto_delete,
                    "vhost": "/",
                },
                "bindingVersion": AMQP_BINDING,
            }
        },
    }


def _operation(event_type: str, contract: type[Contract]) -> dict:
    exchange = event_exchange(contract.service)
    return {
        "action": "send",
        "channel": {"$ref": f"#/channels/{event_type}"},
        "messages": [{"$ref": f"#/channels/{event_type}/messages/{event_type}"}],
        "title": f"{contract.service} publishes {contract.name}",
        "summary": _summary(contract),
        "tags": [{"name": contract.service}],
        "bindings": {
            "amqp": {
                "deliveryMode": exchange.delivery_mode,
                "timestamp": True,
                "bindingVersion": AMQP_BINDING,
            }
        },
    }


def _message(event_type: str, contract: type[Contract]) -> dict:
    specific = {
        "type": {"const": event_type},
        "source": {"const": f"oms/{contract.service}"},
        "id": {"type": "string", "pattern": f"^{contract.service}:[0-9]+$"},
        "dataversion": {"const": contract.version},
        "data": {"$ref": SCHEMAS + _schema_name(contract)},
    }
    return {
        "name": event_type,
        "title": _title(contract),
        "summary": _summary(contract),
        "contentType": CONTENT_TYPE,
        "correlationId": {
            "description": "Also the AMQP `correlation_id` property.",
            "location": "$message.payload#/correlationid",
        },
        "payload": {"allOf": [{"$ref": SCHEMAS + ENVELOPE}, {"properties": specific}]},
        "bindings": {"amqp": {"contentEncoding": "utf-8", "bindingVersion": AMQP_BINDING}},
    }


def _schemas(contracts: list) -> dict:
    """JSON Schema of every contract and the schemas nested in it, by apispec's converter: its
    OpenAPI 3.1 output says null as `type: [..., "null"]` or `anyOf`, as draft-07 does."""
    plugin = MarshmallowPlugin(schema_name_resolver=_schema_name)
    spec = APISpec(title="contracts", version="1", openapi_version="3.1.0", plugins=[plugin])
    plugin.map_to_openapi_type(Money, "string", "decimal")
    plugin.converter.add_attribute_function(_personal)
    for _, contract in contracts:
        spec.components.schema(_schema_name(contract), schema=contract)
    return spec.to_dict()["components"]["schemas"]


SEALED = {
    "type": "object",
    "description": "Personal data sealed with its client's key (AES-256-GCM, the subject as"
    ' associated data); opens to "forgotten client" once the client is forgotten. Services'
    " open it with `orders.personal_keys`.",
    "required": ["sealed", "box"],
    "additionalProperties": False,
    "properties": {
        "sealed": {"type": "string", "description": "The subject: `client:<code>`, `order:<id>`."},
        "box": {"type": "string", "description": "base64url: 12-byte nonce, ciphertext, tag."},
    },
}


def _personal(converter, field, **kwargs) -> dict:
    """A personal field: sealed (since version 2 of the contracts), or plain text in events
    stored before sealing."""
    if not isinstance(field, Personal):
        return {}
    kinds = [{"type": "string"}, SEALED] + ([{"type": "null"}] if field.allow_none else [])
    return {"anyOf": kinds}


def _schema_name(schema) -> str | None:
    """`orders.Line`, `billing.Line`: two services may name a part alike. None (written inline)
    for a schema narrowed by `only` or `exclude`, which is not the part itself."""
    if not isinstance(schema, type) and (schema.only or schema.exclude):
        return None
    cls = schema if isinstance(schema, type) else type(schema)
    module = cls.__module__.removeprefix("shared.contracts").lstrip(".") or "shared"
    return f"{module}.{cls.__name__}"


def _summary(contract: type[Contract]) -> str:
    """The contract's docstring, or its nearest base's, or else its title."""
    for cls in contract.__mro__:
        if cls is Contract:
            break
        if cls.__doc__:
            return " ".join(cls.__doc__.split())
    return f"{_title(contract)}."


def _title(contract: type[Contract]) -> str:
    return contract.name.replace("_", " ").capitalize()


def _module_doc(service: str) -> str:
    doc = sys.modules[f"shared.contracts.{service}"].__doc__ or f"Events of {service}."
    return " ".join(doc.split())
