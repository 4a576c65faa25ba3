"""Read models shared by several services: tables in the service's own database, fed by its saves."""

from uuid import UUID

import sqlalchemy as sa


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

    def for_order(self, order_id: str) -> list:
        query = (
            sa.select(self.by_order.c.aggregate_id)
            .where(self.by_order.c.order_id == str(order_id))
            .order_by(self.by_order.c.position)
        )
        with self.engine.connect() as conn:
            ids = [row.aggregate_id for row in conn.execute(query)]
        return [self.repository.get(UUID(i)) for i in ids]
