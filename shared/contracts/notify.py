"""Public events of the notify service."""

from marshmallow import fields

from shared.contracts import Contract
from shared.personal import Personal


class NotificationQueued(Contract):
    """A message to a client, a courier or operations was written about an event. Since version
    2 a client's address (`recipient`, and each attempt's) is sealed with the client's key, as
    the event it is about carried it (shared/personal.py), and `client_subject` names the
    client (`client:<code>`, or `order:<id>` for a guest)."""

    service = "notify"
    name = "notification_queued"
    version = 2
    notification_id = fields.String(required=True)
    order_id = fields.String(allow_none=True, required=True)
    recipient = Personal(fields.String(), required=True)
    channel = fields.String(required=True)
    subject_ = fields.String(required=True, data_key="subject")
    status = fields.String(required=True)
    # since 2026-12 (optional): the event it is about, so integrators and `oms verify` can
    # match each status event to its notification
    source_event = fields.String()
    event_type = fields.String()
    # since 2026-12 (optional): its event type's policy (auto, manual, off) and its language
    policy = fields.String()
    language = fields.String()
    # since version 2 (optional): whose details the message was written from (none: nobody's)
    client_subject = fields.String(allow_none=True)


class NotificationAttempt(NotificationQueued):
    """One attempt to deliver it: the channel, the recipient, what the provider answered."""

    name = ""  # a base: each outcome below is its own contract
    send_id = fields.String(required=True)
    attempt = fields.Integer(required=True)
    outcome = fields.String(required=True)  # sent | retry | failed
    answer = fields.String(required=True)
    retry_at = fields.Float(allow_none=True)


class NotificationSent(NotificationAttempt):
    name = "notification_sent"


class NotificationDeferred(NotificationAttempt):
    """A transient failure: it is tried again at `retry_at`."""

    name = "notification_deferred"


class NotificationFailed(NotificationAttempt):
    """A permanent failure, or too many tries: an operator may resend it."""

    name = "notification_failed"


class PolicyChanged(Contract):
    """An admin set an event type's send policy (auto, manual or off)."""

    service = "notify"
    name = "policy_changed"
    event_type = fields.String(required=True)
    policy = fields.String(required=True)
    actor = fields.String(required=True)
