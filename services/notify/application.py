"""Notify use cases: every status event of the other services queues one notification."""

from uuid import NAMESPACE_URL, uuid5

from services.notify.domain import Notification
from services.notify.publishing import PUBLISHED
from services.notify.templates import TEMPLATES, render
from shared.readmodels import OrderIndexed
from shared.store import ServiceApplication

NOTIFICATION_IDS = uuid5(NAMESPACE_URL, "https://oms.example/notifications")


class NotifyApplication(OrderIndexed, ServiceApplication):
    service = "notify"
    follows = ("orders", "billing", "production", "fulfilment")
    published = PUBLISHED
    reactions = {kind: "_queue_notification" for kind in TEMPLATES}

    def _queue_notification(self, envelope: dict) -> list:
        """One notification per event its template covers (a replay queues nothing new)."""
        rendered = render(envelope["type"], envelope["data"])
        notification_id = uuid5(NOTIFICATION_IDS, envelope["id"])
        if rendered is None or self.exists(notification_id):
            return []
        data = envelope["data"]
        client = data.get("client")
        return [
            Notification(
                id=notification_id,
                order_id=data.get("order_id"),
                source_event=envelope["id"],
                event_type=envelope["type"],
                recipient=client["email"] if client else self.settings.ops_email,
                channel="email",
                subject=rendered[0],
                body=rendered[1],
            )
        ]
