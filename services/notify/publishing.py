"""What the notify service publishes: each private domain event mapped to a public contract."""

from services.notify.domain import Notification
from shared.publishing import Publish


def notification_data(app, domain_event) -> dict:
    n = app.state_at(domain_event)
    return {
        "notification_id": str(n.id),
        "order_id": n.order_id,
        "recipient": n.recipient,
        "channel": n.channel,
        "subject_": n.subject,
        "status": n.status,
        "source_event": n.source_event,
        "event_type": n.event_type,
    }


PUBLISHED = {Notification.Queued: Publish("notification_queued", notification_data)}
