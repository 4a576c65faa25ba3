"""Notify's journal: every event of the services it follows, in the order it took them, each with
a position of its own. Webhook subscriptions read it (their position is a journal position), so
a delivery, a rewind or a redelivery never has to ask an upstream again.

It is written in the transaction that records the follower's tracking, so each upstream event is
journaled exactly once, in its upstream's log order. On PostgreSQL the table is locked for the
rest of that transaction before the insert (as the event store does for its own log): positions
then become visible in order, and a reader at position n never passes an n + 1 that commits
later."""

import json

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

POSITION = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
#: what the relay adds to an envelope for followers, not part of the event
RELAY_ONLY = ("previoussequence", "previousbytype")
_INSERTS = {"sqlite": sqlite.insert, "postgresql": postgresql.insert}


class Journal:
    def __init__(self, metadata: sa.MetaData):
        self.table = sa.Table(
            "notify_journal",
            metadata,
            sa.Column("position", POSITION, primary_key=True, autoincrement=True),
            sa.Column("event_id", sa.String(80), nullable=False, unique=True),
            sa.Column("type", sa.String(120), nullable=False),
            sa.Column("time", sa.String(40), nullable=False),
            sa.Column("envelope", sa.Text, nullable=False),
        )

    def append(self, session, envelope: dict) -> None:
        if session.bind.dialect.name == "postgresql":
            session.execute(sa.text("LOCK TABLE notify_journal IN EXCLUSIVE MODE"))
        kept = {k: v for k, v in envelope.items() if k not in RELAY_ONLY}
        insert = _INSERTS[session.bind.dialect.name](self.table)
        session.execute(  # an event journaled already (a redelivery) is left as it is
            insert.on_conflict_do_nothing(index_elements=["event_id"]).values(
                event_id=envelope["id"],
                type=envelope["type"],
                time=envelope["time"],
                envelope=json.dumps(kept, sort_keys=True, separators=(",", ":")),
            )
        )

    def next_for(self, engine, after: int, patterns: list[str]) -> tuple[int, str, str] | None:
        """(position, event id, type) of the first entry after `after` whose type matches one
        of `patterns` (`orders.order_accepted`, `orders.*`, `*`)."""
        t = self.table
        query = sa.select(t.c.position, t.c.event_id, t.c.type).where(t.c.position > after)
        if "*" not in patterns:
            exact = [p for p in patterns if not p.endswith(".*")]
            prefixes = [p[:-1] for p in patterns if p.endswith(".*")]
            query = query.where(
                sa.or_(t.c.type.in_(exact), *(t.c.type.startswith(p) for p in prefixes))
            )
        with engine.connect() as conn:
            row = conn.execute(query.order_by(t.c.position).limit(1)).first()
        return None if row is None else tuple(row)

    def envelope(self, engine, position: int) -> str | None:
        """The event's envelope as JSON text, exactly as it is delivered."""
        t = self.table
        with engine.connect() as conn:
            return conn.execute(sa.select(t.c.envelope).where(t.c.position == position)).scalar()

    def end(self, engine) -> int:
        with engine.connect() as conn:
            return conn.execute(sa.select(sa.func.max(self.table.c.position))).scalar() or 0

    def start(self, engine) -> int:
        with engine.connect() as conn:
            return conn.execute(sa.select(sa.func.min(self.table.c.position))).scalar() or 0

    def position_of(self, engine, event_id: str) -> int | None:
        t = self.table
        with engine.connect() as conn:
            query = sa.select(t.c.position).where(t.c.event_id == event_id)
            return conn.execute(query).scalar()

    def first_since(self, engine, time: str) -> int | None:
        """The first position journaled at or after an ISO time (journal order is time order to
        within the followers' lag)."""
        t = self.table
        with engine.connect() as conn:
            query = sa.select(sa.func.min(t.c.position)).where(t.c.time >= time)
            return conn.execute(query).scalar()
