"""The notify service: a notification for every status event of the other services, sent by
e-mail or SMS through the shared sender as each event type's policy says; operators send, resend
and write to clients; admins set the policies; every client message links to the order's
tracking page. Examples in docs/notify.md."""

from services.notify.application import NotifyApplication
from services.notify.channels import Email, Sms, Webhook
from services.notify.schemas import (
    MessageIn,
    NotificationOut,
    PolicyIn,
    ResendIn,
    SendsIn,
    check_recipient,
)
from services.notify.webhook_service import WebhookRpc
from shared.errors import ValidationFailed
from shared.log_rpc import EventLogRpc
from shared.rpc import RpcProxy
from shared.service import EventSourced, check_id, command, who
from shared.validation import load, reason_of


def channels(settings) -> dict:
    return {"email": Email(settings), "sms": Sms(settings), "webhook": Webhook(settings)}


class NotifyService(EventLogRpc, WebhookRpc):
    name = "notify"
    app = EventSourced(NotifyApplication, channels)
    orders = RpcProxy("orders")

    @command
    def notifications_for_order(self, order_id):
        """`[{"event_type": "orders.order_accepted", "recipient": "ada@example.com", "status":
        "sent", "sends": [{"attempts": [{"outcome": "sent", "answer": "250 OK", …}]}], …}]`."""
        check_id(order_id=order_id)
        return NotificationOut(many=True).dump(
            [self.app.shown(n) for n in self.app.for_order(order_id)]
        )

    @command
    def get_notification(self, notification_id):
        """One notification with every send and attempt (the ledger)."""
        check_id(notification_id=notification_id)
        return NotificationOut().dump(self.app.shown(self.app.get(notification_id, "notification")))

    @command
    def send_notification(self, notification_id):
        """Send a notification waiting for an operator (policy `manual`, or `off`)."""
        check_id(notification_id=notification_id)
        return NotificationOut().dump(
            self.app.shown(self.app.send(notification_id, who("operator")))
        )

    @command
    def resend_notification(self, notification_id, recipient=None, channel=None):
        """Send it again, to its recipient or another, by e-mail or SMS:
        `resend_notification(id, recipient="+48600100200", channel="sms")`."""
        check_id(notification_id=notification_id)
        given = load(ResendIn, {"recipient": recipient, "channel": channel}, "resend")
        recipient = check_recipient(given["channel"] or "email", given["recipient"])
        actor = who("operator")
        n = self.app.resend(notification_id, actor, recipient, given["channel"])
        return NotificationOut().dump(self.app.shown(n))

    @command
    def message_client(self, order_id, channel, subject, body):
        """An operator's own message to the order's client: `message_client(order_id, "email",
        "Your proof", "The proof is ready for you to check.")`; kept and sent like the others."""
        check_id(order_id=order_id)
        given = load(MessageIn, {"channel": channel, "subject": subject, "body": body}, "message")
        actor = who("operator")
        order = self.orders.get_order(order_id)
        if given["channel"] == "sms" and not order["client"].get("phone"):
            raise ValidationFailed("no phone", {"channel": ["The client gave no phone number."]})
        n = self.app.message_client(order, given["channel"], given["subject"], given["body"], actor)
        return NotificationOut().dump(self.app.shown(n))

    @command
    def outbox(self, status=None):
        """The sends by status (`pending`, `sent`, `failed`; null: all), newest first:
        `[{"send_id": "…:1", "channel": "email", "status": "pending", "attempts": 2,
        "due_at": 1764720000.0, "answer": "451 try later"}]`."""
        return self.app.sends(load(SendsIn, {"status": status}, "query")["status"])

    @command
    def rebuild_read_model(self):
        """Empty the outbox and the webhooks' tables and write them again from the whole log:
        `{"sends": n, "webhooks": n}`."""
        who("admin")
        return {
            "sends": self.app.rebuild_outbox(),
            "webhooks": self.app.webhook_views.rebuild(self.app),
        }

    @command
    def policies(self):
        """Each event type's policy: `{"orders.order_placed": {"policy": "auto", "set_by": null}}`."""
        who("operator")
        return self.app.policies()

    @command
    def set_policy(self, event_type, policy):
        """`set_policy("orders.order_placed", "manual")` (admins): auto sends at once, manual waits
        for an operator, off keeps it unsent."""
        given = load(PolicyIn, {"event_type": event_type, "policy": policy}, "policy")
        return self.app.set_policy(given["event_type"], given["policy"], who("admin"))

    @command
    def tracking_link(self, order_id):
        """The order's tracking page as its client sees it ("see as client"):
        `{"order_id": …, "url": "http://…/track/a.Yq….1.Xc…"}`."""
        check_id(order_id=order_id)
        who("operator")
        order = self.orders.get_order(order_id)
        return {"order_id": order["id"], "url": self.app.tracking_url(order["id"])}

    @command
    def revoke_tracking(self, order_id, reason):
        """Every link to the order's tracking page stops working; answers the new link."""
        check_id(order_id=order_id)
        reason, actor = reason_of(reason), who("operator")
        order = self.orders.get_order(order_id)
        return {
            "order_id": order["id"],
            "url": self.app.revoke_tracking(order["id"], actor, reason),
        }

    @command
    def resolve_tracking(self, token):
        """The order a tracking token opens (the gateway's tracking page): `{"order_id": …}`;
        NotFound for a tampered, unknown or revoked one."""
        who("storefront")
        if not isinstance(token, str):
            raise ValidationFailed("invalid token", {"token": ["Must be a string."]})
        return {"order_id": self.app.resolve_tracking(token)}
