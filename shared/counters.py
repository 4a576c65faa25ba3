"""Sequential numbers (order references, invoice numbers): a counter row per series and year. Bumped
in the transaction that stores what it numbers, a number is used exactly when its document is
stored — no gaps and no reuse, crashes and rolled-back transactions included (invoices always;
order references on PostgreSQL are taken just before, see `OrdersApplication.next_references`)."""

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite


def counter_table(name: str, metadata: sa.MetaData, *keys: sa.Column) -> sa.Table:
    """`keys` identify a counter (e.g. series and year); `last` is the last number taken."""
    return sa.Table(name, metadata, *keys, sa.Column("last", sa.Integer, nullable=False))


def take(session, table: sa.Table, count: int = 1, **key) -> int:
    """Reserve `count` numbers of the counter `key` in the transaction of `session` (an ORM
    session or a Connection); return the last.
    One upsert creates the row the first time or bumps it, race-free; concurrent takers queue on
    the row until the taker's transaction ends."""
    bind = session.get_bind() if hasattr(session, "get_bind") else session  # or a Connection
    dialect = bind.dialect.name
    insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)
    statement = (
        insert.values(**key, last=count)
        .on_conflict_do_update(index_elements=list(key), set_={"last": table.c.last + count})
        .returning(table.c.last)
    )
    return session.execute(statement).scalar_one()
