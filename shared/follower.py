"""The ordered follower: consumes one upstream's events in notification order, exactly once.

One durable queue per (consumer, upstream), bound to the event names the consumer reacts to, read
by one greenthread. Reactions are saved with their tracking record in one transaction, so a
duplicate is a no-op: what the queue holds is taken in batches (up to `follower_batch` events, one
transaction, one tracking record; events nothing reacts to cost no transaction of their own), and
a batch that fails is done again one event at a time, with retries and parking. A gap makes it
pull the missing events from the upstream's own log over RPC (`<upstream>.events_page`), as do a
(re)start and an idle spell: the upstream's store is the truth. The relay stamps each envelope
with what it published before, in all and of each name (`previoussequence`, `previousbytype`), so
the events between two received ones that the queue is not bound to, or that are private to the
upstream, are no gap. An event about an aggregate with a parked event waits behind it
(shared/parking.py).
"""

import time

import eventlet
from eventsourcing.persistence import IntegrityError, Tracking
from kombu import Connection, Queue, binding
from marshmallow import ValidationError
from nameko.exceptions import UnknownService
from nameko.standalone.rpc import ClusterRpcProxy

from shared import cloudevents, context, faults, metrics
from shared import logging as oms_logging
from shared.envelope import EnvelopeSchema, service_of
from shared.relay import event_exchange
from shared.settings import Settings
from shared.store import STORE_DOWN
from shared.watchdog import Stuck, Watched

log = oms_logging.get("follower")
TRACK_AFTER = 0.2  # seconds of quiet before a follower records a position no reaction recorded
ENVELOPE = EnvelopeSchema()


def queue_for(consumer: str, upstream: str, names=("#",)) -> Queue:
    """The durable queue of a (consumer, upstream) pair, bound to the event names it reacts to.
    Its name must start with `<consumer>.from.`: the consumer's broker user may use no other
    (oms/broker_users.py)."""
    exchange = event_exchange(upstream, passive=True)
    return Queue(
        f"{consumer}.from.{upstream}",
        exchange=exchange,
        bindings=[binding(exchange, routing_key=name) for name in names],
        durable=True,
        auto_delete=False,
    )


