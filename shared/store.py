"""The event store every service owns: an eventsourcing application on SQLAlchemy (SQLite or PostgreSQL)."""

import hashlib
import json
from collections.abc import Callable, Iterable
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from uuid import UUID

import sqlalchemy as sa
from eventsourcing.application import AggregateNotFoundError, Application, ProcessingEvent
from eventsourcing.persistence import IntegrityError, Notification, Tracking
from eventsourcing_sqlalchemy.datastore import SQLAlchemyDatastore
from eventsourcing_sqlalchemy.factory import SQLAlchemyFactory
from eventsourcing_sqlalchemy.recorders import SQLAlchemyProcessRecorder

from shared import context, envelope, schema
from shared.contracts import contract_for, dump
from shared.errors import Conflict, NotFound
from shared.parking import OPEN, Parking
from shared.settings import Settings

_depth: ContextVar[int] = ContextVar("transaction_depth", default=0)
_recorded: ContextVar[bool] = ContextVar("transaction_recorded", default=False)


class Datastore(SQLAlchemyDatastore):
    """Adds a connection pool big enough for a service's workers, relay and followers."""

    def __init__(self, *, url: str | None = None, **kwargs):
        if url and url.startswith("postgresql"):
            kwargs.setdefault("pool_size", 10)
            kwargs.setdefault("max_overflow", 30)
            kwargs.setdefault("pool_pre_ping", True)
        super().__init__(url=url, **kwargs)


class ProcessRecorder(SQLAlchemyProcessRecorder):
    """Moves a tracking position with one UPDATE in the common case (the library issues three ORM
    queries), and refuses a position already reached even when two transactions race for it."""

    def _insert_tracking(self, session, tracking: Tracking) -> None:
        table, name = self.tracking_table, tracking.application_name
        moved = session.execute(
            table.update()
            .where(
                table.c.application_name == name, table.c.notification_id < tracking.notification_id
            )
            .values(notification_id=tracking.notification_id)
        ).rowcount
        if moved:
            return
        query = sa.select(table.c.notification_id).where(table.c.application_name == name)
        reached = session.execute(query).scalar()
        if reached is not None:
            raise IntegrityError(
                f"{name} position {tracking.notification_id} already tracked ({reached})"
            )
        session.execute(
            table.insert().values(application_name=name, notification_id=tracking.notification_id)
        )


class Factory(SQLAlchemyFactory):
    datastore_class = Datastore
    process_recorder_class = ProcessRecorder


def environment(url: str) -> dict:
    """The eventsourcing settings of a store at `url` (SQLite or PostgreSQL)."""
    return {"PERSISTENCE_MODULE": "shared.store:Factory", "SQLALCHEMY_URL": url}


