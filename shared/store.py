"""The event store every service owns: an eventsourcing application on SQLAlchemy (SQLite or PostgreSQL)."""

import copy
from collections.abc import Callable, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from uuid import UUID

import sqlalchemy as sa
from eventsourcing import persistence
from eventsourcing.application import (
    Application,
    project_aggregate,
)
from eventsourcing.persistence import IntegrityError

from shared import context, metrics, schema
from shared.errors import Conflict, NotFound
from shared.idempotency import IdempotencyKeys, keys_table
from shared.integration_log import IntegrationLog
from shared.leases import lease_tables
from shared.parking import Parking
from shared.personal import remote_fetch
from shared.publishing import Publish
from shared.reactions import Reactions
from shared.recorder import environment
from shared.sealing import Keyring
from shared.settings import Settings

# The store itself is down (connection lost, disk full, locked): nobody's fault in particular.
# RPC callers get `Unavailable`; a follower waits and starts over from its tracked position.
STORE_DOWN = (
    sa.exc.OperationalError,
    sa.exc.InterfaceError,
    persistence.OperationalError,  # the same, as the eventsourcing recorder re-raises them
    persistence.InterfaceError,
)

TRIES = 3  # fresh reads a command gets when concurrent writes keep winning

_depth: ContextVar[int] = ContextVar("transaction_depth", default=0)
_recorded: ContextVar[bool] = ContextVar("transaction_recorded", default=False)
_stored: ContextVar[int] = ContextVar("transaction_stored", default=0)  # events, for metrics
# the request a `retrying` command claims with the first events it stores (see `retrying`)
_claim: ContextVar[str | None] = ContextVar("request_claim", default=None)
# states of aggregates saved in the open transaction, for `state_at` once it commits
_saved_states: ContextVar[list | None] = ContextVar("saved_states", default=None)
STATES_KEPT = 2000  # aggregate states kept for the relay (see `state_at`)


