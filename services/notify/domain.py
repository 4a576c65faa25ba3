"""Notify's aggregates: a `Notification` (one message to a person about one status event, or one an
operator wrote) with every request to send it and every attempt — the ledger of what exactly the
client was told, and when; the `Policies` an admin sets per event type; and an order's
`TrackingAccess`, whose generation a revocation moves on (old links then lead nowhere).

A client's details stay as the event that caused a notification carried them: sealed with the
client's key (services/notify/sealed.py). The recipient and phone may be sealed values, the
written parts hold blanks where a sealed value goes (`personal` keeps those values), and each
attempt records what was sent sealed again with the client's key (`client_subject`)."""

from uuid import UUID

from eventsourcing.domain import Aggregate, event

from shared.refusals import Refused

POLICIES = ("auto", "manual", "off")
CHANNELS = ("email", "sms")


class Notification(Aggregate):
    @event("Queued")
    def __init__(
        self,
        id: UUID,
        order_id: str | None,
        source_event: str,
        event_type: str,
        recipient: str | dict,
        channel: str,
        subject: str,
        body: str,
        phone: str | dict | None = None,
        language: str = "en",
        html: str | None = None,
        sms: str | None = None,
        about: dict | None = None,
        policy: str = "auto",
        actor: str | None = None,
        attachments: list | None = None,
        personal: dict | None = None,
        client_subject: str | None = None,
    ):
        self.order_id = order_id
        self.source_event = source_event
        self.event_type = event_type
        self.recipient = recipient  # the e-mail address (ops, or the client's: sealed)
        self.phone = phone  # the client's number as the order gave it, for SMS (sealed)
        self.channel = channel  # the channel it is meant for first
        self.language = language
        self.subject = subject
        self.body = body  # plain text
        self.html = html
        self.sms = sms
        self.about = about  # {"service", "id", "version", "event"}: what it described
        self.policy = policy
        self.actor = actor  # who wrote it (ad-hoc messages)
        #: files sent with the e-mail: [{"filename", "content_type", "sha256", "content" (base64)}]
        self.attachments = attachments or []
        #: the sealed values the written parts leave blanks for, by blank number
        self.personal = personal or {}
        #: whose key seals what it keeps of the client (`client:<code>`, `order:<id>`)
        self.client_subject = client_subject
        self.sends: dict[str, dict] = {}  # send id -> the request and its attempts, in order

    @property
    def status(self) -> str:
        """waiting (for an operator) | off (its policy: not to send) | sending | sent | failed —
        of the latest send."""
        if not self.sends:
            return "off" if self.policy == "off" else "waiting"
        return list(self.sends.values())[-1]["status"]

    def content_for(self, channel: str) -> dict:
        if channel == "sms":
            return {"text": self.sms or f"{self.subject}\n{self.body}"}
        content = {"subject": self.subject, "text": self.body, "html": self.html}
        if self.attachments:
            content["attachments"] = self.attachments
        return content

    # -- commands --------------------------------------------------------------------------------
    def request_send(self, channel: str, recipient, by: str | None, resend: bool) -> str:
        """Ask for it to be sent (again: `resend`); answers the new send's id."""
        if channel not in CHANNELS:
            raise Refused(f"no channel {channel!r}", "unknown_channel", field="channel")
        if self.status == "sending":
            raise Refused(
                "a send of this notification is under way; wait for its outcome",
                "send_in_progress",
            )
        if not resend and self.status == "sent":
            raise Refused("it was sent already: resend it instead", "already_sent")
        send_id = f"{self.id}:{len(self.sends) + 1}"
        self._request(send_id, channel, recipient, by, resend)
        return send_id

    @event("SendRequested")
    def _request(self, send_id: str, channel: str, recipient, by, resend: bool) -> None:
        self.sends[send_id] = {
            "send_id": send_id,
            "channel": channel,
            "recipient": recipient,
            "requested_by": by,
            "resend": resend,
            "status": "sending",
            "attempts": [],
        }

    def attempts_of(self, send_id: str) -> int:
        return len(self.sends[send_id]["attempts"])

    @event("Attempted")
    def record_attempt(
        self,
        send_id: str,
        attempt: int,
        channel: str,
        recipient,
        content: dict,
        outcome: str,
        answer: str,
        reference: str | None,
        retry_at: float | None,
        about: dict | None,
        at: str,
    ) -> None:
        send = self.sends[send_id]
        send["attempts"].append(
            {
                "attempt": attempt,
                "channel": channel,
                "recipient": recipient,
                "content": content,
                "outcome": outcome,
                "answer": answer,
                "reference": reference,
                "retry_at": retry_at,
                "about": about,
                "at": at,
            }
        )
        send["status"] = {"sent": "sent", "failed": "failed"}.get(outcome, "sending")


class Policies(Aggregate):
    """The send policy per event type that an admin changed (the rest follow the settings)."""

    @event("Started")
    def __init__(self, id: UUID):
        self.policies: dict[str, dict] = {}

    @event("PolicySet")
    def set_policy(self, event_type: str, policy: str, actor: str) -> None:
        self.policies[event_type] = {"policy": policy, "set_by": actor}


class TrackingAccess(Aggregate):
    """An order's tracking links: a revocation moves the generation on; links name theirs."""

    @event("Opened")
    def __init__(self, id: UUID, order_id: str):
        self.order_id = order_id
        self.generation = 1

    @event("Revoked")
    def revoke(self, actor: str, reason: str) -> None:
        self.generation += 1


def _upcast_queued(state: dict) -> None:
    """Notifications queued before sending existed were never sent: they wait for an operator
    (a deployment upgraded with old notifications does not mail them all at once)."""
    state.update(
        phone=None, language="en", html=None, sms=None, about=None, policy="manual", actor=None
    )


def _upcast_queued_unsealed(state: dict) -> None:
    """Notifications queued before sealing hold their client's details as they came (plain)."""
    state.update(personal=None, client_subject=None)


Notification.Queued.class_version = 3
Notification.Queued.upcast_v1_v2 = staticmethod(_upcast_queued)
Notification.Queued.upcast_v2_v3 = staticmethod(_upcast_queued_unsealed)
