"""Read models shared by several services: tables in the service's own database, fed by its saves."""

from contextlib import contextmanager
from uuid import UUID

import sqlalchemy as sa


@contextmanager
def rebuilding(app, *tables: sa.Table):
    """The transaction a read model is written again in from the whole log: no other save can
    land in it, so a reaction committing meanwhile is neither lost nor written twice. `tables`
    are emptied first — on SQLite that first write takes the store's write lock, on PostgreSQL
    the events table is locked as every save locks it — then the caller replays and writes (the
    replay reads in this transaction)."""
    with app.transaction() as session:
        if app.dialect == "postgresql":
            app.recorder._lock_table(session)  # the library's own lock of saves (DESIGN.md)
        for table in tables:
            session.execute(table.delete())
        yield session


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
        rows = [
            {
                "aggregate_id": str(r.domain_event.originator_id),
                "order_id": str(r.domain_event.order_id),
                "position": r.notification.id,
            }
            for r in recordings
            if r.domain_event.originator_version == 1 and getattr(r.domain_event, "order_id", None)
        ]
        if rows:
            session.execute(self.by_order.insert(), rows)

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
