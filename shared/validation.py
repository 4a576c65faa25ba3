"""Strict marshmallow fields and a loader that turns every bad input into a typed ValidationFailed."""

import functools
import re
from decimal import Decimal, InvalidOperation

from marshmallow import RAISE, Schema, ValidationError, fields, validate

from shared.errors import ValidationFailed

MAX_TEXT = 2000
_MONEY = re.compile(r"^\d{1,12}(\.\d{1,4})?$")


class Strict(Schema):
    """Refuses fields it does not know (a misspelt field is an error, not silently dropped)."""

    class Meta:
        unknown = RAISE


class Text(fields.String):
    """A string of bounded length (default 1..2000 characters after trimming)."""

    def __init__(self, *, max_length: int = MAX_TEXT, min_length: int = 1, **kwargs):
        kwargs.setdefault("validate", validate.Length(min=min_length, max=max_length))
        super().__init__(**kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str) and len(value) > 10 * MAX_TEXT:
            raise ValidationError(f"Longer than maximum length {MAX_TEXT}.")
        return super()._deserialize(value, attr, data, **kwargs).strip()


class Quantity(fields.Integer):
    """A whole number of at least 1; booleans and floats are refused."""

    def __init__(self, **kwargs):
        super().__init__(strict=True, validate=validate.Range(min=1, max=1_000_000), **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool):
            raise ValidationError("Not a valid integer.")
        return super()._deserialize(value, attr, data, **kwargs)


class MoneyAmount(fields.Field):
    """Money as a decimal string such as "9.50": floats are refused (they cannot hold cents)."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, str):
            raise ValidationError('Must be a decimal string such as "9.50", not a number.')
        if not _MONEY.match(value.strip()):
            raise ValidationError(
                'Must be a non-negative decimal string with at most 4 decimals, e.g. "9.50".'
            )
        try:
            return Decimal(value.strip())
        except InvalidOperation:
            raise ValidationError("Not a valid amount.") from None

    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else str(value)


class Currency(fields.String):
    def __init__(self, **kwargs):
        super().__init__(
            validate=validate.Regexp(
                r"^[A-Z]{3}$", error="Must be a 3-letter ISO 4217 code such as EUR."
            ),
            **kwargs,
        )


def load(schema: Schema | type[Schema], payload, what: str = "input"):
    """Validate `payload`; raise ValidationFailed naming every bad field (dotted paths).

    Pass the schema class to reuse one instance per class (building a nested schema costs more
    than loading with it)."""
    if isinstance(schema, type):
        schema = _instance(schema)
    if not isinstance(payload, dict):
        raise ValidationFailed(f"invalid {what}", {"_schema": ["Must be an object."]})
    try:
        return schema.load(payload)
    except ValidationError as exc:
        raise ValidationFailed(f"invalid {what}", flatten(exc.messages)) from None


def flatten(messages, prefix: str = "") -> dict:
    """{"lines": {0: {"sku": [...]}}} -> {"lines.0.sku": [...]}"""
    if isinstance(messages, list):
        return {prefix or "_schema": messages}
    flat = {}
    for key, value in messages.items():
        path = f"{prefix}.{key}" if prefix else str(key)
        flat.update(flatten(value, path))
    return flat


class StrictBool(fields.Boolean):
    """true or false, nothing else (not 1, "yes" or "true")."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise ValidationError("Must be true or false.")
        return value


@functools.cache
def _instance(schema_class: type[Schema]) -> Schema:
    return schema_class()


class ReasonIn(Strict):
    reason = Text(required=True, max_length=1000)


class OptionalReasonIn(Strict):
    reason = Text(load_default=None, allow_none=True, max_length=1000)


def reason_of(reason, required: bool = True) -> str | None:
    """Why a change is made: a trimmed text of 1-1000 characters (or None when optional)."""
    schema = ReasonIn if required else OptionalReasonIn
    return load(schema, {"reason": reason} if reason is not None else {})["reason"]
