"""Notify use cases: every status event a template covers becomes a notification, sent at once,
left for an operator or kept unsent by its event type's policy; operators send, resend and write
their own messages; the shared sender delivers them and every attempt is recorded. A client's
details stay sealed as they came; they are opened only to send or show a message
(services/notify/sealed.py, sending.py)."""

from uuid import NAMESPACE_URL, uuid4, uuid5

from services.notify.domain import POLICIES, Notification, Policies, TrackingAccess
from services.notify.forgetting import Forgetting
from services.notify.publishing import PUBLISHED
from services.notify.sealed import Blanks, client_subject_of, forgotten_in, shown
from services.notify.sending import Sending
from services.notify.subscriptions import WebhookDelivery
from services.notify.templates import Templates
from services.notify.tracking import TrackingLinks
from services.notify.webhooks import Webhooks
from shared import context
from shared.links import CourierLinks
from shared.outbox import Sends
from shared.personal import client_subject, seal_client
from shared.readmodels import OrderIndexed
from shared.refusals import Missing, Refused
from shared.sealing import seal
from shared.store import ServiceApplication

NOTIFICATION_IDS = uuid5(NAMESPACE_URL, "https://oms.example/notifications")
MESSAGE_IDS = uuid5(NAMESPACE_URL, "https://oms.example/messages")
TRACKING_IDS = uuid5(NAMESPACE_URL, "https://oms.example/tracking")
POLICIES_ID = uuid5(NAMESPACE_URL, "https://oms.example/notify-policies")
EVENT_TYPES = Templates().event_types  # what the built-in templates cover: the queues' bindings


