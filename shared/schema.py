"""Creating a service's own tables, and growing them: a column added since a store was created is
added to it (nullable), so every existing SQLite file and PostgreSQL database keeps working."""

import zlib
from contextlib import contextmanager

import sqlalchemy as sa

_CREATED: set[tuple] = set()  # (store, tables) this process made sure of already


def create(engine: sa.Engine, metadata: sa.MetaData) -> None:
    """Create missing tables and indexes, then add any column an older table lacks. Once per
    process for the same store and tables: reflecting every table is most of an application's
    start-up (what tests that build applications over and over paid for each one)."""
    shape = tuple(
        (t.name, tuple(c.name for c in t.columns), tuple(sorted(i.name for i in t.indexes)))
        for t in metadata.sorted_tables
    )
    key = (engine.url.render_as_string(hide_password=False), shape)
    if key in _CREATED:
        return
    _create(engine, metadata)
    _CREATED.add(key)


@contextmanager
def exclusive(url: str, name: str):
    """Replicas starting together on one PostgreSQL database make its tables one at a time (of two
    concurrent CREATE TABLEs of one name, one fails): a session advisory lock held meanwhile."""
    if not url.startswith("postgresql"):
        yield
        return
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    key = zlib.crc32(f"oms-schema-{name}".encode())
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT pg_advisory_lock(:k)"), {"k": key})
            conn.commit()
            try:
                yield
            finally:
                conn.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                conn.commit()
    finally:
        engine.dispose()


def _create(engine: sa.Engine, metadata: sa.MetaData) -> None:
    metadata.create_all(engine)
    inspector = sa.inspect(engine)
    with engine.begin() as conn:
        for table in metadata.sorted_tables:
            have = {c["name"] for c in inspector.get_columns(table.name)}
            for column in table.columns:
                if column.name not in have:
                    kind = column.type.compile(dialect=engine.dialect)
                    conn.execute(
                        sa.text(f"ALTER TABLE {table.name} ADD COLUMN {column.name} {kind}")
                    )
            indexed = {i["name"] for i in inspector.get_indexes(table.name)}
            for index in table.indexes:
                if index.name not in indexed:
                    index.create(conn, checkfirst=True)
