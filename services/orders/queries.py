"""The back office's queries over the read model (services/orders/projections.py): the orders list
with its filters, sorts, search, cursor and counts per status, and the catalogue."""

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from services.orders.domain import CLOSED
from shared.paging import fingerprint, page

SORTS = ("reference", "title", "client_code", "product", "placed", "total")


def sort_column(table: sa.Table, sort: str):
    return {
        "reference": table.c.reference,
        "title": table.c.title_key,
        "client_code": table.c.client_code,
        "product": table.c.product_key,
        "placed": table.c.placed,
        "total": table.c.total_key,
    }[sort]


def filters(tables: dict, query: dict, with_status: bool = True, fts: bool = False) -> list:
    """The WHERE clauses of a list query; counts per status leave the status filters out. `fts`:
    SQLite's trigram index answers the words of 3 characters or more."""
    orders, clauses = tables["orders"], []
    if with_status:
        if query.get("statuses"):
            clauses.append(orders.c.status.in_(query["statuses"]))
        elif not query.get("include_closed"):
            clauses.append(orders.c.status.not_in(CLOSED))
    if query.get("client_code"):
        clauses.append(orders.c.client_code == query["client_code"])
    if query.get("sku"):
        linked = tables["order_products"]
        clauses.append(
            orders.c.order_id.in_(sa.select(linked.c.order_id).where(linked.c.sku == query["sku"]))
        )
    if query.get("placed_from"):
        clauses.append(
            orders.c.placed >= datetime.combine(query["placed_from"], datetime.min.time())
        )
    if query.get("placed_to"):
        end = datetime.combine(query["placed_to"], datetime.min.time()) + timedelta(days=1)
        clauses.append(orders.c.placed < end)
    terms = (query.get("search") or "").lower().split()
    indexed = [t for t in terms if fts and len(t) >= 3]
    if indexed:  # each word as a quoted trigram phrase: a substring, like LIKE '%word%'
        phrase = " AND ".join('"' + t.replace('"', '""') + '"' for t in indexed)
        match = (
            sa.select(sa.column("rowid"))
            .select_from(sa.table("orders_search"))
            .where(sa.text("orders_search MATCH :words").bindparams(words=phrase))
        )
        clauses.append(sa.literal_column("orders_list.rowid").in_(match))
    for term in terms:
        if term in indexed:
            continue
        escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        clauses.append(orders.c.search.like(f"%{escaped}%", escape="\\"))
    return clauses


def list_orders(conn, tables: dict, query: dict, fts: bool = False) -> dict:
    orders = tables["orders"]
    rows, next_cursor = page(
        conn,
        orders,
        filters(tables, query, fts=fts),
        sort_column(orders, query["sort"]),
        orders.c.order_id,
        query,
        fingerprint(query, CURSOR_BOUND_TO),
        datetime.fromisoformat if query["sort"] == "placed" else None,
    )
    return {
        "orders": [summary(row) for row in rows],
        "next_cursor": next_cursor,
        "counts": counts(conn, tables, query, fts),
    }


def counts(conn, tables: dict, query: dict, fts: bool = False) -> dict:
    """Orders per status among those the other filters match: for no other filter, the counts
    the triggers keep; else counted."""
    orders, where = tables["orders"], filters(tables, query, with_status=False, fts=fts)
    if not where:
        kept = tables["status_counts"]
        statement = sa.select(kept.c.status, kept.c.count).where(kept.c.count > 0)
    else:
        statement = (
            sa.select(orders.c.status, sa.func.count()).where(*where).group_by(orders.c.status)
        )
    return {status: count for status, count in conn.execute(statement)}


def status_counts(conn, tables: dict) -> dict:
    """Every order (closed ones too) per status and per payment status."""
    orders = tables["orders"]
    by = {}
    for column, key in (
        (orders.c.status, "by_status"),
        (orders.c.payment_status, "by_payment_status"),
    ):
        statement = sa.select(column, sa.func.count()).group_by(column)
        by[key] = {value or "none": n for value, n in conn.execute(statement)}
    return by


def summary(row) -> dict:
    return {
        "id": row.order_id,
        "reference": row.reference,
        "title": row.title,
        "client_code": row.client_code or None,
        "client_name": row.client_name,
        "status": row.status,
        "payment_status": row.payment_status or None,
        "placed": row.placed.replace(tzinfo=UTC).isoformat(),
        "total": row.total,
        "currency": row.currency,
        "product": row.product,
    }


CURSOR_BOUND_TO = (
    "sort",
    "direction",
    "statuses",
    "client_code",
    "sku",
    "placed_from",
    "placed_to",
    "include_closed",
    "search",
)


def list_catalogue(conn, table: sa.Table, key: str, query: dict) -> dict:
    """Clients or products by code, filtered by active and by words of the code or name."""
    clauses = []
    if query.get("active") is not None:
        clauses.append(table.c.active == query["active"])
    if query.get("after"):
        clauses.append(table.c[key] > query["after"])
    for term in (query.get("search") or "").lower().split():
        clauses.append(
            sa.or_(
                sa.func.lower(table.c[key]).contains(term, autoescape=True),
                sa.func.lower(table.c.name).contains(term, autoescape=True),
            )
        )
    statement = sa.select(table).where(*clauses).order_by(table.c[key])
    rows = [row._asdict() for row in conn.execute(statement.limit(query["limit"] + 1))]
    found = rows[: query["limit"]]
    return {"items": found, "next_after": found[-1][key] if len(rows) > len(found) else None}


def catalogue_row(conn, table: sa.Table, key: str):
    """One client (by code) or product (by sku) as the read model has it, or None."""
    column = table.c.code if "code" in table.c else table.c.sku
    return conn.execute(sa.select(table).where(column == key)).first()


def read_model_rows(conn, tables: dict) -> dict[str, list]:
    """Every row of the read model, in key order (what a rebuild must reproduce)."""
    return {
        name: [r._asdict() for r in conn.execute(sa.select(t).order_by(*t.primary_key))]
        for name, t in tables.items()
    }
