"""What the notify service publishes: each private domain event mapped to a public contract.
A client's recipient address stays sealed as notify keeps it, and a subject written with the
client's details shows "…" where they go (services/notify/sealed.py)."""

from services.notify.domain import Notification, Policies
from services.notify.sealed import redacted
from shared.publishing import Publish


def notification_data(app, domain_event) -> dict:
    n = app.state_at(domain_event)
    return {
        "notification_id": str(n.id),
        "order_id": n.order_id,
        "recipient": n.recipient,
        "channel": n.channel,
        "subject_": redacted(n.subject),
        "status": n.status,
        "source_event": n.source_event,
        "event_type": n.event_type,
        "policy": n.policy,
        "language": n.language,
        "client_subject": n.client_subject,
    }


def attempt_data(app, domain_event) -> dict:
    e = domain_event
    return {
        **notification_data(app, domain_event),
        "send_id": e.send_id,
        "attempt": e.attempt,
        "channel": e.channel,
        "recipient": e.recipient,
        "outcome": e.outcome,
        "answer": e.answer,
        "retry_at": e.retry_at,
    }


def policy_data(app, domain_event) -> dict:
    e = domain_event
    return {"event_type": e.event_type, "policy": e.policy, "actor": e.actor}


ATTEMPT_NAMES = {
    "sent": "notification_sent",
    "retry": "notification_deferred",
    "failed": "notification_failed",
}

PUBLISHED = {
    Notification.Queued: Publish("notification_queued", notification_data),
    Notification.Attempted: Publish(lambda d: ATTEMPT_NAMES[d["outcome"]], attempt_data),
    Policies.PolicySet: Publish("policy_changed", policy_data),
}
