"""Integration-event contracts: one marshmallow schema per public event type, each versioned."""

import functools

from marshmallow import Schema, fields

from shared.personal import Personal

REGISTRY: dict[str, type["Contract"]] = {}


class Contract(Schema):
    """Subclasses set `service`, `name` and `version`; they are registered as `service.name`."""

    service: str = ""
    name: str = ""
    version: int = 1

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if cls.name:
            REGISTRY[f"{cls.service}.{cls.name}"] = cls


def contract_for(event_type: str) -> type[Contract]:
    return REGISTRY[event_type]


@functools.cache
def _schema(event_type: str) -> "Contract":
    """One instance per contract: building a schema with nested ones costs more than using it."""
    return contract_for(event_type)()


def dump(event_type: str, data: dict) -> dict:
    """Validate and serialise `data` as the contract of `event_type` requires."""
    schema = _schema(event_type)
    payload = schema.dump(data)
    errors = schema.validate(payload)
    if errors:
        raise ValueError(f"{event_type} payload breaks its contract: {errors}")
    return payload


def load(event_type: str, data: dict) -> dict:
    return _schema(event_type).load(data)


class Money(fields.Decimal):
    """A Decimal carried as a string, never a float."""

    def __init__(self, **kwargs):
        super().__init__(as_string=True, **kwargs)


class Client(Schema):
    """A client's details. Since version 2 of the contracts carrying it, the personal fields are
    sealed with the key of the client's `subject` (shared/personal.py): a service that must show
    or send them opens them with `orders.personal_keys`; once the client is forgotten they open
    to "forgotten client"."""

    code = fields.String(allow_none=True)
    name = Personal(fields.String(), required=True)
    email = Personal(fields.Email(), required=True)
    phone = Personal(fields.String(), required=True)
    language = fields.String()  # since 2026-12 (optional): ISO 639-1, for messages
    subject = fields.String()  # since version 2: whose key seals the personal fields


# Register every service's contracts (they subclass Contract, defined above).
from shared.contracts import billing, fulfilment, notify, orders, production  # noqa: E402, F401
