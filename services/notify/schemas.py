"""What notify's RPC takes and gives back (marshmallow)."""

from marshmallow import ValidationError, fields, validate, validates_schema

from services.notify.channels import BadNumber, e164
from services.notify.domain import CHANNELS, POLICIES
from shared.validation import Strict, Text

Channel = fields.String(validate=validate.OneOf(CHANNELS))


def check_recipient(channel: str, recipient: str | None) -> str | None:
    """An e-mail address for e-mail, an international number for SMS (returned in E.164)."""
    if recipient is None:
        return None
    if channel == "sms":
        try:
            return e164(recipient)
        except BadNumber as exc:
            raise ValidationError({"recipient": [str(exc)]}) from None
    try:
        fields.Email().deserialize(recipient)
    except ValidationError:
        raise ValidationError({"recipient": ["Not a valid e-mail address."]}) from None
    return recipient


class ResendIn(Strict):
    recipient = Text(load_default=None, allow_none=True, max_length=254)
    channel = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(CHANNELS))

    @validates_schema
    def _recipient(self, data, **kwargs):
        check_recipient(data.get("channel") or "email", data.get("recipient"))


class MessageIn(Strict):
    channel = fields.String(required=True, validate=validate.OneOf(CHANNELS))
    subject = Text(required=True, max_length=200)
    body = Text(required=True, max_length=5000)


class PolicyIn(Strict):
    event_type = Text(required=True, max_length=100)
    policy = fields.String(required=True, validate=validate.OneOf(POLICIES))


class PolicyBodyIn(Strict):
    policy = fields.String(required=True, validate=validate.OneOf(POLICIES))


class SendsIn(Strict):
    status = fields.String(
        load_default=None, allow_none=True, validate=validate.OneOf(("pending", "sent", "failed"))
    )


class AttemptOut(Strict):
    attempt = fields.Integer()
    channel = fields.String()
    recipient = fields.String()
    #: what was sent (the client's details opened): "forgotten client" once it is forgotten
    content = fields.Raw()
    outcome = fields.String()
    answer = fields.String()
    reference = fields.String(allow_none=True)
    retry_at = fields.Float(allow_none=True)
    about = fields.Dict(allow_none=True)
    at = fields.String()


class SendOut(Strict):
    send_id = fields.String()
    channel = fields.String()
    recipient = fields.String()
    requested_by = fields.String(allow_none=True)
    resend = fields.Boolean()
    status = fields.String()
    attempts = fields.List(fields.Nested(AttemptOut))


class NotificationOut(Strict):
    """A notification as the application shows it (`NotifyApplication.shown`: opened)."""

    id = fields.String()
    order_id = fields.String(allow_none=True)
    source_event = fields.String()
    event_type = fields.String()
    recipient = fields.String()
    phone = fields.String(allow_none=True)
    channel = fields.String()
    language = fields.String()
    subject = fields.String()
    body = fields.String()
    html = fields.String(allow_none=True)
    sms = fields.String(allow_none=True)
    about = fields.Dict(allow_none=True)
    policy = fields.String()
    actor = fields.String(allow_none=True)
    client_subject = fields.String(allow_none=True)
    status = fields.String()
    version = fields.Integer()
    sends = fields.Method("_sends")
    attachments = fields.Method("_attachments")

    def _attachments(self, n: dict):
        """Named by file name, type and SHA-256 (the bytes stay in the ledger)."""
        keys = ("filename", "content_type", "sha256")
        return [{k: a[k] for k in keys} for a in n.get("attachments") or []]

    def _sends(self, n: dict):
        return SendOut(many=True).dump(list(n["sends"].values()))
