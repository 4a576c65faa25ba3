"""The Notification aggregate: one message to a person about one status event."""

from uuid import UUID

from eventsourcing.domain import Aggregate, event


class Notification(Aggregate):
    @event("Queued")
    def __init__(
        self,
        id: UUID,
        order_id: str | None,
        source_event: str,
        event_type: str,
        recipient: str,
        channel: str,
        subject: str,
        body: str,
    ):
        self.order_id = order_id
        self.source_event = source_event
        self.event_type = event_type
        self.recipient = recipient
        self.channel = channel
        self.subject = subject
        self.body = body
        self.status = "pending"
