"""Webhooks to integrators, following Standard Webhooks: every event notify follows is journaled
(services/notify/journal.py); each subscription takes the events of its types from the journal in
order, one at a time, through the shared sender: the sender's feeder requests the next delivery
once the one before is settled. A delivery is signed with every secret the subscription signs with
(two during a rotation's overlap) and carries the event's id as `webhook-id`, so a receiver drops
a repeat. Transient failures retry over hours; a delivery that runs out of tries becomes a dead
letter and pauses its subscription, as do several refused in a row; `resume` (optionally with
the dead letters again) and `rewind` (a new round from any journal position) are an admin's."""

import base64
import hashlib
import secrets
from datetime import UTC, datetime
from uuid import NAMESPACE_URL, uuid4, uuid5

from eventsourcing.persistence import IntegrityError
from standardwebhooks import Webhook

from services.notify.journal import Journal
from services.notify.subscriptions import Subscription, WebhookDelivery
from services.notify.targets import allowed, target_problem
from services.notify.webhook_views import WebhookViews
from shared.readmodels import ReadModel
from shared.refusals import Missing, Refused
from shared.sender import Delivery, Outcome

WEBHOOK_IDS = uuid5(NAMESPACE_URL, "https://oms.example/webhooks")
DELIVERY_IDS = uuid5(NAMESPACE_URL, "https://oms.example/webhook-deliveries")
PREFIX = "wh:"  # webhook send ids: wh:<delivery id>:<send number>


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


