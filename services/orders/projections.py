"""The back office's read model: one row per order, client and product, written with each save.

Every row is a pure function of its aggregate's state, so the incremental path (the row rewritten
in the transaction that saves the aggregate) and a rebuild from the whole log give the same rows.
"""

from datetime import UTC, datetime

import sqlalchemy as sa

from services.orders import indexes
from services.orders.catalogue import Client, Product
from services.orders.domain import Order
from shared.personal import client_subject
from shared.readmodels import rebuilding
from shared.sealing import open_all

# Sort keys compare by code point on both stores (PostgreSQL's default collation follows the locale).
KEY = sa.Text().with_variant(sa.Text(collation="C"), "postgresql")


def _as_is(value):
    return value


def subject_of(client: dict, order_id) -> str:
    """Whose key seals an order's client (orders placed before sealing name it the same way)."""
    return client.get("subject") or client_subject(client.get("code"), order_id)


def define(metadata: sa.MetaData) -> dict[str, sa.Table]:
    orders = sa.Table(
        "orders_list",
        metadata,
        sa.Column("order_id", sa.String(36), primary_key=True),
        sa.Column("reference", KEY, nullable=False, unique=True),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("title_key", KEY, nullable=False, index=True),
        sa.Column("client_code", KEY, nullable=False, index=True),
        sa.Column("client_name", sa.Text, nullable=False),
        sa.Column("status", sa.String(20), nullable=False, index=True),
        sa.Column("payment_status", sa.String(20), nullable=False),
        sa.Column("placed", sa.DateTime, nullable=False, index=True),
        sa.Column("total", sa.String(24), nullable=False),
        sa.Column("total_key", sa.BigInteger, nullable=False, index=True),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("product", sa.Text, nullable=False),
        sa.Column("product_key", KEY, nullable=False, index=True),
        sa.Column("search", sa.Text, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
    )
    order_products = sa.Table(
        "orders_list_products",
        metadata,
        sa.Column("order_id", sa.String(36), primary_key=True),
        sa.Column("sku", sa.String(64), primary_key=True),
        sa.Index("orders_list_products_sku", "sku", "order_id"),
    )
    clients = sa.Table(
        "orders_clients",
        metadata,
        sa.Column("code", sa.String(64), primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("email", sa.Text, nullable=False),
        sa.Column("phone", sa.Text, nullable=False),
        sa.Column("default_address", sa.JSON),
        sa.Column("language", sa.String(8)),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
    )
    subjects = sa.Table(  # whose key seals each order's client and addresses (forgetting)
        "orders_subjects",
        metadata,
        sa.Column("order_id", sa.String(36), primary_key=True),
        sa.Column("subject", sa.String(200), nullable=False, index=True),
    )
    products = sa.Table(
        "orders_products",
        metadata,
        sa.Column("sku", sa.String(64), primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("details", sa.JSON, nullable=False),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
    )
    status_counts = sa.Table(  # kept by triggers on orders_list (see `count_statuses`)
        "orders_status_counts",
        metadata,
        sa.Column("status", sa.String(20), primary_key=True),
        sa.Column("count", sa.BigInteger, nullable=False),
    )
    return {
        "orders": orders,
        "order_products": order_products,
        "clients": clients,
        "subjects": subjects,
        "products": products,
        "status_counts": status_counts,
    }


def write(
    session, tables: dict, aggregates, events=None, fresh: bool = False, opened=_as_is
) -> None:
    """Write the rows of every aggregate just saved (inside the saving transaction). Given the
    events just saved, an order's row is inserted when it was placed, its products rewritten
    only when its lines were (placed or edited), and otherwise its row updated in place; without
    them every row is replaced (`fresh`: into empty tables, as a rebuild does). `opened` opens
    the personal fields sealed in the aggregates (shared/personal.py)."""
    rows: dict[str, list] = {name: [] for name in tables}
    orders = [a for a in aggregates if isinstance(a, Order)]
    for aggregate in aggregates:
        if isinstance(aggregate, Client):
            rows["clients"].append(client_row(aggregate, opened))
        elif isinstance(aggregate, Product):
            rows["products"].append(product_row(aggregate))
    if events is None:
        order_ids = [str(order.id) for order in orders]
        order_rows = [order_row(o, opened) for o in orders]
        _replace(session, tables["orders"], "order_id", order_ids, order_rows, fresh)
        products = [row for order in orders for row in _product_rows(order)]
        _replace(session, tables["order_products"], "order_id", order_ids, products, fresh)
        subjects = [_subject_row(o) for o in orders]
        _replace(session, tables["subjects"], "order_id", order_ids, subjects, fresh)
    else:
        _write_orders(session, tables, orders, events, opened)
    clients, products = rows["clients"], rows["products"]
    _replace(session, tables["clients"], "code", [r["code"] for r in clients], clients, fresh)
    _replace(session, tables["products"], "sku", [r["sku"] for r in products], products, fresh)


def _write_orders(session, tables: dict, orders: list, events, opened) -> None:
    kinds: dict = {}
    for event in events:
        kinds.setdefault(event.originator_id, set()).add(type(event))
    placed = [o for o in orders if Order.Placed in kinds.get(o.id, ())]
    new = {o.id for o in placed}  # by id: aggregates compare by their whole state
    edited = [o for o in orders if Order.Edited in kinds.get(o.id, ()) and o.id not in new]
    changed = [o for o in orders if o.id not in new]
    if placed:
        session.execute(tables["orders"].insert(), [order_row(o, opened) for o in placed])
        session.execute(tables["subjects"].insert(), [_subject_row(o) for o in placed])
    if changed:
        table = tables["orders"]
        values = {c: sa.bindparam(f"new_{c}") for c in table.c.keys() if c != "order_id"}
        statement = table.update().where(table.c.order_id == sa.bindparam("new_order_id"))
        rows = [{f"new_{k}": v for k, v in order_row(o, opened).items()} for o in changed]
        session.execute(statement.values(values), rows)
    if edited:
        ids = [str(o.id) for o in edited]
        session.execute(
            tables["order_products"].delete().where(tables["order_products"].c.order_id.in_(ids))
        )
    products = [row for order in placed + edited for row in _product_rows(order)]
    if products:
        session.execute(tables["order_products"].insert(), products)


def _replace(session, table: sa.Table, key: str, keys: list, rows: list, fresh=False) -> None:
    if keys and not fresh:
        session.execute(table.delete().where(table.c[key].in_(keys)))
    if rows:
        session.execute(table.insert(), rows)


def order_row(order: Order, opened=_as_is) -> dict:
    client = opened(order.client)
    names = [line["name"] for line in order.lines]
    skus = [line["sku"] for line in order.lines]
    return {
        "order_id": str(order.id),
        "reference": order.reference,
        "title": order.title,
        "title_key": order.title.lower(),
        "client_code": client.get("code") or "",
        "client_name": client["name"],
        "status": order.status,
        "payment_status": order.payment_status or "",  # "" until an invoice is issued
        "placed": _utc(order.placed),
        "total": str(order.total),
        "total_key": int(order.total * 10000),
        "currency": order.currency,
        "product": names[0],
        "product_key": names[0].lower(),
        "search": "\n".join(
            [order.reference, order.title, client.get("code") or "", client["name"], *skus, *names]
        ).lower(),
        "version": order.version,
    }


def _subject_row(order: Order) -> dict:
    client = order.client
    return {"order_id": str(order.id), "subject": subject_of(client, order.id)}


def _product_rows(order: Order) -> list:
    return [{"order_id": str(order.id), "sku": line["sku"]} for line in order.lines]


def client_row(client: Client, opened=_as_is) -> dict:
    return {
        "code": client.code,
        "name": opened(client.name),
        "email": opened(client.email),
        "phone": opened(client.phone),
        "default_address": opened(client.default_address),
        "language": getattr(client, "language", None),
        "active": client.active,
        "version": client.version,
    }


def product_row(product: Product) -> dict:
    details = {
        "unit_price": str(product.unit_price),
        "currency": product.currency,
        "vat_rate": str(product.vat_rate),
        "made_in_house": product.made_in_house,
        "distributors": product.distributors,
        "default_distributor": product.default_distributor,
        "production_policy": getattr(product, "production_policy", None),
        "weight": _text(getattr(product, "weight", None)),
        "cost_prices": {
            k: str(v) for k, v in (getattr(product, "cost_prices", None) or {}).items()
        },
    }
    return {
        "sku": product.sku,
        "name": product.name,
        "details": details,
        "active": product.active,
        "version": product.version,
    }


def _text(value) -> str | None:
    return None if value is None else str(value)


def _utc(iso: str) -> datetime:
    """Placed times are kept as naive UTC, which SQLite and PostgreSQL compare alike."""
    moment = datetime.fromisoformat(iso)
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment


def rebuild(app) -> int:
    """Drop every read-model row and write it again from one replay of the whole log."""
    dialect = app.dialect
    with rebuilding(app) as session:
        # the counts are computed once at the end, not by a trigger per row deleted and written
        indexes.drop_triggers(session, dialect)
        for table in app.tables.values():
            session.execute(table.delete())
        replayed = list(app.replay_all().values())  # in the transaction: nothing lands meanwhile
        keys = app.keys.keys(session=session)
        opened = lambda value: open_all(value, keys)  # noqa: E731
        for start in range(0, len(replayed), 1000):
            write(session, app.tables, replayed[start : start + 1000], fresh=True, opened=opened)
        indexes.restore_triggers(session, dialect, app.search_index)
    return len(replayed)
