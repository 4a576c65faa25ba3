"""The notify service: a notification for every status event of the other services."""

from marshmallow import Schema, fields

from services.notify.application import NotifyApplication
from shared.service import EventLogRpc, EventSourced, check_id, command


class NotificationOut(Schema):
    id = fields.String()
    order_id = fields.String(allow_none=True)
    source_event = fields.String()
    event_type = fields.String()
    recipient = fields.String()
    channel = fields.String()
    subject = fields.String()
    body = fields.String()
    status = fields.String()


class NotifyService(EventLogRpc):
    name = "notify"
    app = EventSourced(NotifyApplication)

    @command
    def notifications_for_order(self, order_id):
        """`[{"event_type": "orders.order_accepted", "recipient": "ada@example.com", "status": "pending", …}]`."""
        check_id(order_id=order_id)
        return NotificationOut(many=True).dump(self.app.for_order(order_id))
