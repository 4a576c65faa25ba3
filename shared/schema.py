"""Creating a service's own tables, and growing them: a column added since a store was created is
added to it (nullable), so every existing SQLite file and PostgreSQL database keeps working."""

import sqlalchemy as sa


def create(engine: sa.Engine, metadata: sa.MetaData) -> None:
    """Create missing tables and indexes, then add any column an older table lacks."""
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
