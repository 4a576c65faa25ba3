"""Production's RPC payloads: what each call accepts (strictly) and what it answers."""

import base64
import binascii

from marshmallow import Schema, ValidationError, fields, validate

from services.production.projections import QUEUE_STATUSES
from shared.validation import Quantity, Strict, StrictBool, Text


class Base64(fields.String):
    """Bytes sent as base64 text."""

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            return base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            raise ValidationError("Must be base64 (RFC 4648) text.") from None


class FileIn(Strict):
    name = Text(required=True, max_length=255)
    content = Base64(required=True)
    content_type = Text(load_default="application/octet-stream", max_length=100)
    required = StrictBool(load_default=True)  # a required file must be certified before release


class ProducedIn(Strict):
    quantity = Quantity(required=True)


class ProductionNoteIn(Strict):
    text = Text(required=True, max_length=4000)


class QueueIn(Strict):
    status = fields.String(load_default="open", validate=validate.OneOf(QUEUE_STATUSES))
    limit = fields.Integer(strict=True, load_default=50, validate=validate.Range(min=1, max=500))
    cursor = Text(max_length=500, allow_none=True)


class Note(Schema):
    id = fields.String()
    text = fields.String()
    author = fields.String(allow_none=True)
    at = fields.String()


class Comment(Note):
    pass


class Certified(Schema):
    by = fields.String(allow_none=True)
    at = fields.String()


class FileOut(Schema):
    id = fields.String()
    name = fields.String()
    content_type = fields.String()
    sha256 = fields.String()
    size = fields.Integer()
    required = fields.Boolean()
    attached_by = fields.String(allow_none=True)
    attached_at = fields.String()
    certified = fields.Nested(Certified, allow_none=True)
    comments = fields.List(fields.Nested(Comment))


class Hold(Schema):
    reason = fields.String()
    by = fields.String(allow_none=True)


class WorkSheetOut(Schema):
    number = fields.String()
    revision = fields.Integer()
    issued_on = fields.String()
    sha256 = fields.String()


class ProductionOrderOut(Schema):
    id = fields.String()
    number = fields.String()
    order_id = fields.String()
    order_reference = fields.String()
    sku = fields.String()
    name = fields.String()
    quantity = fields.Integer()
    produced = fields.Integer()
    status = fields.String(attribute="shown_status")
    planned_date = fields.String(allow_none=True)
    hold = fields.Nested(Hold, allow_none=True)
    cancelled = fields.Nested(Hold, allow_none=True)
    rerun_of = fields.Dict(allow_none=True)
    order_notes = fields.List(fields.Nested(Note))
    notes = fields.List(fields.Nested(Note))
    files = fields.List(fields.Nested(FileOut))
    work_sheets = fields.List(fields.Nested(WorkSheetOut))
    version = fields.Integer()
