"""Read models: rebuilding one from the whole log (or only checking that a rebuild would give
the rows there are), and the order -> aggregates index several services share."""

from collections import Counter
from collections.abc import Callable
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from uuid import UUID

import sqlalchemy as sa

# while a rebuild is only verified: {"tables": [...]} gets "differences" (see `verify`)
_verifying: ContextVar[dict | None] = ContextVar("verifying_rebuild", default=None)
SHOWN = 10  # differing rows named per table


@dataclass(frozen=True)
class ReadModel:
    """A service's read model: its tables and how it is written again from the log (answering
    how many things it was written from)."""

    tables: tuple[sa.Table, ...]
    rebuild: Callable[[], int]


class _Discard(Exception):
    """Rolls a verifying rebuild back: the live rows stay as they were."""


@contextmanager
def rebuilding(app, *tables: sa.Table):
    """The transaction a read model is written again in from the whole log: no other save can
    land in it, so a reaction committing meanwhile is neither lost nor written twice. `tables`
    are emptied first — on SQLite that first write takes the store's write lock, on PostgreSQL
    the events table is locked as every save locks it — then the caller replays and writes (the
    replay reads in this transaction). While `verify` runs it, the rows before and after are
    compared in that one transaction, which is then rolled back."""
    checking = _verifying.get()
    with app.transaction() as session:
        if app.dialect == "postgresql":
            app.recorder._lock_table(session)  # the library's own lock of saves (DESIGN.md)
        before = _rows(session, checking["tables"]) if checking is not None else None
        for table in tables:
            session.execute(table.delete())
        yield session
        if checking is not None:
            checking["differences"] = _compare(before, _rows(session, checking["tables"]))
            raise _Discard


def verify(model: ReadModel) -> list[dict]:
    """Rebuild `model` into the same transaction as a scratch copy, compare it with the live
    rows and roll it back: the differences per table (none: a rebuild changes nothing)."""
    checking = {"tables": model.tables}
    token = _verifying.set(checking)
    try:
        model.rebuild()
    except _Discard:
        pass
    finally:
        _verifying.reset(token)
    return checking["differences"]


def _rows(session, tables) -> dict[str, Counter]:
    return {
        t.name: Counter(tuple(_plain(v) for v in row) for row in session.execute(sa.select(t)))
        for t in tables
    }


def _plain(value):
    return value if value is None or isinstance(value, int | str) else str(value)


def _compare(live: dict[str, Counter], rebuilt: dict[str, Counter]) -> list[dict]:
    differences = []
    for name, rows in live.items():
        only_live, only_rebuilt = rows - rebuilt[name], rebuilt[name] - rows
        if only_live or only_rebuilt:
            differences.append(
                {
                    "table": name,
                    "live_rows": sum(rows.values()),
                    "rebuilt_rows": sum(rebuilt[name].values()),
                    "only_live": [list(r) for r in list(only_live.elements())[:SHOWN]],
                    "only_rebuilt": [list(r) for r in list(only_rebuilt.elements())[:SHOWN]],
                }
            )
    return differences


class OrderIndexed:
    """Mixin for services whose aggregates belong to an order: a read model order -> aggregates."""

    def define_tables(self, metadata: sa.MetaData) -> None:
        self.by_order = sa.Table(
            f"{self.service}_by_order",
            metadata,
            sa.Column("aggregate_id", sa.String(36), primary_key=True),
            sa.Column("order_id", sa.String(36), nullable=False, index=True),
            sa.Column("position", sa.BigInteger, nullable=False),
        )

    def project(self, session, recordings) -> None:
        super().project(session, recordings)
        self._index(session, [(r.domain_event, r.notification.id) for r in recordings])

    def _index(self, session, events) -> None:
        rows = [
            {"aggregate_id": str(e.originator_id), "order_id": str(e.order_id), "position": p}
            for e, p in events
            if e.originator_version == 1 and getattr(e, "order_id", None)
        ]
        if rows:
            session.execute(self.by_order.insert(), rows)

    def read_models(self) -> dict:
        return {**super().read_models(), "by_order": ReadModel((self.by_order,), self._reindex)}

    def _reindex(self) -> int:
        with rebuilding(self, self.by_order) as session:
            position = 0
            while batch := self.notifications_after(position, 2000):
                self._index(session, [(self.mapper.to_domain_event(n), n.id) for n in batch])
                position = batch[-1].id
            return session.execute(sa.select(sa.func.count()).select_from(self.by_order)).scalar()

    def order_aggregates(self, order_id: str) -> list:
        query = sa.select(self.by_order.c.aggregate_id).where(
            self.by_order.c.order_id == str(order_id)
        )
        with self.engine.connect() as conn:
            return [UUID(row.aggregate_id) for row in conn.execute(query)]

    def for_order(self, order_id: str) -> list:
        """The order's aggregates, oldest first; inside a transaction, with what it saved."""
        query = (
            sa.select(self.by_order.c.aggregate_id)
            .where(self.by_order.c.order_id == str(order_id))
            .order_by(self.by_order.c.position)
        )
        with self.recorder.transaction(commit=False) as session:
            ids = [row.aggregate_id for row in session.connection().execute(query)]
        return [self.repository.get(UUID(i)) for i in ids]
