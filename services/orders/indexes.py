"""The orders list's indexes beyond plain columns, kept by the database itself: the counts per
status (a table kept by triggers) and the substring search (PostgreSQL's pg_trgm GIN index;
SQLite's FTS5 trigram index kept by triggers)."""

import sqlalchemy as sa

from shared import logging as oms_logging

log = oms_logging.get("orders.indexes")


SQLITE_COUNT_TRIGGERS = (
    """CREATE TRIGGER IF NOT EXISTS orders_list_count_insert AFTER INSERT ON orders_list BEGIN
        INSERT INTO orders_status_counts (status, count) VALUES (NEW.status, 1)
        ON CONFLICT (status) DO UPDATE SET count = count + 1;
    END""",
    """CREATE TRIGGER IF NOT EXISTS orders_list_count_delete AFTER DELETE ON orders_list BEGIN
        UPDATE orders_status_counts SET count = count - 1 WHERE status = OLD.status;
        DELETE FROM orders_status_counts WHERE status = OLD.status AND count = 0;
    END""",
    """CREATE TRIGGER IF NOT EXISTS orders_list_count_update AFTER UPDATE OF status ON orders_list
    WHEN OLD.status <> NEW.status BEGIN
        UPDATE orders_status_counts SET count = count - 1 WHERE status = OLD.status;
        DELETE FROM orders_status_counts WHERE status = OLD.status AND count = 0;
        INSERT INTO orders_status_counts (status, count) VALUES (NEW.status, 1)
        ON CONFLICT (status) DO UPDATE SET count = count + 1;
    END""",
)

POSTGRES_COUNT_TRIGGERS = (
    """CREATE OR REPLACE FUNCTION orders_list_count() RETURNS trigger AS $$
    BEGIN
        IF TG_OP IN ('UPDATE', 'DELETE') THEN
            UPDATE orders_status_counts SET count = count - 1 WHERE status = OLD.status;
            DELETE FROM orders_status_counts WHERE status = OLD.status AND count = 0;
        END IF;
        IF TG_OP IN ('UPDATE', 'INSERT') THEN
            INSERT INTO orders_status_counts (status, count) VALUES (NEW.status, 1)
            ON CONFLICT (status) DO UPDATE SET count = orders_status_counts.count + 1;
        END IF;
        RETURN NULL;
    END $$ LANGUAGE plpgsql""",
    """CREATE OR REPLACE TRIGGER orders_list_count_rows AFTER INSERT OR DELETE ON orders_list
    FOR EACH ROW EXECUTE FUNCTION orders_list_count()""",
    """CREATE OR REPLACE TRIGGER orders_list_count_status AFTER UPDATE OF status ON orders_list
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status)
    EXECUTE FUNCTION orders_list_count()""",
)


COUNT_TRIGGERS = {"sqlite": SQLITE_COUNT_TRIGGERS, "postgresql": POSTGRES_COUNT_TRIGGERS}

# SQLite: a trigram full-text index of `orders_list.search` (its rowids are the list's), kept by
# triggers, serves the substring search as PostgreSQL's trigram index does. The list's rowids are
# stable: nothing here runs VACUUM (after a manual one, `oms rebuild` writes the index again).
SQLITE_SEARCH = (
    "CREATE VIRTUAL TABLE IF NOT EXISTS orders_search USING fts5(search, tokenize='trigram')"
)
SQLITE_SEARCH_TRIGGERS = (
    """CREATE TRIGGER IF NOT EXISTS orders_search_insert AFTER INSERT ON orders_list BEGIN
        INSERT INTO orders_search (rowid, search) VALUES (NEW.rowid, NEW.search);
    END""",
    """CREATE TRIGGER IF NOT EXISTS orders_search_delete AFTER DELETE ON orders_list BEGIN
        DELETE FROM orders_search WHERE rowid = OLD.rowid;
    END""",
    """CREATE TRIGGER IF NOT EXISTS orders_search_update AFTER UPDATE OF search ON orders_list
    WHEN OLD.search <> NEW.search BEGIN
        UPDATE orders_search SET search = NEW.search WHERE rowid = NEW.rowid;
    END""",
)


def index_search_sqlite(engine: sa.Engine) -> bool:
    """Create the SQLite search index (filled once from the rows a store already has); False if
    this SQLite has no FTS5 trigram tokenizer (the search then scans, as before)."""
    try:
        with engine.begin() as conn:
            exists = conn.execute(
                sa.text("SELECT 1 FROM sqlite_master WHERE name = 'orders_search'")
            ).first()
            conn.execute(sa.text(SQLITE_SEARCH))
            for statement in SQLITE_SEARCH_TRIGGERS:
                conn.execute(sa.text(statement))
            if not exists:
                _fill_search(conn)
    except sa.exc.OperationalError as exc:
        log.warning("search_index_unavailable", error=str(exc).splitlines()[0])
        return False
    return True


