"""The ordered follower: consumes one upstream's events in notification order, exactly once.

One durable queue per (consumer, upstream), bound to all the upstream's events, read by one
greenthread. Each reaction is saved with its tracking record in one transaction, so a duplicate is a
no-op. A gap in the sequence, a (re)start or an idle spell makes it pull the missing events from
the upstream's own log over RPC (`<upstream>.events_after`): the upstream's store is the truth.
"""

import eventlet
from eventsourcing.persistence import IntegrityError, Tracking
from kombu import Connection, Queue
from marshmallow import ValidationError
from nameko.standalone.rpc import ClusterRpcProxy

from shared import context, faults
from shared import logging as oms_logging
from shared.envelope import EnvelopeSchema, service_of
from shared.relay import event_exchange

log = oms_logging.get("follower")
PULL_LIMIT = 200


def queue_for(consumer: str, upstream: str) -> Queue:
    return Queue(
        f"{consumer}.from.{upstream}",
        exchange=event_exchange(upstream),
        routing_key="#",
        durable=True,
        auto_delete=False,
    )


class Follower:
    def __init__(
        self,
        app,
        parking,
        upstream: str,
        amqp_uri: str,
        *,
        poll_seconds: float,
        attempts: int,
        backoff: float,
        rpc_timeout: float,
    ):
        self.app, self.parking, self.upstream, self.amqp_uri = app, parking, upstream, amqp_uri
        self.poll_seconds, self.attempts, self.backoff = poll_seconds, attempts, backoff
        self.rpc_timeout = rpc_timeout
        self.queue = queue_for(app.service, upstream)
        self.position = 0
        self._stopping = False
        self._rpc = None

    def stop(self) -> None:
        self._stopping = True

    def run(self) -> None:
        backoff = 0.2
        while not self._stopping:
            try:
                self._follow()
                backoff = 0.2
            except Exception as exc:  # noqa: BLE001 - broker, upstream or store away: wait, reconnect
                log.warning(
                    "follower_failed", upstream=self.upstream, error=repr(exc), retry_in=backoff
                )
                eventlet.sleep(backoff)
                backoff = min(backoff * 2, 5.0)

    def _follow(self) -> None:
        config = {"AMQP_URI": self.amqp_uri}
        with (
            ClusterRpcProxy(config, timeout=self.rpc_timeout) as rpc,
            Connection(self.amqp_uri) as conn,
        ):
            self._rpc = rpc
            self.position = self.app.tracked_position(self.upstream)
            with conn.Consumer(
                self.queue, callbacks=[self._on_message], accept=["json"], prefetch_count=100
            ):
                self.catch_up()
                while not self._stopping:
                    try:
                        conn.drain_events(timeout=self.poll_seconds)
                    except TimeoutError:
                        self.catch_up()

    def _on_message(self, body, message) -> None:
        try:
            env = EnvelopeSchema().load(body)
        except (ValidationError, TypeError) as exc:
            log.error(
                "malformed_event_dropped",
                upstream=self.upstream,
                error=str(exc),
                body=str(body)[:500],
            )
            message.ack()
            return
        if service_of(env) != self.upstream:
            message.ack()
            return
        sequence = env["sequence"]
        if sequence > self.position + 1:
            self.catch_up()  # a gap: the upstream's log, not this message, is the truth
        elif sequence == self.position + 1:
            self.process(env)
        message.ack()

    def catch_up(self) -> int:
        """Pull and process everything after the tracked position; return how many events."""
        done = 0
        while not self._stopping:
            batch = getattr(self._rpc, self.upstream).events_after(self.position, PULL_LIMIT)
            for env in batch:
                if env["sequence"] > self.position:
                    self.process(env)
                    done += 1
            if len(batch) < PULL_LIMIT:
                break
        return done

    def process(self, env: dict) -> None:
        tracking = Tracking(self.upstream, env["sequence"])
        with context.bound(correlation_id=env["correlationid"], causation_id=env["id"]):
            error = None
            for attempt in range(1, self.attempts + 1):
                try:
                    faults.fail_reaction(env["subject"])
                    self.app.handle(env, tracking)
                    break
                except IntegrityError as exc:
                    if self.app.tracked_position(self.upstream) >= tracking.notification_id:
                        break  # another worker recorded it first
                    error = exc
                except Exception as exc:  # noqa: BLE001 - any failing reaction is retried, then parked
                    error = exc
                log.warning(
                    "reaction_failed", event_id=env["id"], attempt=attempt, error=repr(error)
                )
                eventlet.sleep(self.backoff * 2 ** (attempt - 1))
            else:
                log.error("reaction_parked", event_id=env["id"], error=repr(error))
                self.parking.park(env, tracking, error, self.attempts)
        self.position = tracking.notification_id
        eventlet.sleep(0)  # SQLite calls never yield: let RPC workers in between events
