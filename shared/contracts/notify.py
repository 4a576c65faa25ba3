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
    # since 2026-12 (optional): the event it is about, so integrators and `oms verify` can
    # match each status event to its notification
    source_event = fields.String()
    event_type = fields.String()