class Webhooks:
    """Mixin for the notify application."""

    def define_tables(self, metadata) -> None:
        super().define_tables(metadata)
        self.journal = Journal(metadata)
        self.webhook_views = WebhookViews(metadata)

    def project(self, session, recordings) -> None:
        super().project(session, recordings)
        self.webhook_views.project(session, recordings)

    def read_models(self) -> dict:
        views = self.webhook_views
        tables = (views.subscriptions, views.deliveries)
        return {**super().read_models(), "webhooks": ReadModel(tables, lambda: views.rebuild(self))}

    # -- the journal: every event of every upstream ---------------------------------------------
    def bound_names(self, upstream: str) -> list[str]:
        return ["#"]

    def reacts_to(self, event_type: str) -> bool:
        return True

    def react(self, envelope: dict) -> list:
        with self.transaction() as session:
            self.lock_log(session)  # the log first, then the journal: one lock order
            # as journaled: the plain details of a client forgotten already are scrubbed
            envelope = self.journal.append(session, envelope)
            self.prompt_on_commit()  # the sender feeds the subscriptions that take it
        return super().react(envelope)

    # -- what admins do --------------------------------------------------------------------------
    def create_webhook(self, given: dict, actor: str, key: str | None) -> Subscription:
        problem = target_problem(given["url"], allowed(self.settings.webhook_allow))
        if problem:
            raise Refused(problem, "bad_target", field="url")
        subscription_id = uuid5(WEBHOOK_IDS, key) if key else uuid4()
        if self.exists(subscription_id):
            return self.get(subscription_id, "webhook")
        start = given.get("start")
        end = self.journal.end(self.engine)
        position = end if start is None else self.before(start, "start")
        subscription = Subscription(
            id=subscription_id,
            url=given["url"],
            event_types=given["event_types"],
            secret=new_secret(),
            description=given.get("description") or "",
            position=position,
            created_by=actor,
        )
        try:
            self.save(subscription)
        except IntegrityError:  # the same key, at the same moment
            return self.get(subscription_id, "webhook")
        return subscription

    def rotate_webhook(self, subscription_id: str, overlap: float | None, actor: str):
        overlap = self.settings.webhook_rotation_overlap_seconds if overlap is None else overlap
        secret = new_secret()

        def command():
            subscription = self.get(subscription_id, "webhook")
            subscription.rotate(secret, datetime.now(UTC).timestamp(), overlap, actor)
            self.save(subscription)
            return subscription

        return self.retrying(command)

    def rewind_webhook(self, subscription_id: str, start, actor: str) -> Subscription:
        """Deliver again from `start`: a journal position, an event id or an ISO time."""
        position = self.before(start)

        def command():
            subscription = self.get(subscription_id, "webhook")
            subscription.rewind(position, actor)
            self.save(subscription, *self._dropped(subscription_id, "rewound"))
            return subscription

        return self.retrying(command)

    def resume_webhook(self, subscription_id: str, redeliver: bool, actor: str) -> Subscription:
        def command():
            subscription = self.get(subscription_id, "webhook")
            subscription.resume(actor, redeliver)
            self.save(subscription)
            return subscription

        return self.retrying(command)

    def remove_webhook(self, subscription_id: str, actor: str) -> Subscription:
        def command():
            subscription = self.get(subscription_id, "webhook")
            subscription.remove(actor)
            self.save(subscription, *self._dropped(subscription_id, "removed"))
            return subscription

        return self.retrying(command)

    def _dropped(self, subscription_id: str, why: str) -> list:
        dropped = []
        for delivery_id in self.webhook_views.pending_ids(self.engine, subscription_id):
            delivery = self.get(delivery_id, "webhook delivery")
            delivery.drop(why)
            dropped.append(delivery)
        return dropped

    def before(self, start, field: str = "position") -> int:
        """The journal position just before `start` (a position from 1, an event id such as
        `orders:12`, or an ISO 8601 time): a subscription there delivers `start` next."""
        end = self.journal.end(self.engine)
        if isinstance(start, int):
            if start > end + 1:
                raise Refused(f"the journal ends at {end}", "bad_position", field=field)
            return max(start - 1, 0)
        if ":" in start and not start[:4].isdigit():
            position = self.journal.position_of(self.engine, start)
            if position is None:
                raise Missing(f"event {start} is not in the journal", event_id=start)
            return position - 1
        first = self.journal.first_since(self.engine, _iso(start, field))
        return end if first is None else first - 1

    # -- reading ---------------------------------------------------------------------------------
    def webhooks(self) -> list[dict]:
        return self.webhook_views.listed(self.engine)

    def webhook(self, subscription_id: str) -> dict:
        rows = self.webhook_views.listed(self.engine, subscription_id)
        if not rows:
            raise Missing(f"webhook {subscription_id} not found", id=subscription_id)
        return rows[0]

    def webhook_deliveries(self, subscription_id: str, status: str | None, limit: int):
        self.webhook(subscription_id)
        return self.webhook_views.of(self.engine, subscription_id, status, limit)

    def journal_end(self) -> dict:
        return {"start": self.journal.start(self.engine), "end": self.journal.end(self.engine)}

    # -- the sender's side -----------------------------------------------------------------------
    def feed_sends(self) -> None:
        """Request the next delivery of every active subscription with none under way: its
        first queued dead letter, else the next journal entry of its types."""
        views, engine = self.webhook_views, self.engine
        for sub in views.active(engine):
            if views.next_of(engine, sub["id"], "pending") is not None:
                continue
            queued = views.next_of(engine, sub["id"], "queued")
            if queued is not None:
                delivery = self.get(queued["id"], "webhook delivery")
                delivery.redeliver()
                self.save(delivery)
                continue
            entry = self.journal.next_for(engine, sub["position"], sub["event_types"])
            if entry is None:
                continue
            seq, event_id, event_type = entry
            delivery_id = uuid5(DELIVERY_IDS, f"{sub['id']}:{sub['round']}:{seq}")
            try:
                self.save(
                    WebhookDelivery(
                        id=delivery_id,
                        subscription_id=sub["id"],
                        round=sub["round"],
                        seq=seq,
                        event_id=event_id,
                        event_type=event_type,
                        send_id=f"{PREFIX}{delivery_id}:1",
                        channel="webhook",
                    )
                )
            except IntegrityError:  # requested already (a sender that led before this one)
                continue

    def webhook_delivery(self, send_id: str) -> Delivery | None:
        delivery = self.get(send_id.split(":")[1], "webhook delivery")
        if delivery.status != "pending" or delivery.send_id != send_id:
            return None
        subscription = self.get(delivery.subscription_id, "webhook")
        stale = delivery.sends == 1 and delivery.round != subscription.round
        if subscription.status == "removed" or stale:  # rewound or removed since it was fed
            delivery.drop("rewound" if stale else "removed")
            self.save(delivery)
            return None
        body = self.journal.envelope(self.engine, delivery.seq)
        now = datetime.now(UTC)
        signatures = " ".join(
            Webhook(secret).sign(delivery.event_id, now, body)
            for secret in subscription.signing_secrets(now.timestamp())
        )
        headers = {
            "webhook-id": delivery.event_id,
            "webhook-timestamp": str(int(now.timestamp())),
            "webhook-signature": signatures,
            "content-type": "application/json",
        }
        attempt = 1 + sum(a["send_id"] == send_id for a in delivery.attempts)
        content = {"url": subscription.url, "body": body, "headers": headers}
        return Delivery(send_id, attempt, "webhook", subscription.url, content)

    def record_webhook_attempt(self, delivery: Delivery, outcome: Outcome) -> None:
        def command():
            d = self.get(delivery.send_id.split(":")[1], "webhook delivery")
            tried = sum(a["send_id"] == delivery.send_id for a in d.attempts)
            if d.status != "pending" or d.send_id != delivery.send_id or tried >= delivery.attempt:
                return  # recorded already (by a sender that led before this one)
            content = delivery.content
            request = {
                "url": content["url"],
                "headers": {k: v for k, v in content["headers"].items()},
                "body_sha256": hashlib.sha256(content["body"].encode()).hexdigest(),
            }
            at = datetime.now(UTC).isoformat()
            d.record_attempt(
                delivery.send_id,
                delivery.attempt,
                outcome.status,
                outcome.answer,
                request,
                at,
                outcome.retry_at,
            )
            changed = [d]
            if outcome.status == "failed":
                subscription = self.get(d.subscription_id, "webhook")
                reason = self._pause_reason(d, outcome)
                if reason is not None:
                    subscription.pause(reason)
                    changed.append(subscription)
            self.save(*changed)

        self.retrying(command)

    def _pause_reason(self, delivery: WebhookDelivery, outcome: Outcome) -> str | None:
        """Why a subscription stops after this dead letter, or None: its endpoint ran out of
        retries, or refused too many events in a row."""
        if outcome.gave_up:
            return f"{delivery.event_id} failed for good: {outcome.answer}"
        limit = self.settings.webhook_pause_after
        before = self.webhook_views.dead_in_a_row(self.engine, delivery.subscription_id, limit)
        if before + 1 >= limit:
            return f"{before + 1} events refused in a row; the last, {delivery.event_id}: {outcome.answer}"
        return None


def _iso(text: str, field: str) -> str:
    """An ISO 8601 time as the journal writes them (UTC, `+00:00`)."""
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise Refused(
            f"{text!r} is neither a position, an event id nor an ISO 8601 time",
            "bad_position",
            field=field,
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat()
