"""The workshop's queue: one row per production order, written from its state in the transaction
that saves it, sorted by planned date (then number), and rebuildable from the log."""

import sqlalchemy as sa

from services.production.domain import OPEN, ProductionOrder
from shared import paging
from shared.readmodels import rebuilding

QUEUE_STATUSES = (*OPEN, "on_hold", "finished", "cancelled", "open")
LATEST = "9999-12-31"  # where a production order without a planned date sorts


def define(metadata: sa.MetaData) -> sa.Table:
    return sa.Table(
        "production_queue",
        metadata,
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("order_id", sa.String(36), nullable=False),
        sa.Column("order_reference", sa.Text, nullable=False),
        sa.Column("number", sa.Text, nullable=False),
        sa.Column("sku", sa.Text, nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("quantity", sa.Integer, nullable=False),
        sa.Column("produced", sa.Integer, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),  # on_hold while held
        sa.Column("planned_date", sa.String(10)),
        sa.Column("sort_key", sa.Text, nullable=False),
        sa.Column("uncertified", sa.Integer, nullable=False),
        sa.Column("rerun", sa.Boolean, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Index("production_queue_status", "status", "sort_key"),
    )


def row(job: ProductionOrder) -> dict:
    return {
        "id": str(job.id),
        "order_id": job.order_id,
        "order_reference": job.order_reference,
        "number": job.number,
        "sku": job.sku,
        "name": job.name,
        "quantity": job.quantity,
        "produced": job.produced,
        "status": job.shown_status,
        "planned_date": job.planned_date,
        "sort_key": f"{job.planned_date or LATEST}|{job.number}",
        "uncertified": len(job.uncertified),
        "rerun": job.rerun_of is not None,
        "version": job.version,
    }


def write(session, table: sa.Table, aggregates: list) -> None:
    rows = [row(a) for a in aggregates if isinstance(a, ProductionOrder)]
    if not rows:
        return
    session.execute(table.delete().where(table.c.id.in_([r["id"] for r in rows])))
    session.execute(table.insert(), rows)


def queue(conn, table: sa.Table, query: dict) -> dict:
    """`{"status": "open", "limit": 50, "cursor": …}` → the page, soonest planned first."""
    status = query.get("status") or "open"
    if status == "open":
        clauses = [table.c.status.in_((*OPEN, "on_hold"))]
    else:
        clauses = [table.c.status == status]
    query = dict(query, direction="asc")
    bound = paging.fingerprint(query, ("status",))
    rows, cursor = paging.page(conn, table, clauses, table.c.sort_key, table.c.id, query, bound)
    items = [{k: v for k, v in r._asdict().items() if k != "sort_key"} for r in rows]
    return {"items": items, "next_cursor": cursor}


def missing(app) -> bool:
    """Is the queue empty while the log holds production orders (a store from before it)?"""
    with app.engine.connect() as conn:
        queued = conn.execute(sa.select(app.queue.c.id).limit(1)).first()
        known = conn.execute(sa.select(app.by_order.c.aggregate_id).limit(1)).first()
    return queued is None and known is not None


def rebuild(app) -> int:
    """Write the queue again from one replay of the whole log; returns how many rows it holds."""
    with rebuilding(app, app.queue) as session:
        jobs = [a for a in app.replay_all().values() if isinstance(a, ProductionOrder)]
        for start in range(0, len(jobs), 1000):
            session.execute(app.queue.insert(), [row(j) for j in jobs[start : start + 1000]])
    return len(jobs)