class ServiceApplication(Application):
    """Base of every service's application.

    Each save records, in one transaction, the domain events, the tracking record of the upstream
    event that caused them (if any), each event's correlation metadata and the read-model rows the
    subclass projects. After the outermost transaction commits, listeners (the relay) are prompted.
    The store also holds what the reliability core keeps per service: the relay's position, the
    parked events and the idempotency keys of creating commands.
    """

    service: str = ""
    #: the upstream services whose events this one reacts to
    follows: tuple[str, ...] = ()

    def __init__(self, url: str, settings: Settings | None = None):
        super().__init__(env=environment(url))
        self.settings = settings or Settings.load()
        self.metadata = sa.MetaData()
        self.event_meta = sa.Table(
            f"{self.service}_event_meta",
            self.metadata,
            sa.Column(
                "position", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True
            ),
            sa.Column("correlation_id", sa.Text),
            sa.Column("causation_id", sa.Text, index=True),
            sa.Column("actor", sa.Text),
        )
        self.relay_positions = sa.Table(
            f"{self.service}_relay_position",
            self.metadata,
            sa.Column("relay", sa.String(64), primary_key=True),
            sa.Column("position", sa.BigInteger, nullable=False),
            # the last notification the relay published (private events are not published)
            sa.Column("published", sa.BigInteger),
        )
        self.idempotency_keys = sa.Table(
            f"{self.service}_idempotency_keys",
            self.metadata,
            sa.Column("key", sa.String(300), primary_key=True),
            sa.Column("fingerprint", sa.String(64), nullable=False),
        )
        self.parking = Parking(self, self.metadata)
        self.define_tables(self.metadata)
        schema.create(self.engine, self.metadata)
        self._listeners: list[Callable[[], None]] = []

    # -- infrastructure -------------------------------------------------------------------------
    def construct_recorder(self):
        return self.factory.process_recorder()

    @property
    def engine(self) -> sa.Engine:
        return self.recorder.datastore.engine

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def transaction(self):
        """A write transaction that saves (and projections) inside it join. The relay is prompted
        when the outermost one commits, not before: it would find nothing new yet."""
        depth = _depth.get()
        depth_token = _depth.set(depth + 1)
        recorded_token = _recorded.set(False) if depth == 0 else None
        try:
            with self.recorder.transaction(commit=True) as session:
                yield session
            # prompt only when events were stored: a tracking record alone publishes nothing
            prompt = depth == 0 and _recorded.get()
        finally:
            _depth.reset(depth_token)
            if recorded_token is not None:
                _recorded.reset(recorded_token)
        if prompt:
            for listener in self._listeners:
                listener()

    def define_tables(self, metadata: sa.MetaData) -> None:
        """Subclasses add their read-model tables here."""

    def project(self, session, recordings) -> None:
        """Subclasses update their read-model tables from newly recorded events."""

    def project_aggregates(self, session, aggregates: list) -> None:
        """Subclasses rewrite read-model rows from the state of the aggregates just saved."""

    def add_listener(self, listener: Callable[[], None]) -> None:
        self._listeners.append(listener)

    def _record(self, processing_event):
        with self.transaction() as session:
            recordings = super()._record(processing_event)
            if recordings:
                _recorded.set(True)
            self._record_meta(session, recordings)
            self.project(session, recordings)
            self.project_aggregates(session, list(processing_event.aggregates.values()))
        return recordings

    def _record_meta(self, session, recordings) -> None:
        ctx = context.current()
        if not recordings or not ctx:
            return
        session.execute(
            self.event_meta.insert(),
            [
                {
                    "position": r.notification.id,
                    "correlation_id": ctx.get("correlation_id"),
                    "causation_id": ctx.get("causation_id"),
                    "actor": ctx.get("actor"),
                }
                for r in recordings
            ],
        )

    def _notify(self, recordings) -> None:
        """Listeners are prompted when the transaction commits (see `transaction`)."""

    # -- use-case helpers -----------------------------------------------------------------------
    def get(self, aggregate_id: UUID | str, what: str = "aggregate"):
        try:
            return self.repository.get(UUID(str(aggregate_id)))
        except (AggregateNotFoundError, ValueError):
            raise NotFound(
                f"{what} {aggregate_id} not found", {"id": str(aggregate_id), "kind": what}
            ) from None

    def exists(self, aggregate_id: UUID) -> bool:
        return bool(self.recorder.select_events(aggregate_id, limit=1))

    def retrying(self, command: Callable[[], object], replay: Callable[[], object] | None = None):
        """Run a read-decide-save command; on a concurrent write, once more on a fresh read.

        With `replay`: a request delivered again after it was applied (its events carry its
        identity) is not applied twice; `replay()` answers it with the state as it is now. That
        is checked before each try and after a lost race (the winner may be its own twin)."""
        for _ in range(2):
            if replay is not None and self.request_applied():
                return replay()
            try:
                return command()
            except IntegrityError:
                continue
        if replay is not None and self.request_applied():
            return replay()
        raise Conflict("a concurrent change won; read again and retry", {})

    def request_applied(self) -> bool:
        """Did the RPC request being handled already store events (is this a redelivery)?"""
        ctx = context.current()
        if not ctx.get("request_id"):
            return False
        query = (
            sa.select(self.event_meta.c.position)
            .where(self.event_meta.c.causation_id == ctx["causation_id"])
            .limit(1)
        )
        with self.engine.connect() as conn:
            return conn.execute(query).first() is not None

    # -- idempotency keys of creating commands (Stripe's rule: same key, same request) -----------
    def check_key(self, key: str, payload) -> bool:
        """True if `key` was used before with this payload; Conflict if with another one."""
        query = sa.select(self.idempotency_keys.c.fingerprint).where(
            self.idempotency_keys.c.key == key
        )
        with self.engine.connect() as conn:
            seen = conn.execute(query).scalar()
        if seen is None:
            return False
        if seen != fingerprint(payload):
            raise Conflict(
                "this idempotency key was used with a different request; use a new key",
                {"idempotency_key": ["Already used with a different request."]},
            )
        return True

    def remember_key(self, session, key: str, payload) -> None:
        """Record the key in the transaction that stores what it created."""
        session.execute(
            self.idempotency_keys.insert().values(key=key, fingerprint=fingerprint(payload))
        )

    # -- the log, as integration events ---------------------------------------------------------
    def integration_event(self, domain_event) -> tuple[str, dict] | None:
        """Map a private domain event to a public (name, data), or None if it is not published."""
        raise NotImplementedError

    def notifications_after(self, position: int, limit: int) -> list[Notification]:
        return self.recorder.select_notifications(position, limit, inclusive_of_start=False)

    def last_position(self) -> int:
        return self.recorder.max_notification_id() or 0

    def envelopes(self, notifications: Iterable[Notification]) -> list[dict]:
        notifications = list(notifications)
        metas = self._metas([n.id for n in notifications])
        result = []
        for n in notifications:
            domain_event = self.mapper.to_domain_event(n)
            mapped = self.integration_event(domain_event)
            if mapped is None:
                continue
            name, data = mapped
            meta = metas.get(n.id, {})
            result.append(
                envelope.build(
                    self.service,
                    n.id,
                    name,
                    contract_for(f"{self.service}.{name}").version,
                    str(n.originator_id),
                    _iso(domain_event.timestamp),
                    dump(f"{self.service}.{name}", data),
                    meta.get("correlation_id"),
                    meta.get("causation_id"),
                )
            )
        return result

    def events_after(self, position: int, limit: int) -> list[dict]:
        """The integration events among the `limit` notifications after `position`."""
        return self.envelopes(self.notifications_after(position, limit))

    def events_page(self, position: int, limit: int) -> dict:
        """Like `events_after`, saying how far it scanned: private events publish nothing, so a
        page of them is empty and yet the reader must move past it. `more` says whether the page
        was full (read on from `scanned_to`)."""
        notifications = self.notifications_after(position, limit)
        return {
            "events": self.envelopes(notifications),
            "scanned_to": notifications[-1].id if notifications else position,
            "more": len(notifications) == limit,
        }

    def _metas(self, positions: list[int]) -> dict[int, dict]:
        if not positions:
            return {}
        query = sa.select(self.event_meta).where(self.event_meta.c.position.in_(positions))
        with self.engine.connect() as conn:
            return {row.position: row._asdict() for row in conn.execute(query)}

    def relay_state(self) -> tuple[int, int]:
        """(position the relay has read up to, last position it published)."""
        query = sa.select(self.relay_positions).where(self.relay_positions.c.relay == "main")
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        return (row.position, row.published or 0) if row else (0, 0)

    def status(self) -> dict:
        """Where the log, the relay, the parked events and each upstream's tracking stand.

        `last_published` is the newest position followers have to see: the relay's last
        published event, or the end of the log while the relay has not read it all."""
        last = self.last_position()
        relayed, published = self.relay_state()
        return {
            "service": self.service,
            "last_position": last,
            "relayed_position": relayed,
            "last_published": published if relayed >= last else last,
            "tracking": {upstream: self.tracked_position(upstream) for upstream in self.follows},
            "parked": self.parking.count(("parked",)),
            "waiting": self.parking.count(("waiting",)),
            "open_parked": self.parking.count(OPEN),
            "oldest_unseen_parked": self.parking.oldest_unseen(),
        }

    # -- tracking (what this service has consumed from each upstream) --------------------------
    def tracked_position(self, upstream: str) -> int:
        return self.recorder.max_tracking_id(upstream) or 0

    def save_reaction(self, tracking: Tracking, *aggregates) -> None:
        """Save what an upstream event led to together with its tracking record (even if nothing)."""
        processing_event = ProcessingEvent(tracking=tracking)
        processing_event.collect_events(*aggregates)
        self._record(processing_event)

    def handle(self, envelope: dict, tracking: Tracking) -> None:
        """React to an upstream event and save the reaction with its tracking record, all in one
        transaction (so a reaction may also take numbers or write rows that must commit with it)."""
        with self.transaction():
            self.save_reaction(tracking, *self.react(envelope))

    def react(self, envelope: dict) -> list:
        """The policy: the new or changed aggregates an upstream event leads to (saved by the caller)."""
        return []

    def state_at(self, domain_event):
        """The aggregate as it was right after `domain_event`: what integration events describe."""
        if domain_event.originator_version == 1:  # a creation event holds the whole first state
            return domain_event.mutate(None)
        return self.repository.get(
            domain_event.originator_id, version=domain_event.originator_version
        )


def fingerprint(payload) -> str:
    """A stable digest of a JSON-like request (dates, decimals and ids as their text)."""
    text = json.dumps(payload, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def _iso(ts: datetime) -> str:
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=UTC)
    return ts.isoformat()