class Follower:
    def __init__(self, app, upstream: str, settings: Settings):
        self.app, self.parking, self.upstream = app, app.parking, upstream
        self.amqp_uri, self.settings = settings.amqp_uri, settings
        # the names of the upstream's events this service reacts to: its queue receives those
        # only; the rest it reads from the upstream's log when it catches up, and ignores
        self.names = app.bound_names(upstream)
        self.queue = queue_for(app.service, upstream, self.names)
        self.position = 0  # reached: every event up to here is done
        self.seen = 0  # the furthest upstream position it has heard of (for its lag)
        self._tracked = 0  # recorded in the store (less while ignored events wait for a record)
        self._stopping = False
        self._rpc = None
        self._active_at = 0.0  # when a message or a pull last came
        self._pending: list[tuple[dict, object]] = []  # (envelope, message) drained, not yet done
        # the longest a healthy loop goes without a beat: a pull per page, a wait per poll
        stuck = 2 * (settings.rpc_timeout + settings.follower_poll_seconds) + 10
        self.watchdog = Watched(f"follower {app.service} <- {upstream}", stuck)

    def stop(self) -> None:
        self._stopping = True

    def run(self) -> None:
        backoff = 0.2
        while not self._stopping:
            try:
                self.watchdog.run(self._follow)
                backoff = 0.2
            except Stuck:
                backoff = 0.2  # killed while blocked on a dead connection: start again at once
            except UnknownService:  # the upstream is not running (yet): it starts beside us
                log.info("upstream_not_running", upstream=self.upstream, retry_in=backoff)
                eventlet.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
            except Exception as exc:  # noqa: BLE001 - broker, upstream or store away: wait, reconnect
                log.warning(
                    "follower_failed", upstream=self.upstream, error=repr(exc), retry_in=backoff
                )
                eventlet.sleep(backoff)
                backoff = min(backoff * 2, 5.0)

    def _follow(self) -> None:
        ssl = self.settings.amqp_ssl()
        config = {"AMQP_URI": self.amqp_uri, "AMQP_SSL": ssl}
        with (
            ClusterRpcProxy(config, timeout=self.settings.rpc_timeout) as rpc,
            Connection(self.amqp_uri, heartbeat=self.settings.heartbeat, ssl=ssl) as conn,
        ):
            self._rpc = rpc
            self.position = self._tracked = self.app.tracked_position(self.upstream)
            self._pending = []  # unacked messages of a lost connection come again
            prefetch = max(100, 2 * self.settings.follower_batch)
            self._unbind_all(conn)
            with conn.Consumer(
                self.queue,
                on_message=self._on_raw_message,
                accept=cloudevents.ACCEPT,
                prefetch_count=prefetch,
            ):
                self.catch_up()
                self._active_at = time.monotonic()
                while not self._stopping:
                    self.watchdog.beat()
                    try:
                        conn.drain_events(timeout=self._quiet_after())
                    except TimeoutError:
                        pass
                    if self._pending:
                        self._drain_held(conn)
                        self._flush()
                        self._active_at = time.monotonic()
                    else:  # a timeout, or a frame that was no message (a heartbeat)
                        self._when_quiet()
                    conn.heartbeat_check()  # a half-open network shows here

    def _when_quiet(self) -> None:
        """No message for a while: record a position reached without a record, or pull the
        upstream's log (what the queue is not sent, or lost). Timed here, not by the broker's
        silence: heartbeat frames end a wait without a message."""
        quiet = time.monotonic() - self._active_at
        if self._untracked:
            if quiet >= min(TRACK_AFTER, self.settings.follower_poll_seconds):
                self.save_tracking()
        elif quiet >= self.settings.follower_poll_seconds:
            self.catch_up()
            self._active_at = time.monotonic()

    def _unbind_all(self, conn) -> None:
        """A queue declared before followers bound only what they react to is bound to `#`."""
        if "#" not in self.names:
            bound = self.queue(conn.default_channel)
            bound.declare()
            bound.unbind_from(exchange=event_exchange(self.upstream), routing_key="#")

    @property
    def _untracked(self) -> bool:
        return self.position > self._tracked

    def _quiet_after(self) -> float:
        """Seconds to wait for a message: until the next thing to do when quiet."""
        due = self.settings.follower_poll_seconds
        if self._untracked:
            due = min(TRACK_AFTER, due)
        return max(0.01, due - (time.monotonic() - self._active_at))

    def _drain_held(self, conn) -> None:
        """Take what the connection already holds, up to a batch, without waiting for more."""
        while len(self._pending) < self.settings.follower_batch:
            try:
                conn.drain_events(timeout=0)
            except TimeoutError:
                return

    def _on_raw_message(self, message) -> None:
        """Refuse to decode what no relay publishes (too large, not JSON): log it and drop it.
        Nothing is lost: if it stood for a real event, the upstream's log still has it."""
        size = len(message.body or b"")
        if size > self.settings.max_message_bytes:
            log.error("oversized_event_dropped", upstream=self.upstream, size=size)
            message.ack()
            return
        try:
            body = message.decode()
        except Exception as exc:  # noqa: BLE001 - whatever it is, it is not an envelope
            log.error("undecodable_event_dropped", upstream=self.upstream, error=repr(exc)[:300])
            message.ack()
            return
        self._on_message(body, message)

    def _on_message(self, body, message) -> None:
        try:
            env = ENVELOPE.load(body)
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
        self._pending.append((env, message))

    def _flush(self) -> None:
        """Do the drained events in order, in batches; a gap pulls the upstream's log first.
        Messages are acked once what they carried is saved (or was saved before)."""
        pending, self._pending = self._pending, []
        batch: list[dict] = []
        reached = self.position
        for env, _ in pending:
            if env["sequence"] <= reached:
                continue  # done already (redelivered, or pulled from the log)
            if _follows_on(env, reached, self.names):
                batch.append(env)
            else:
                self.process_batch(batch)
                batch = []
                self.catch_up()  # a gap: the upstream's log, not this message, is the truth
            reached = max(self.position, env["sequence"])
        self.process_batch(batch)
        if pending:
            pending[-1][1].ack(multiple=True)  # every earlier delivery on this channel is done

    def catch_up(self) -> int:
        """Pull and process everything after the tracked position; return how many events.

        A page says how far it scanned: a stretch of private (unpublished) events moves the
        tracked position on though it delivered nothing, and a full page is followed by another."""
        done, size = 0, self.settings.follower_batch
        while not self._stopping:
            self.watchdog.beat()
            page = getattr(self._rpc, self.upstream).events_page(
                self.position, self.settings.follower_pull_limit
            )
            events = [env for env in page["events"] if env["sequence"] > self.position]
            for start in range(0, len(events), size):
                self.process_batch(events[start : start + size])
            self.process_batch([], page["scanned_to"])
            done += len(events)
            if not page["more"]:
                break
        return done

    def process_batch(self, envs: list[dict], up_to: int = 0) -> None:
        """Consecutive events (and everything up to `up_to`, private to the upstream) in one
        transaction; if a reaction fails or an event's aggregate is held by a parked one, one by
        one instead, each with its retries and parking."""
        envs = [env for env in envs if env["sequence"] > self.position]
        up_to = max([up_to, *(env["sequence"] for env in envs)])
        if up_to <= self.position:
            return
        self.seen = max(self.seen, up_to)
        metrics.CONSUMED.labels(self.app.service, self.upstream).inc(len(envs))
        if not any(self.app.reacts_to(env["type"]) for env in envs):
            # nothing to save: the tracking record waits for the next reaction or a quiet moment
            # (a crash meanwhile only has these events read again, and ignored again)
            self.position = up_to
            return
        if envs and not any(self.parking.holds(self.upstream, env["subject"]) for env in envs):
            try:
                for env in envs:
                    faults.fail_reaction(env)
                self.app.handle_batch(self.upstream, envs, up_to)
                self.position = self._tracked = up_to
                metrics.reacted(self.app.service, self.upstream, envs)
                eventlet.sleep(0)  # SQLite calls never yield: let RPC workers in between batches
                return
            except STORE_DOWN:
                raise  # an outage is not a poison event: never park it; start over once it ends
            except Exception as exc:  # noqa: BLE001 - sorted out one event at a time below
                log.info(
                    "batch_one_by_one", upstream=self.upstream, events=len(envs), error=repr(exc)
                )
        for env in envs:
            self.process(env)
        if up_to > self.position:
            self.skip_to(up_to)

    def skip_to(self, position: int) -> None:
        """Record that everything up to `position` was seen (the rest of it was private)."""
        try:
            self.app.save_reaction(Tracking(self.upstream, position))
        except IntegrityError:
            pass  # recorded already (a redelivered page)
        self.position = self._tracked = position

    def save_tracking(self) -> None:
        """Record the position reached through events nothing reacted to."""
        if self._untracked:
            self.skip_to(self.position)

    def process(self, env: dict) -> None:
        tracking = Tracking(self.upstream, env["sequence"])
        with context.bound(correlation_id=env["correlationid"], causation_id=env["id"]):
            if self.parking.holds(self.upstream, env["subject"]):
                with self.parking.lock:  # a retry may be releasing this subject right now
                    if self.parking.holds(self.upstream, env["subject"]):
                        self.parking.park_behind(env, tracking)
                    else:
                        self._react(env, tracking)
            else:
                self._react(env, tracking)
        self.position = self._tracked = tracking.notification_id
        eventlet.sleep(0)  # SQLite calls never yield: let RPC workers in between events

    def _react(self, env: dict, tracking: Tracking) -> None:
        """Apply the reaction, retrying with backoff; after the last try, park it."""
        error = None
        for attempt in range(1, self.settings.reaction_attempts + 1):
            try:
                faults.fail_reaction(env)
                self.app.handle(env, tracking)
                metrics.reacted(self.app.service, self.upstream, [env])
                return
            except IntegrityError as exc:
                if self.app.tracked_position(self.upstream) >= tracking.notification_id:
                    return  # another worker recorded it first
                error = exc  # a command changed the aggregate meanwhile: read it again
                log.info("reaction_raced", event_id=env["id"], attempt=attempt)
                continue
            except STORE_DOWN:
                raise  # an outage is not a poison event: never park it; start over once it ends
            except Exception as exc:  # noqa: BLE001 - any failing reaction is retried, then parked
                error = exc
            log.warning("reaction_failed", event_id=env["id"], attempt=attempt, error=repr(error))
            eventlet.sleep(self.settings.reaction_backoff_seconds * 2 ** (attempt - 1))
        self.parking.park(env, tracking, error, self.settings.reaction_attempts)


def _follows_on(env: dict, reached: int, names=("#",)) -> bool:
    """Is nothing this follower receives missing between `reached` and `env`? The relay says what
    it published before this event, of each name (`previousbytype`) and in all
    (`previoussequence`); an envelope without either (an older relay) must be the next one."""
    by_type = cloudevents.read_vector(env.get("previousbytype"))
    if by_type is not None and "#" not in names:
        before = [by_type.get(name, 0) for name in names]
        if all(isinstance(n, int) and not isinstance(n, bool) for n in before):
            return max(before, default=0) <= reached
    previous = env.get("previoussequence")
    if isinstance(previous, int) and not isinstance(previous, bool):
        return previous <= reached
    return env["sequence"] == reached + 1
