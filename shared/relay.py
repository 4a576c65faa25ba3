"""The relay: publishes a service's notification log (its outbox) in order, with publisher confirms."""

import json
import threading
import time

import eventlet
import sqlalchemy as sa
from amqp import spec
from kombu import Connection, Exchange

from shared import cloudevents, envelope, faults, metrics
from shared import logging as oms_logging
from shared.leadership import leader_lock

log = oms_logging.get("relay")


def event_exchange(service: str, passive: bool = False) -> Exchange:
    """The topic exchange a service publishes to; nameko's `@event_handler` binds the same one.
    Consumers declare it `passive`: declaring it for real takes the configure permission, which
    would also let them delete it (oms/broker_users.py); its relay and the provisioning make it."""
    return Exchange(
        f"{service}.events", type="topic", durable=True, delivery_mode=2, passive=passive
    )


SAVE_EVERY = 0.25  # seconds between saves of the relay's position while it keeps publishing


class Relay:
    """Reads the log from its durable position, publishes each integration event, then advances.

    A batch is published with pipelined publisher confirms: the position advances only once the
    broker has confirmed every message of it. A crash in between republishes that batch: followers
    drop the repeats by their tracking records. Leadership is checked before every batch, and the
    position only ever moves forward, so a relay that lost its lock mid-run stops at the next
    batch and cannot drag the position back. `prompt()` wakes it after a save; it also polls every
    `poll_seconds`.
    """

    def __init__(
        self,
        app,
        amqp_uri: str,
        poll_seconds: float = 1.0,
        batch: int = 200,
        heartbeat: int = 0,
        ssl: dict | None = None,
    ):
        self.app, self.amqp_uri, self.poll_seconds, self.batch = app, amqp_uri, poll_seconds, batch
        self.heartbeat, self.ssl = heartbeat, ssl
        self.exchange = event_exchange(app.service)
        self.positions = app.relay_positions
        self._wake = threading.Event()
        self._stopping = False
        self._connection: Connection | None = None
        self._leader = leader_lock(app)
        # while leading: (position, last published, last published of each event name) as
        # published, and whether that is saved yet
        self._at: tuple[int, int, dict] | None = None
        self._unsaved = False
        self._saved_at = 0.0

    def prompt(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()

    def run(self) -> None:
        try:
            self._run()
        finally:  # also when the container kills this thread: hand the lead over
            try:
                self.flush()
            except Exception as exc:  # noqa: BLE001 - the next leader republishes, no more
                log.warning("relay_position_unsaved", error=repr(exc))
            self._disconnect()
            self._leader.release()

    def _run(self) -> None:
        backoff = 0.1
        while not self._stopping:
            try:
                if self._connection is not None and self.heartbeat:
                    self._connection.heartbeat_check()  # a half-open network shows here
                self.relay_pending(flush=False)
                if not self._wake.wait(SAVE_EVERY if self._unsaved else self.poll_seconds):
                    self.flush()  # quiet for a moment: record how far it published
                self._wake.clear()
                backoff = 0.1
            except Exception as exc:  # noqa: BLE001 - the loop must survive broker and store outages
                log.warning("relay_failed", error=repr(exc), retry_in=backoff)
                self._disconnect()
                eventlet.sleep(backoff)
                backoff = min(backoff * 2, 5.0)

    def release(self) -> None:
        """Give up the lead (tests and tools that ran `relay_pending` themselves)."""
        self._disconnect()
        self._leader.release()

    def relay_pending(self, flush: bool = True) -> int:
        """Publish everything after the position, batch by batch while this relay leads; return
        how many events went out. The position is saved at the end (`flush`), or, in the relay's
        own loop, at most every `SAVE_EVERY` seconds and whenever it is quiet: a crash in between
        republishes what followers drop as repeats, and one write per batch is spared."""
        sent = 0
        while not self._stopping:
            if not self._leader.acquire():
                self._at, self._unsaved = None, False  # the next leader reads the store
                return sent
            if self._at is None:
                self._at = self._read_position()
                self._producer()  # connects and declares the exchange: consumers bind to it
            position, published, by_type = self._at
            notifications = self.app.notifications_after(position, self.batch)
            if not notifications:
                break
            envelopes = self.app.envelopes(notifications)
            by_type = dict(by_type)
            for env in envelopes:
                # what was published before it, in all and of each name: a follower bound to
                # some names knows that a jump past events it does not receive is no gap
                env["previoussequence"] = published
                env["previousbytype"] = cloudevents.vector(by_type)
                published = by_type[envelope.name_of(env)] = env["sequence"]
                faults.crash_before_publish(envelope.name_of(env))
                self.publish(env)
            if envelopes:  # a batch of private-only events publishes nothing
                self._confirms.wait()
                metrics.PUBLISHED.labels(self.app.service).inc(len(envelopes))
            sent += len(envelopes)
            self._at, self._unsaved = (notifications[-1].id, published, by_type), True
            if flush or time.monotonic() - self._saved_at >= SAVE_EVERY:
                self.flush()
        if flush:
            self.flush()
        return sent

    def _read_position(self) -> tuple[int, int, dict]:
        position, published = self.app.relay_state()
        by_type = self.app.relay_vector()
        if by_type is None:  # relayed before the names were kept: read the log once
            published, by_type = self.app.published_until(position)
        return position, published, by_type

    def flush(self) -> None:
        """Save the position published up to, if it moved since the last save."""
        if self._unsaved and self._at is not None:
            self.save_position(*self._at)
            self._unsaved, self._saved_at = False, time.monotonic()

    def publish(self, env: dict) -> None:
        """Send one envelope (confirmed later, with its batch)."""
        producer = self._producer()
        producer.publish(
            env,
            exchange=self.exchange,
            routing_key=envelope.name_of(env),
            declare=[self.exchange],
            serializer=cloudevents.SERIALIZER,
            delivery_mode=2,
            retry=False,
            message_id=env["id"],
            correlation_id=env["correlationid"],
            timestamp=int(time.time()),
        )
        self._confirms.published()

    def position(self) -> int:
        return self.app.relay_state()[0]

    def save_position(
        self, position: int, published: int | None = None, by_type: dict | None = None
    ) -> None:
        """Move the position forward to `position` (never back: a relay that lost the lead may
        still finish a batch behind the new leader)."""
        t = self.positions
        values = {"position": position}
        if published is not None:
            values["published"] = published
        if by_type is not None:
            values["published_by_type"] = json.dumps(by_type, sort_keys=True)
        with self.app.engine.begin() as conn:
            moved = conn.execute(
                t.update().where(t.c.relay == "main", t.c.position < position).values(**values)
            ).rowcount
            if moved:
                return
            exists = conn.execute(sa.select(t.c.position).where(t.c.relay == "main")).first()
            if exists is None:
                conn.execute(t.insert().values(relay="main", **values))
            else:
                log.warning("relay_position_kept", kept=exists.position, offered=position)

    def _producer(self):
        if self._connection is None:
            # a half-open network must not block a publish for ever
            options = {"write_timeout": 10, "read_timeout": 10}
            self._connection = Connection(
                self.amqp_uri, heartbeat=self.heartbeat, transport_options=options, ssl=self.ssl
            )
            self._connection.ensure_connection(max_retries=1)
            channel = self._connection.channel()
            self.exchange(channel).declare()
            self._confirms = PipelinedConfirms(channel)
            self._producer_obj = self._connection.Producer(channel=channel)
        return self._producer_obj

    def _disconnect(self) -> None:
        self._at, self._unsaved = None, False  # read the store again: the truth after a failure
        if self._connection is not None:
            try:
                self._connection.release()
            except Exception:  # noqa: BLE001 - already broken
                pass
            self._connection = None


class PipelinedConfirms:
    """A channel in confirm mode: publishes are not awaited one by one; `wait()` awaits them all."""

    def __init__(self, channel, timeout: float = 15.0):
        self.channel, self.timeout = channel, timeout
        self.last_tag = 0
        self.unconfirmed: set[int] = set()
        self.refused = False
        channel.confirm_select()
        channel.events["basic_ack"].add(self._ack)
        channel.events["basic_nack"].add(self._nack)

    def published(self) -> None:
        self.last_tag += 1  # the broker numbers a confirm-mode channel's publishes 1, 2, 3, ...
        self.unconfirmed.add(self.last_tag)

    def _ack(self, delivery_tag: int, multiple: bool) -> None:
        if multiple:
            self.unconfirmed = {tag for tag in self.unconfirmed if tag > delivery_tag}
        else:
            self.unconfirmed.discard(delivery_tag)

    def _nack(self, delivery_tag: int, multiple: bool) -> None:
        self.refused = True

    def wait(self) -> None:
        while self.unconfirmed and not self.refused:
            self.channel.wait([spec.Basic.Ack, spec.Basic.Nack], timeout=self.timeout)
        if self.refused:
            raise ConnectionError("the broker refused (nacked) a published event")