def fill_subjects(engine: sa.Engine) -> None:
    """A store written before clients were sealed has no `orders_subjects` rows: each order's
    subject then follows from its list row, as `projections.subject_of` names it."""
    try:
        with engine.begin() as conn:
            if conn.execute(sa.text("SELECT 1 FROM orders_subjects LIMIT 1")).first():
                return
            conn.execute(
                sa.text(
                    "INSERT INTO orders_subjects (order_id, subject) SELECT order_id, CASE WHEN "
                    "client_code <> '' THEN 'client:' || client_code ELSE 'order:' || order_id "
                    "END FROM orders_list"
                )
            )
    except sa.exc.IntegrityError:
        pass  # a replica starting beside this one filled it


def purge_search_sqlite(engine: sa.Engine) -> None:
    """Merge the search index's segments into one: the terms of rows written again (a forgotten
    client's name) no longer linger in older segments under a delete marker."""
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO orders_search (orders_search) VALUES ('optimize')"))


def _fill_search(conn) -> None:
    conn.execute(sa.text("DELETE FROM orders_search"))
    conn.execute(
        sa.text("INSERT INTO orders_search (rowid, search) SELECT rowid, search FROM orders_list")
    )


def count_statuses(engine: sa.Engine) -> None:
    """The counts per status the unfiltered list shows, kept in step with `orders_list` by
    triggers in the writing transaction (a status no order has has no row), so the list reads a
    dozen rows instead of counting every order. A store that had rows before the triggers gets its counts computed once."""
    statements = COUNT_TRIGGERS[engine.dialect.name]
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":  # one process at a time creates and fills
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext('orders_status_counts'))"))
        has_triggers = _count_triggers_exist(conn, engine.dialect.name)
        for statement in statements:
            conn.execute(sa.text(statement))
        if not has_triggers:
            _fill_counts(conn)


def _count_triggers_exist(conn, dialect: str) -> bool:
    if dialect == "postgresql":
        query = "SELECT 1 FROM pg_trigger WHERE tgname = 'orders_list_count_rows'"
    else:
        query = "SELECT 1 FROM sqlite_master WHERE type = 'trigger' AND name = 'orders_list_count_insert'"
    return conn.execute(sa.text(query)).first() is not None


def index_search(engine: sa.Engine) -> None:
    """On PostgreSQL, a trigram index serves the substring search (`LIKE '%term%'`) without a scan.
    pg_trgm is a trusted extension (PostgreSQL 13+); without it the search still works, slower."""
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
            conn.execute(
                sa.text(
                    "CREATE INDEX IF NOT EXISTS orders_list_search_trgm "
                    "ON orders_list USING gin (search gin_trgm_ops)"
                )
            )
    except sa.exc.DBAPIError as exc:
        log.warning("search_index_unavailable", error=str(exc).splitlines()[0])


def drop_triggers(conn, dialect: str) -> None:
    """A rebuild writes every row: the counts and the search index are made once at its end."""
    if dialect == "postgresql":
        for name in ("orders_list_count_rows", "orders_list_count_status"):
            conn.execute(sa.text(f"DROP TRIGGER IF EXISTS {name} ON orders_list"))
    else:
        for name in ("insert", "delete", "update"):
            conn.execute(sa.text(f"DROP TRIGGER IF EXISTS orders_list_count_{name}"))
            conn.execute(sa.text(f"DROP TRIGGER IF EXISTS orders_search_{name}"))


def _fill_counts(conn) -> None:
    conn.execute(sa.text("DELETE FROM orders_status_counts"))
    conn.execute(
        sa.text(
            "INSERT INTO orders_status_counts (status, count) "
            "SELECT status, count(*) FROM orders_list GROUP BY status"
        )
    )


def restore_triggers(conn, dialect: str, search_index: bool) -> None:
    """After a rebuild: the counts and the search index from the rows, then their triggers."""
    _fill_counts(conn)
    for statement in COUNT_TRIGGERS[dialect]:
        conn.execute(sa.text(statement))
    if search_index:
        _fill_search(conn)
        for statement in SQLITE_SEARCH_TRIGGERS:
            conn.execute(sa.text(statement))
