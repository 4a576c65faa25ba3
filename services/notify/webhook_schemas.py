"""What the webhooks' RPC takes and gives back (marshmallow)."""

from marshmallow import ValidationError, fields, validate

from services.notify.application import NotifyApplication
from shared.contracts import REGISTRY
from shared.validation import Strict, Text

STATUSES = ("pending", "delivered", "dead", "queued", "dropped")


def journaled_types() -> set[str]:
    """The event types a subscription may name: those of the services notify follows."""
    return {t for t in REGISTRY if t.split(".")[0] in NotifyApplication.follows}


def check_event_type(value: str) -> None:
    services = NotifyApplication.follows
    if value == "*" or value in journaled_types():
        return
    if value.endswith(".*") and value[:-2] in services:
        return
    raise ValidationError(
        f"{value!r} is no event type webhooks carry: name one such as orders.order_accepted,"
        f" a service's all ({', '.join(s + '.*' for s in services)}) or * for every one."
    )


class Start(fields.Field):
    """A journal position (1 or more), an event id (`orders:12`) or an ISO 8601 time."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, int) and not isinstance(value, bool):
            if value < 1:
                raise ValidationError("A journal position is 1 or more.")
            return value
        if isinstance(value, str) and value.isdigit():
            return self._deserialize(int(value), attr, data)
        if isinstance(value, str) and 0 < len(value) <= 80:
            return value
        raise ValidationError("Must be a journal position, an event id or an ISO 8601 time.")


class WebhookIn(Strict):
    url = Text(required=True, max_length=2000)
    event_types = fields.List(
        fields.String(validate=check_event_type),
        required=True,
        validate=validate.Length(min=1, max=100),
    )
    description = Text(max_length=200)
    #: where its deliveries start (default: the events after now)
    start = Start(load_default=None, allow_none=True)


class RewindIn(Strict):
    position = Start(required=True)


class RotateIn(Strict):
    overlap_seconds = fields.Float(
        load_default=None, allow_none=True, validate=validate.Range(min=0, max=30 * 86400)
    )


class ResumeIn(Strict):
    redeliver = fields.Boolean(load_default=False)


class DeliveriesIn(Strict):
    status = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(STATUSES))
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))


class WebhookOut(Strict):
    id = fields.String()
    url = fields.String()
    event_types = fields.List(fields.String())
    description = fields.String()
    status = fields.String()
    paused_reason = fields.String(allow_none=True)
    round = fields.Integer()
    position = fields.Integer()
    secret_hint = fields.String()
    created_at = fields.String()
    created_by = fields.String()
    deliveries = fields.Dict()
