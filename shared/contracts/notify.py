"""Public events of the notify service."""

from marshmallow import fields

from shared.contracts import Contract


class NotificationQueued(Contract):
    service = "notify"
    name = "notification_queued"
    notification_id = fields.String(required=True)
    order_id = fields.String(allow_none=True, required=True)
    recipient = fields.String(required=True)
    channel = fields.String(required=True)
    subject_ = fields.String(required=True, data_key="subject")
    status = fields.String(required=True)
