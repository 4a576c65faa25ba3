"""Webhook aggregates: a `Subscription` (an integrator's endpoint, the event types it takes, the
secrets that sign for it, where it stands in the journal and whether it is paused) and a
`WebhookDelivery` (one event to one subscription, with every send of it and every attempt).

A subscription's position moves with its deliveries (the read model follows them); rewinding
starts a new *round*, so deliveries of the round before are told apart from the new ones."""

from uuid import UUID

from eventsourcing.domain import Aggregate, event

from shared.refusals import Refused


class Subscription(Aggregate):
    @event("Created")
    def __init__(
        self,
        id: UUID,
        url: str,
        event_types: list[str],
        secret: str,
        description: str,
        position: int,
        created_by: str,
    ):
        self.url = url
        self.event_types = event_types  # `orders.order_accepted`, `billing.*` or `*`
        #: [{"secret", "until"}]: the newest signs; older ones sign too until `until` (epoch s)
        self.secrets = [{"secret": secret, "until": None}]
        self.description = description
        self.position = position  # where its first round starts: deliveries move it on
        self.round = 1
        self.status = "active"  # active | paused | removed
        self.paused_reason: str | None = None
        self.created_by = created_by

    def signing_secrets(self, now: float) -> list[str]:
        return [s["secret"] for s in self.secrets if s["until"] is None or s["until"] > now]

    # -- commands --------------------------------------------------------------------------------
    def rotate(self, secret: str, now: float, overlap: float, actor: str) -> None:
        """A new secret signs from now on; the ones before still sign for `overlap` seconds at
        most (0: a leaked secret stops at once)."""
        self._check_present()
        self._rotate(secret=secret, now=now, previous_until=now + overlap, actor=actor)

    @event("SecretRotated")
    def _rotate(self, secret: str, now: float, previous_until: float, actor: str) -> None:
        older = [
            dict(s, until=min(s["until"] or previous_until, previous_until)) for s in self.secrets
        ]
        self.secrets = [{"secret": secret, "until": None}] + [s for s in older if s["until"] > now]

    def rewind(self, position: int, actor: str) -> None:
        self._check_present()
        if position < 0:
            raise Refused("a position is 0 or more", "bad_position", field="position")
        self._rewind(position=position, round=self.round + 1, actor=actor)

    @event("Rewound")
    def _rewind(self, position: int, round: int, actor: str) -> None:
        self.position, self.round = position, round

    def pause(self, reason: str) -> None:
        if self.status == "active":
            self._pause(reason=reason)

    @event("Paused")
    def _pause(self, reason: str) -> None:
        self.status, self.paused_reason = "paused", reason

    def resume(self, actor: str, redeliver: bool) -> None:
        """Active again; with `redeliver`, its dead letters go out again first, in log order."""
        self._check_present()
        if self.status == "active" and not redeliver:
            raise Refused("the subscription is not paused", "not_paused")
        self._resume(actor=actor, redeliver=redeliver)

    @event("Resumed")
    def _resume(self, actor: str, redeliver: bool) -> None:
        self.status, self.paused_reason = "active", None

    def remove(self, actor: str) -> None:
        self._check_present()
        self._remove(actor=actor)

    @event("Removed")
    def _remove(self, actor: str) -> None:
        self.status = "removed"

    def _check_present(self) -> None:
        if self.status == "removed":
            raise Refused("the subscription was removed", "subscription_removed")


class WebhookDelivery(Aggregate):
    """One journal entry for one subscription in one round; `sends` are its tries to deliver it
    (the first, and one more per redelivery of it as a dead letter)."""

    @event("Requested")
    def __init__(
        self,
        id: UUID,
        subscription_id: str,
        round: int,
        seq: int,
        event_id: str,
        event_type: str,
        send_id: str,
        channel: str,
    ):
        self.subscription_id = subscription_id
        self.round, self.seq = round, seq
        self.event_id, self.event_type = event_id, event_type
        self.send_id = send_id  # the send under way or last settled
        self.sends = 1
        self.attempts: list[dict] = []
        self.status = "pending"  # pending | delivered | dead | dropped

    def redeliver(self) -> None:
        if self.status != "dead":
            raise Refused("only a dead letter is delivered again", "not_a_dead_letter")
        send_id = f"{self.send_id.rsplit(':', 1)[0]}:{self.sends + 1}"
        self._redeliver(send_id=send_id, channel="webhook")

    @event("Requeued")
    def _redeliver(self, send_id: str, channel: str) -> None:
        self.send_id, self.sends, self.status = send_id, self.sends + 1, "pending"

    @event("Attempted")
    def record_attempt(
        self,
        send_id: str,
        attempt: int,
        outcome: str,
        answer: str,
        request: dict,
        at: str,
        retry_at: float | None,
    ) -> None:
        self.attempts.append(
            {
                "send_id": send_id,
                "attempt": attempt,
                "outcome": outcome,
                "answer": answer,
                "request": request,
                "at": at,
            }  # fmt: skip
        )
        self.status = {"sent": "delivered", "failed": "dead"}.get(outcome, "pending")

    def drop(self, why: str) -> None:
        if self.status == "pending":
            self._drop(send_id=self.send_id, why=why, dropped=True)

    @event("Dropped")
    def _drop(self, send_id: str, why: str, dropped: bool) -> None:
        self.status = "dropped"