class ServiceApplication(Reactions, IntegrationLog, IdempotencyKeys, Application):
    """Base of every service's application.

    Each save records, in one transaction, the domain events, the tracking record of the upstream
    event that caused them (if any), each event's correlation metadata and the read-model rows the
    subclass projects. After the outermost transaction commits, listeners (the relay) are prompted.
    The store also holds what the reliability core keeps per service: the relay's position, the
    parked events and the idempotency keys of creating commands.
    """

    service: str = ""
    #: what is published: domain event class -> `Publish` (shared/publishing.py)
    published: Mapping[type, Publish] = {}

    def __init__(self, url: str, settings: Settings | None = None):
        with schema.exclusive(url, self.service):  # replicas starting together
            self._open(url, settings)

    def _open(self, url: str, settings: Settings | None) -> None:
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
        # one row per request whose events are stored, in their transaction: a redelivered twin
        # storing its events too fails on this key however the two interleave
        self.applied_requests = sa.Table(
            f"{self.service}_applied_request",
            self.metadata,
            sa.Column("causation_id", sa.Text, primary_key=True),
            sa.Column("position", sa.BigInteger, nullable=False),
        )
        self.relay_positions = sa.Table(
            f"{self.service}_relay_position",
            self.metadata,
            sa.Column("relay", sa.String(64), primary_key=True),
            sa.Column("position", sa.BigInteger, nullable=False),
            # the last notification the relay published (private events are not published)
            sa.Column("published", sa.BigInteger),
            # JSON: the last notification published of each event name (`previousbytype`)
            sa.Column("published_by_type", sa.Text),
        )
        self.idempotency_keys = keys_table(self.service, self.metadata)
        self.segment_leases, self.segment_members = lease_tables(self.service, self.metadata)
        self.parking = Parking(self, self.metadata)
        # the subjects' keys, asked of orders and kept a short while, to open personal data
        # where it must be shown or sent (shared/personal.py); orders reads its own table
        self.keyring = Keyring(remote_fetch(self._rpc_config), self.settings.personal_keys_seconds)
        self.define_tables(self.metadata)
        schema.create(self.engine, self.metadata)
        self._listeners: list[Callable[[], None]] = []
        self._states: dict = {}  # (aggregate id, version) -> its state, committed (`state_at`)

    # -- infrastructure -------------------------------------------------------------------------
    def _rpc_config(self) -> dict:
        return {"AMQP_URI": self.settings.amqp_uri, "AMQP_SSL": self.settings.amqp_ssl()}

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
        stored_token = _stored.set(0) if depth == 0 else None
        states_token = _saved_states.set([]) if depth == 0 else None
        try:
            with self.recorder.transaction(commit=True) as session:
                yield session
            # prompt only when events were stored: a tracking record alone publishes nothing
            prompt = depth == 0 and _recorded.get()
            if depth == 0:  # committed: what was saved is now what the log says
                if _stored.get():
                    metrics.STORED.labels(self.service).inc(_stored.get())
                for key, state in _saved_states.get() or ():
                    self._states[key] = state
                while len(self._states) > STATES_KEPT:
                    del self._states[next(iter(self._states))]
        finally:
            _depth.reset(depth_token)
            if recorded_token is not None:
                _recorded.reset(recorded_token)
                _stored.reset(stored_token)
            if states_token is not None:
                _saved_states.reset(states_token)
        if prompt:
            for listener in self._listeners:
                listener()

    def lock_log(self, session) -> None:
        """Take the lock the log's inserts take (PostgreSQL), now: one order for every writer that
        holds other rows till commit (numbers, read models of several aggregates) — the log
        first — so two of them never wait on each other in turn."""
        if self.dialect == "postgresql":
            self.recorder._lock_table(session)

    @staticmethod
    def prompt_on_commit() -> None:
        """Prompt the listeners (relay, sender) when the open transaction commits, though it
        may store no event (a row a sender reads was written)."""
        _recorded.set(True)

    def define_tables(self, metadata: sa.MetaData) -> None:
        """Subclasses add their read-model tables here."""

    def project(self, session, recordings) -> None:
        """Subclasses update their read-model tables from newly recorded events."""

    def read_models(self) -> dict:
        """Every read model by name (a `shared.readmodels.ReadModel`: its tables, its rebuild);
        subclasses and mixins add theirs."""
        return {}

    def project_aggregates(self, session, aggregates: list, events: list) -> None:
        """Subclasses rewrite read-model rows from the state of the aggregates just saved."""

    def add_listener(self, listener: Callable[[], None]) -> None:
        self._listeners.append(listener)

    def _record(self, processing_event):
        with self.transaction() as session:
            self._keep_states(processing_event)  # copies: before the log's lock is taken
            # the events, then the read model: on PostgreSQL the insert locks the events table
            # first, so writers never take read-model rows (the counts) in different orders
            recordings = super()._record(processing_event)
            for event in processing_event.events:  # the aggregates' histories go on
                aggregate = processing_event.aggregates.get(event.originator_id)
                if aggregate is None:
                    continue
                if event.originator_version == 1:
                    aggregate._oms_history = []
                history = getattr(aggregate, "_oms_history", None)
                if history is not None:
                    history.append(event)
            if recordings:
                _recorded.set(True)
                _stored.set(_stored.get() + len(recordings))
            self._record_meta(session, recordings)
            self.project(session, recordings)
            self.project_aggregates(
                session, list(processing_event.aggregates.values()), processing_event.events
            )
        return recordings

    def _record_meta(self, session, recordings) -> None:
        ctx = context.current()
        if not recordings or not ctx:
            return
        claim = _claim.get()
        if claim is not None:
            session.execute(
                self.applied_requests.insert(),
                {"causation_id": claim, "position": recordings[0].notification.id},
            )
            _claim.set(None)  # later saves of the same try belong to the same request
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
        """The aggregate, with the events it was built from kept as its `history` (see
        `history_of`): a command's answer shows them without reading them again."""
        try:
            events = list(self.repository.event_store.get(UUID(str(aggregate_id))))
        except ValueError:
            events = []
        if not events:
            raise NotFound(
                f"{what} {aggregate_id} not found", {"id": str(aggregate_id), "kind": what}
            )
        aggregate = project_aggregate(None, events)
        aggregate._oms_history = events
        context.check_version(aggregate.id, aggregate.version)
        return aggregate

    @staticmethod
    def history_of(aggregate) -> list | None:
        """The events of an aggregate read by `get` (or created here), with those saved since;
        None for one built otherwise."""
        return getattr(aggregate, "_oms_history", None)

    def exists(self, aggregate_id: UUID) -> bool:
        return bool(self.recorder.select_events(aggregate_id, limit=1))

    def retrying(self, command: Callable[[], object], replay: Callable[[], object] | None = None):
        """Run a read-decide-save command; on a concurrent write, again on a fresh read (three
        tries in all: a command, its redelivered twin and the followers' reactions may all write
        one aggregate at once), then report a Conflict.

        With `replay`: a request delivered again after it was applied is not applied twice;
        `replay()` answers it with the state as it is now. The first events a try stores claim
        the request's identity (`applied_requests`, in their transaction), so a twin that
        stores events too fails on that key, whether it read before or after the other's
        commit; it then finds the request applied and replays (so does a twin the command refuses,
        the first having used up what it needed). Checking first and then reading
        would leave a window: the twin commits between the check and the read, and the read
        state already holds the change the command then makes again."""
        ctx = context.current()
        claiming = replay is not None and bool(ctx.get("request_id"))
        for _ in range(TRIES):
            token = _claim.set(ctx["causation_id"] if claiming else None)
            try:
                return command()
            except IntegrityError:
                if claiming and self.request_applied():
                    return self._replay(replay)
            except STORE_DOWN:
                raise
            except Exception:
                # a twin run after the request was applied may be refused (the quantity it
                # moves has gone): the request took effect, so it is answered like one
                if claiming and self.request_applied():
                    return self._replay(replay)
                raise
            finally:
                _claim.reset(token)
        raise Conflict("a concurrent change won; read again and retry", {})

    @staticmethod
    def _replay(replay):
        context.current()["if_match"] = None  # the request was applied: answer as it is now
        return replay()

    def request_applied(self) -> bool:
        """Did the RPC request being handled already store events (is this a redelivery)?"""
        ctx = context.current()
        if not ctx.get("request_id"):
            return False
        claims, meta = self.applied_requests.c, self.event_meta.c
        with self.engine.connect() as conn:
            claimed = conn.execute(
                sa.select(claims.position).where(claims.causation_id == ctx["causation_id"])
            ).first()
            if claimed is not None:
                return True
            # events stored before requests were claimed carry the identity only in their meta
            query = sa.select(meta.position).where(meta.causation_id == ctx["causation_id"])
            return conn.execute(query.limit(1)).first() is not None

    def replay_all(self) -> dict:
        """Every aggregate of the log, replayed once from its start (a read model's rebuild)."""
        aggregates, position = {}, 0
        while batch := self.notifications_after(position, 2000):
            for notification in batch:
                event = self.mapper.to_domain_event(notification)
                aggregates[event.originator_id] = event.mutate(aggregates.get(event.originator_id))
            position = batch[-1].id
        return aggregates

    def state_at(self, domain_event):
        """The aggregate as it was right after `domain_event`: what integration events describe.
        The relay asks for the states of what was just saved: those are kept from the save (a
        copy of each published aggregate's state, taken when its last event was its newest, kept
        once the transaction committed); others are read from the log."""
        key = (domain_event.originator_id, domain_event.originator_version)
        kept = self._states.get(key)
        if kept is not None:
            return kept
        if domain_event.originator_version == 1:  # a creation event holds the whole first state
            return domain_event.mutate(None)
        return self.repository.get(
            domain_event.originator_id, version=domain_event.originator_version
        )

    def _keep_states(self, processing_event) -> None:
        """Copies of the saved aggregates whose newest event is published, for `state_at`."""
        pending = _saved_states.get()
        if pending is None:
            return
        newest = {}
        for event in processing_event.events:
            if type(event) in self.published:
                newest[event.originator_id] = event.originator_version
        for aggregate_id, version in newest.items():
            aggregate = processing_event.aggregates.get(aggregate_id)
            if aggregate is not None and aggregate.version == version:
                history = aggregate.__dict__.pop("_oms_history", None)
                try:
                    pending.append(((aggregate_id, version), copy.deepcopy(aggregate)))
                finally:
                    if history is not None:
                        aggregate._oms_history = history
