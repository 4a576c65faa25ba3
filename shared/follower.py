"""The ordered follower: consumes one upstream's events in notification order, exactly once.

Each replica of a consumer has one durable queue per upstream, bound to the event names the
consumer reacts to and read by one greenthread; the upstream's stream is cut into segments by
aggregate (shared/segments.py), and a replica does the events of the segments it holds a lease on
(shared/leases.py): one replica does all of them, several share them out, a standby takes over
those of a replica that dies. Reactions are saved with their tracking record in one transaction
that first renews the lease, so a duplicate is a no-op: what the queue holds is taken in batches
(up to `follower_batch` events, one transaction, a tracking record per segment they touch; events
nothing reacts to cost no transaction of their own), and a batch that fails is done again one
event at a time, with retries and parking (shared/reacting.py). A gap makes it pull the missing
events from the upstream's own log over RPC (`<upstream>.events_page`), as do a (re)start, a
newly claimed segment and an idle spell: the upstream's store is the truth. The relay stamps
each envelope with what it published before, in all and of each name (`previoussequence`,
`previousbytype`), so the events between two received ones that the queue is not bound to, or
that are private to the upstream, are no gap.
"""

import os
import socket
import time

import eventlet
from amqp.exceptions import ChannelError
from kombu import Connection, Queue, binding
from marshmallow import ValidationError
from nameko.exceptions import UnknownService
from nameko.standalone.rpc import ClusterRpcProxy

from shared import cloudevents, segments
from shared import logging as oms_logging
from shared.envelope import EnvelopeSchema, service_of
from shared.leases import LeaseLost, Leases
from shared.reacting import Reacting
from shared.relay import event_exchange
from shared.settings import Settings
from shared.watchdog import Stuck, Watched

log = oms_logging.get("follower")
TRACK_AFTER = 0.2  # seconds of quiet before a follower records a position no reaction recorded
ENVELOPE = EnvelopeSchema()


def queue_for(consumer: str, upstream: str, names=("#",), instance: str = "", settings=None):
    """The queue a replica of `consumer` receives `upstream`'s events in, bound to the event names
    it reacts to. Each replica has its own (`<consumer>.from.<upstream>.<instance>`): every one
    hears the whole stream and does the segments it holds. Durable, so a replica that reconnects
    finds what came meanwhile; it expires once no replica has used it for a while; a quorum
    queue where the settings say so (a RabbitMQ cluster). Its name must start with
    `<consumer>.from.`: the consumer's broker user may use no other (oms/broker_users.py)."""
    exchange = event_exchange(upstream, passive=True)
    arguments = {}
    if settings is not None:
        arguments["x-expires"] = int(settings.follower_queue_expires_seconds * 1000)
        if settings.queue_type == "quorum":
            arguments["x-queue-type"] = "quorum"
    return Queue(
        f"{consumer}.from.{upstream}" + (f".{instance}" if instance else ""),
        exchange=exchange,
        bindings=[binding(exchange, routing_key=name) for name in names],
        durable=True,
        auto_delete=False,
        queue_arguments=arguments or None,
    )


