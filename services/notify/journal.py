"""Notify's journal: every event of the services it follows, in the order it took them, each with
a position of its own. Webhook subscriptions read it (their position is a journal position), so
a delivery, a rewind or a redelivery never has to ask an upstream again.

It is written in the transaction that records the follower's tracking, so each upstream event is
journaled exactly once, in its upstream's log order. On PostgreSQL the table is locked for the
rest of that transaction before the insert (as the event store does for its own log): positions
then become visible in order, and a reader at position n never passes an n + 1 that commits
later.

Envelopes are kept as they were published: a client's sealed details stay sealed (webhooks
deliver them so). Plain ones of a client who was forgotten are scrubbed (services/notify/
forgetting.py): `forget` writes that client's entries again and remembers it, `append` scrubs
such an entry journaled later."""

import json

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from services.notify.forgetting import holds_plain, order_ids_of, scrubbed, subjects_of

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
        #: whose plain details are scrubbed: forgotten subjects, and `order:<id>` of their orders
        self.forgotten = sa.Table(
            "notify_forgotten", metadata, sa.Column("subject", sa.String(120), primary_key=True)
        )

    def append(self, session, envelope: dict) -> dict:
        """Journal an upstream event; answers it as journaled (scrubbed, if it holds the plain
        details of a client who was forgotten), for the reactions to take the same."""
        if session.bind.dialect.name == "postgresql":
            session.execute(sa.text("LOCK TABLE notify_journal IN EXCLUSIVE MODE"))
        if holds_plain(envelope) and self._forgotten(session, subjects_of(envelope)):
            envelope = scrubbed(envelope)
        kept = {k: v for k, v in envelope.items() if k not in RELAY_ONLY}
        insert = _INSERTS[session.bind.dialect.name](self.table)
        session.execute(  # an event journaled already (a redelivery) is left as it is
            insert.on_conflict_do_nothing(index_elements=["event_id"]).values(
                event_id=envelope["id"],
                type=envelope["type"],
                time=envelope["time"],
                envelope=_text(kept),
            )
        )
        return envelope

    def forget(self, session, subject: str) -> int:
        """Scrub the entries holding the plain details of `subject` (`client:<code>`, or
        `order:<id>` for a guest) and of its orders, and remember them; answers how many
        entries were written again. Entries are found by text (a code, an order id), then
        checked one by one."""
        mine = {subject}
        if subject.startswith("client:"):
            found = self._like(session, [f'"code":"{subject.removeprefix("client:")}"'])
        else:
            found = self._like(session, [subject.removeprefix("order:")])
        orders = set()
        for _, envelope in found:
            if subject in subjects_of(envelope):
                orders |= order_ids_of(envelope)
        mine |= {f"order:{order_id}" for order_id in orders}
        self._remember(session, mine)
        entries = dict(found + self._like(session, sorted(orders)))
        scrubs = [p for p, e in entries.items() if subjects_of(e) & mine and holds_plain(e)]
        t = self.table
        for position in scrubs:
            query = t.update().where(t.c.position == position)
            session.execute(query.values(envelope=_text(scrubbed(entries[position]))))
        return len(scrubs)

    def _like(self, session, needles: list[str]) -> list[tuple[int, dict]]:
        t, found = self.table, []
        for needle in needles:
            query = sa.select(t.c.position, t.c.envelope).where(t.c.envelope.contains(needle))
            found += [(p, json.loads(e)) for p, e in session.execute(query.order_by(t.c.position))]
        return found

    def _remember(self, session, subjects: set[str]) -> None:
        insert = _INSERTS[session.bind.dialect.name](self.forgotten)
        for subject in sorted(subjects):
            session.execute(insert.on_conflict_do_nothing().values(subject=subject))

    def is_forgotten(self, engine, subjects: set[str]) -> bool:
        """Was any of these subjects (or `order:<id>`) forgotten, as far as notify heard?"""
        with engine.connect() as conn:
            return self._forgotten(conn, subjects)

    def _forgotten(self, session, subjects: set[str]) -> bool:
        f = self.forgotten
        query = sa.select(f.c.subject).where(f.c.subject.in_(sorted(subjects))).limit(1)
        return bool(subjects) and session.execute(query).first() is not None

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


def _text(envelope: dict) -> str:
    return json.dumps(envelope, sort_keys=True, separators=(",", ":"))