class NotifyApplication(Forgetting, Sending, Webhooks, Sends, OrderIndexed, ServiceApplication):
    service = "notify"
    follows = ("orders", "billing", "production", "fulfilment")
    published = PUBLISHED
    reactions = {
        **{kind: "_queue_notification" for kind in sorted(EVENT_TYPES)},
        "orders.client_forgotten": "_forget_client",
    }
    send_requested = (
        Notification.SendRequested,
        WebhookDelivery.Requested,
        WebhookDelivery.Requeued,
    )
    send_attempted = (Notification.Attempted, WebhookDelivery.Attempted)
    send_moved = (WebhookDelivery.Dropped,)

    def __init__(self, url: str, settings=None):
        super().__init__(url, settings)
        s = self.settings
        self.templates = Templates(s.notify_language, s.notify_templates or None)
        self.links = TrackingLinks(s)
        self.courier_links = CourierLinks(s)
        self.mail_domain = s.mail_from.rsplit("@", 1)[-1].rstrip(">").strip() or "localhost"

    # -- the policy on upstream events ------------------------------------------------------------
    def _queue_notification(self, envelope: dict) -> list:
        """One notification per message written about the event — to its client or operations,
        and to the others a template names (`type@audience`) — none new on a replay."""
        kind, data = envelope["type"], envelope["data"]
        if "run_id" in data:  # an own courier's delivery: its link is made here, not carried
            data = dict(data, courier_link=self.courier_links.url(
                data["run_id"], data["generation"], data["expires"]))  # fmt: skip
        made = []
        for key in self.templates.variants(kind):
            suffix = key.partition("@")[2]
            notification_id = uuid5(NOTIFICATION_IDS, f"{envelope['id']}@{suffix}" if suffix
                                    else envelope["id"])  # fmt: skip
            if self.templates.covers(key, data) and not self.exists(notification_id):
                made.append(self._notification(notification_id, key, envelope, data))
        return [n for n in made if n is not None]

    def _notification(self, notification_id, key: str, envelope: dict, data: dict):
        kind, client = envelope["type"], data.get("client") or {}
        order_id = data.get("order_id")
        link = self.tracking_url(order_id) if order_id else None
        blanks = Blanks(data)  # written without opening anything: sealed values left blank
        rendered = self.templates.render(key, blanks.data, client.get("language"), link)
        recipient, phone = self._audience(rendered, data, client)
        if rendered.channel == "sms" and not phone:
            return None  # written for SMS, to someone without a number
        policy = self.policy_of(kind)
        notification = Notification(
            id=notification_id,
            order_id=order_id,
            source_event=envelope["id"],
            event_type=kind,
            recipient=recipient,
            channel=rendered.channel,
            subject=rendered.subject,
            body=rendered.text,
            phone=phone,
            language=rendered.language,
            html=rendered.html,
            sms=rendered.sms,
            about={
                "service": envelope["source"],
                "id": envelope.get("subject"),
                "version": data.get("version"),
                "event": envelope["id"],
            },
            policy=policy,
            attachments=[data["document"]]
            if rendered.to_recipient and data.get("document")
            else None,
            personal=blanks.kept(rendered.subject, rendered.text, rendered.html, rendered.sms),
            client_subject=client_subject_of(data),
        )
        if policy == "auto":
            how = rendered.channel
            notification.request_send(how, self._default_recipient(notification, how), None, False)
        return notification

    def _audience(self, rendered, data: dict, client: dict) -> tuple:
        """(e-mail address, phone) of whom the message is for (a client's: sealed)."""
        if rendered.to_courier:
            return data["courier"]["email"], data["courier"]["phone"]
        if rendered.to_recipient:
            return data["recipient"], None
        if rendered.to_operations or not client.get("email"):
            return self.settings.ops_email, None if rendered.to_operations else client.get("phone")
        return client["email"], client.get("phone")

    # -- what operators do ------------------------------------------------------------------------
    def send(self, notification_id: str, actor: str) -> Notification:
        self._check_reachable(self.get(notification_id, "notification"))

        def command():
            n = self.get(notification_id, "notification")
            n.request_send(n.channel, self._default_recipient(n, n.channel), actor, resend=False)
            self.save(n)
            return n

        return self.retrying(command, replay=lambda: self.get(notification_id))

    def resend(self, notification_id: str, actor: str, recipient=None, channel=None):
        """Again, to its recipient or to `recipient` — sealed with the client's key when what
        the notification keeps of its client is sealed (an operator's address for the client
        is the client's too)."""
        sealing = self._check_reachable(self.get(notification_id, "notification"))
        if recipient is not None and sealing is not None:
            recipient = seal(sealing[1], sealing[0], recipient)

        def command():
            n = self.get(notification_id, "notification")
            how = channel or (list(n.sends.values())[-1]["channel"] if n.sends else n.channel)
            n.request_send(how, recipient or self._default_recipient(n, how), actor, resend=True)
            self.save(n)
            return n

        return self.retrying(command, replay=lambda: self.get(notification_id))

    def message_client(self, order: dict, channel: str, subject: str, body: str, actor: str):
        """An operator's message to the order's client (`order` as orders shows it: opened),
        kept and sent like the others: the client's details are sealed again with its key
        before they are kept. The request identity names it, so a redelivered call writes it
        once."""
        request = (
            context.current().get("causation_id") if context.current().get("request_id") else None
        )
        notification_id = uuid5(MESSAGE_IDS, request) if request else uuid4()
        client = order["client"]
        if forgotten_in(client.get("email"), client.get("name")):
            raise Refused("the order's client was forgotten: no message can reach them",
                          "client_forgotten")  # fmt: skip
        who = client.get("subject") or client_subject(client.get("code"), order["id"])
        key = self.keyring.keys([who]).get(who)  # none: a client named before sealing
        client = seal_client(client, key, who) if key else client
        blanks = Blanks({**order, "client": client})

        def command():
            link = self.tracking_url(order["id"])
            language = client.get("language")
            rendered = self.templates.message(subject, body, blanks.data, language, link)
            n = Notification(
                id=notification_id,
                order_id=order["id"],
                source_event=f"message:{notification_id}",
                event_type="notify.message",
                recipient=client["email"],
                channel=channel,
                subject=rendered.subject,
                body=rendered.text,
                phone=client.get("phone"),
                language=rendered.language,
                html=rendered.html,
                sms=rendered.sms,
                about={
                    "service": "orders",
                    "id": order["id"],
                    "version": order.get("version"),
                },
                policy="manual",
                actor=actor,
                personal=blanks.kept(rendered.subject, rendered.text, rendered.html, rendered.sms),
                client_subject=who,
            )
            n.request_send(channel, self._default_recipient(n, channel), actor, resend=False)
            self.save(n)
            return n

        return self.retrying(command, replay=lambda: self.get(notification_id))

    def _default_recipient(self, n: Notification, channel: str):
        if channel == "sms":
            if not n.phone:
                raise Refused(
                    "no phone number is known for this client", "no_phone", field="recipient"
                )
            return n.phone
        return n.recipient

    def shown(self, n: Notification) -> dict:
        """`n` as an RPC answer shows it, the client's details opened (services/notify/sealed)."""
        return shown(n, self.keyring)

    # -- policies -----------------------------------------------------------------------------------
    def policies(self) -> dict:
        default, overrides = self.settings.policy_defaults()
        stored = self._policies().policies if self.exists(POLICIES_ID) else {}
        return {
            kind: stored.get(kind) or {"policy": overrides.get(kind, default), "set_by": None}
            for kind in sorted(self.templates.event_types)
        }

    def policy_of(self, event_type: str) -> str:
        return self.policies().get(event_type, {}).get("policy", "auto")

    def set_policy(self, event_type: str, policy: str, actor: str) -> dict:
        if event_type not in self.templates.event_types:
            raise Missing(f"no messages are written for {event_type}", event_type=event_type)
        if policy not in POLICIES:
            raise Refused(f"{policy!r} is not a policy", "unknown_policy", field="policy")

        def command():
            policies = self._policies() if self.exists(POLICIES_ID) else Policies(id=POLICIES_ID)
            policies.set_policy(event_type, policy, actor)
            self.save(policies)

        self.retrying(command)
        return {"event_type": event_type, **self.policies()[event_type]}

    def _policies(self) -> Policies:
        return self.repository.get(POLICIES_ID)

    # -- tracking links ---------------------------------------------------------------------------
    def generation(self, order_id: str) -> int:
        access_id = uuid5(TRACKING_IDS, str(order_id))
        return self.repository.get(access_id).generation if self.exists(access_id) else 1

    def tracking_url(self, order_id: str) -> str:
        return self.links.url(order_id, self.generation(order_id))

    def revoke_tracking(self, order_id: str, actor: str, reason: str) -> str:
        access_id = uuid5(TRACKING_IDS, str(order_id))

        def command():
            access = (
                self.repository.get(access_id)
                if self.exists(access_id)
                else TrackingAccess(id=access_id, order_id=str(order_id))
            )
            access.revoke(actor, reason)
            self.save(access)

        self.retrying(command)
        return self.tracking_url(order_id)

    def resolve_tracking(self, token: str) -> str:
        """The order a live token opens (else Missing: tampered, unknown key or revoked)."""
        read = self.links.read(token)
        if read is None or read[1] != self.generation(read[0]):
            raise Missing("no such tracking link", token="…")
        return read[0]

    # -- the sender's side (services/notify/sending.py) --------------------------------------------
    def sends(self, status: str | None) -> list[dict]:
        """The outbox: sends by status (pending, sent, failed; None: all), newest first."""
        return self.outbox.entries(self.engine, status)