class Follower(Reacting):
    def __init__(self, app, upstream: str, settings: Settings):
        self.app, self.parking, self.upstream = app, app.parking, upstream
        self.amqp_uri, self.settings = settings.amqp_uri, settings
        # the names of the upstream's events this service reacts to: its queue receives those
        # only; the rest it reads from the upstream's log when it catches up, and ignores
        self.names = app.bound_names(upstream)
        self.count = app.segments(upstream)
        instance = settings.instance or f"{socket.gethostname()}-{os.getpid()}"
        self.queue = queue_for(app.service, upstream, self.names, instance, settings)
        self.leases = Leases(app, upstream, self.count, settings.follower_lease_seconds, instance)
        self.done: dict[int, int] = {}  # held segment -> every event of it up to here is done
        self.tracked: dict[int, int] = {}  # held segment -> its position in the store
        self.heard = 0  # the stream is known without a gap up to here (messages and pulls)
        self.seen = 0  # the furthest upstream position it has heard of (for its lag)
        self._stopping = False
        self._shared_dropped = False  # the old shared queue: deleted once per follower
        self._rpc = None
        self._active_at = 0.0  # when a message or a pull last came
        self._pending: list[tuple[dict, object]] = []  # (envelope, message) drained, not yet done
        # the longest a healthy loop goes without a beat: a pull per page, a wait per poll
        stuck = 2 * (settings.rpc_timeout + settings.follower_poll_seconds) + 10
        self.watchdog = Watched(f"follower {app.service} <- {upstream}", stuck)

    @property
    def position(self) -> int:
        """Every event of every segment held is done up to here."""
        return min(self.done.values(), default=self.heard)

    def stop(self) -> None:
        """Stop, and give the segments back for another replica to take at once (work under
        way then fails its lease check and is rolled back)."""
        self._stopping = True
        self.leases.leave()

    def run(self) -> None:
        backoff = 0.2
        while not self._stopping:
            try:
                self.watchdog.run(self._follow)
                backoff = 0.2
            except (Stuck, LeaseLost) as exc:
                # killed while blocked on a dead connection, or a segment was taken over while
                # this replica was away: start again at once from what the store says
                log.info("follower_restarts", upstream=self.upstream, why=repr(exc))
                backoff = 0.2
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
            self._read_positions(self.leases.held)
            self._drop_shared_queue(conn)
            while not self._stopping:
                self.watchdog.beat()
                self._renew_leases()
                if self.leases.held:
                    self._consume(conn)
                else:  # a replica on standby: it takes segments when one is free or dies
                    eventlet.sleep(min(1.0, self.settings.follower_lease_seconds / 3))
                    conn.heartbeat_check()

    def _consume(self, conn) -> None:
        """Follow the stream through this replica's queue while it holds any segment."""
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
            while not self._stopping and self.leases.held:
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
                if self.leases.due():
                    self._renew_leases()
                conn.heartbeat_check()  # a half-open network shows here
        if not self.leases.held and not self._stopping:
            self.queue(conn.default_channel).delete()  # not needed until it holds one again

    def _renew_leases(self, catch_up: bool = True) -> None:
        """Renew this replica's leases; give back what is over its fair share (once what it
        reached is recorded), or claim free segments up to it and catch them up (a catch-up
        under way takes them in: it reads on from the position of the one furthest behind)."""
        lost, share = self.leases.renew()
        if lost:
            log.warning("segments_lost", upstream=self.upstream, segments=sorted(lost))
            self._forget(lost)
        excess = len(self.leases.held) - share
        if excess > 0:
            given = sorted(self.leases.held)[-excess:]
            self.save_tracking()
            self.leases.release(given)
            self._forget(given)
        elif excess < 0 and (claimed := self.leases.claim(-excess)):
            self._read_positions(claimed)
            self.parking.forget_counts()  # another replica may have parked events of them
            if catch_up:
                self.catch_up()

    def _read_positions(self, held) -> None:
        if not held:
            return
        stands = segments.positions(self.app, self.upstream, self.count)
        for segment in held:
            self.done[segment] = self.tracked[segment] = stands[segment]

    def _forget(self, gone) -> None:
        for segment in gone:
            self.done.pop(segment, None)
            self.tracked.pop(segment, None)

    def _drop_shared_queue(self, conn) -> None:
        """The one queue all replicas shared before streams had segments: nobody reads it now
        (deleted once, not at every reconnect)."""
        shared = f"{self.app.service}.from.{self.upstream}"
        if self._shared_dropped or self.queue.name == shared:
            return
        with conn.channel() as channel:
            try:
                channel.queue_delete(shared)
            except ChannelError:
                pass  # none there
        self._shared_dropped = True

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
        return any(self.done[s] > self.tracked[s] for s in self.done)

    def _quiet_after(self) -> float:
        """Seconds to wait for a message: until the next thing to do when quiet."""
        due = min(self.settings.follower_poll_seconds, self.settings.follower_lease_seconds / 3)
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
            known = body if isinstance(body, dict) else {}
            log.error(  # what it says of itself, not its data: a client's may be in it
                "malformed_event_dropped",
                upstream=self.upstream,
                error=str(exc),
                id=str(known.get("id"))[:100],
                type=str(known.get("type"))[:100],
                size=len(message.body or b""),
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
        reached = self.heard
        for env, _ in pending:
            if env["sequence"] <= reached:
                continue  # done already (redelivered, or pulled from the log)
            if _follows_on(env, reached, self.names):
                batch.append(env)
            else:
                self.process_batch(batch)
                batch = []
                self.catch_up()  # a gap: the upstream's log, not this message, is the truth
            reached = max(self.heard, env["sequence"])
        self.process_batch(batch)
        if pending:
            pending[-1][1].ack(multiple=True)  # every earlier delivery on this channel is done

    def catch_up(self) -> int:
        """Pull and process everything after the position of the segment furthest behind;
        return how many events.

        A page says how far it scanned: a stretch of private (unpublished) events moves the
        tracked position on though it delivered nothing, and a full page is followed by another."""
        done, size = 0, self.settings.follower_batch
        while not self._stopping and self.leases.held:
            self.watchdog.beat()
            page = getattr(self._rpc, self.upstream).events_page(
                self.position, self.settings.follower_pull_limit
            )
            events = [env for env in page["events"] if env["sequence"] > self.position]
            claimed = False
            for start in range(0, len(events), size):
                self.process_batch(events[start : start + size])
                done += len(events[start : start + size])
                if self.leases.due():
                    held = set(self.done)
                    self._renew_leases(catch_up=False)
                    # a segment claimed now had events earlier in this page, never seen: the rest
                    # of the page must not carry it past them; read on from where it stands
                    if claimed := bool(set(self.done) - held):
                        break
            if claimed:
                continue
            self.process_batch([], page["scanned_to"])
            if not page["more"]:
                break
        return done


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
