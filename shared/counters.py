"""Sequential numbers (order references, invoice numbers): a counter row per series and year, bumped
in the transaction that stores what it numbers, so a number is used exactly when its document is
stored — no gaps and no reuse, crashes and rolled-back transactions included."""

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite


def counter_table(name: str, metadata: sa.MetaData, *keys: sa.Column) -> sa.Table:
    """`keys` identify a counter (e.g. series and year); `last` is the last number taken."""
    return sa.Table(name, metadata, *keys, sa.Column("last", sa.Integer, nullable=False))


def take(session, table: sa.Table, count: int = 1, **key) -> int:
    """Reserve `count` numbers of the counter `key` in `session`'s transaction; return the last.
    Concurrent takers queue on the row (an upsert creates it the first time, race-free)."""
    dialect = session.get_bind().dialect.name
    insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)
    session.execute(insert.values(**key, last=0).on_conflict_do_nothing())
    where = [table.c[k] == v for k, v in key.items()]
    return session.execute(
        table.update().where(*where).values(last=table.c.last + count).returning(table.c.last)
    ).scalar_one()
