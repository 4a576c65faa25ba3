"""Billing's read model: one row per document (for lists and lookups by id), the clients' billing
details (from the orders service's client events) and the gateway transactions already handled.

Document rows are a pure function of their account, rewritten in the transaction that saves it;
the unique (series, year, sequence) key is a second guard against a reused invoice number.
"""

import json
from datetime import date

import sqlalchemy as sa

from services.billing.domain import Account
from shared.money import minor_unit
from shared.paging import fingerprint, page
from shared.readmodels import rebuilding

SORTS = ("number", "issued_on", "due_on", "gross", "client_name", "status")
NO_DUE_DATE = date(
    9999, 12, 31
)  # documents that fall due never (pro-formas, credit notes) sort last
KEY = sa.Text().with_variant(sa.Text(collation="C"), "postgresql")
CURSOR_BOUND_TO = (
    "sort",
    "direction",
    "statuses",
    "kinds",
    "client_code",
    "client",
    "order_id",
    "issued_from",
    "issued_to",
    "overdue",
    "overdue_on",
)


def define(metadata: sa.MetaData) -> dict[str, sa.Table]:
    documents = sa.Table(
        "billing_documents",
        metadata,
        sa.Column("document_id", sa.String(36), primary_key=True),
        sa.Column("account_id", sa.String(36), nullable=False),
        sa.Column("order_id", sa.String(36), nullable=False, index=True),
        sa.Column("order_reference", sa.Text, nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("number", KEY, nullable=False),
        sa.Column("series", sa.String(8), nullable=False),
        sa.Column("year", sa.Integer, nullable=False),
        sa.Column("sequence", sa.Integer, nullable=False),
        sa.Column("client_code", sa.Text, nullable=False),
        sa.Column("client_name", KEY, nullable=False),
        sa.Column("client_search", sa.Text, nullable=False),
        sa.Column("issued_on", sa.Date, nullable=False, index=True),
        sa.Column("due_on", sa.Date, nullable=False, index=True),
        sa.Column("status", sa.String(20), nullable=False, index=True),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("gross", sa.Text, nullable=False),
        sa.Column("gross_minor", sa.BigInteger, nullable=False),
        sa.Column("paid", sa.Text, nullable=False),
        sa.UniqueConstraint("series", "year", "sequence", name="billing_document_numbers"),
    )
    clients = sa.Table(
        "billing_clients",
        metadata,
        sa.Column("code", sa.Text, primary_key=True),
        sa.Column("details", sa.Text, nullable=False),
        # the orders event they come from: each replica sees every client event, in its order
        sa.Column("position", sa.BigInteger),
    )
    gateway = sa.Table(
        "billing_gateway_transactions",
        metadata,
        sa.Column("transaction_id", sa.Text, primary_key=True),
        sa.Column("document_id", sa.String(36), nullable=False),
        sa.Column("outcome", sa.String(20), nullable=False),
        sa.Column("signed_at", sa.BigInteger, nullable=False),
    )
    return {"documents": documents, "clients": clients, "gateway": gateway}


# -- writing -------------------------------------------------------------------------------------
def write(session, tables: dict, aggregates, events=None) -> None:
    """Rewrite the document rows of the accounts just saved; an account just opened has none to
    delete (given the events saved; without them, a rebuild, every account's rows are)."""
    accounts = [a for a in aggregates if isinstance(a, Account)]
    if not accounts:
        return
    documents = tables["documents"]
    opened = {e.originator_id for e in events or () if e.originator_version == 1}
    ids = [str(a.id) for a in accounts if a.id not in opened]
    if ids:
        session.execute(documents.delete().where(documents.c.account_id.in_(ids)))
    rows = [document_row(a, d) for a in accounts for d in a.documents]
    if rows:
        session.execute(documents.insert(), rows)


def rebuild(app) -> int:
    """Replay the log once and write every account's document rows into an emptied table."""
    documents = app.tables["documents"]
    with rebuilding(app, documents) as session:
        replayed = [a for a in app.replay_all().values() if isinstance(a, Account)]
        for start in range(0, len(replayed), 1000):
            rows = [document_row(a, d) for a in replayed[start : start + 1000] for d in a.documents]
            if rows:
                session.execute(documents.insert(), rows)
    return len(replayed)


def document_row(account: Account, document: dict) -> dict:
    client = document["billing"]
    return {
        "document_id": document["id"],
        "account_id": str(account.id),
        "order_id": account.order_id,
        "order_reference": account.order_reference,
        "kind": document["kind"],
        "number": document["number"],
        "series": document["series"],
        "year": document["year"],
        "sequence": document["sequence"],
        "client_code": client.get("code") or "",
        "client_name": client["name"],
        "client_search": client["name"].lower(),
        "issued_on": date.fromisoformat(document["issued_on"]),
        "due_on": date.fromisoformat(document["due_on"]) if document["due_on"] else NO_DUE_DATE,
        "status": account.status_of(document),
        "currency": document["currency"],
        "gross": str(document["gross"]),
        "gross_minor": int(document["gross"] / minor_unit(document["currency"])),
        "paid": str(account.paid(document)),
    }


def record_gateway(session, tables: dict, recordings) -> None:
    """Gateway transactions, in the transaction that records their effect (the key refuses a second)."""
    rows = []
    for r in recordings:
        event = r.domain_event
        if isinstance(event, Account.PaymentRecorded) and event.payment.get("transaction_id"):
            found = event.payment
            rows.append(
                (found["transaction_id"], event.document_id, "confirmed", found["signed_at"])
            )
        elif isinstance(event, Account.PaymentRejected):
            found = event.rejection
            rows.append(
                (found["transaction_id"], event.document_id, "rejected", found["signed_at"])
            )
    if rows:
        keys = ("transaction_id", "document_id", "outcome", "signed_at")
        session.execute(tables["gateway"].insert(), [dict(zip(keys, r, strict=True)) for r in rows])


def save_client(session, tables: dict, client: dict, position: int) -> None:
    """The latest billing details of a catalogue client (name, email, phone, address), unless
    a later event of the client was saved already (by another replica)."""
    clients = tables["clients"]
    stands = session.execute(
        sa.select(clients.c.position).where(clients.c.code == client["code"])
    ).first()
    if stands is not None and (stands[0] or 0) >= position:
        return
    details = json.dumps(
        {
            "code": client["code"],
            "name": client["name_"],
            "email": client["email"],
            "phone": client["phone"],
            "address": client["default_address"],
        }
    )
    session.execute(clients.delete().where(clients.c.code == client["code"]))
    session.execute(
        clients.insert().values(code=client["code"], details=details, position=position)
    )


# -- reading -------------------------------------------------------------------------------------
def client_details(conn, tables: dict, code: str | None) -> dict | None:
    if not code:
        return None
    clients = tables["clients"]
    found = conn.execute(sa.select(clients.c.details).where(clients.c.code == code)).scalar()
    return json.loads(found) if found else None


def gateway_transaction(conn, tables: dict, transaction_id: str):
    gateway = tables["gateway"]
    query = sa.select(gateway).where(gateway.c.transaction_id == transaction_id)
    return conn.execute(query).first()


def account_of(conn, tables: dict, document_id: str) -> str | None:
    documents = tables["documents"]
    query = sa.select(documents.c.account_id).where(documents.c.document_id == document_id)
    return conn.execute(query).scalar()


def filters(tables: dict, query: dict, with_status: bool = True) -> list:
    documents, clauses = tables["documents"], []
    if with_status and query.get("statuses"):
        clauses.append(documents.c.status.in_(query["statuses"]))
    if query.get("kinds"):
        clauses.append(documents.c.kind.in_(query["kinds"]))
    for key in ("client_code", "order_id"):
        if query.get(key):
            clauses.append(documents.c[key] == query[key])
    for term in (query.get("client") or "").lower().split():
        escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        clauses.append(documents.c.client_search.like(f"%{escaped}%", escape="\\"))
    if query.get("issued_from"):
        clauses.append(documents.c.issued_on >= query["issued_from"])
    if query.get("issued_to"):
        clauses.append(documents.c.issued_on <= query["issued_to"])
    if query.get("overdue") is not None:
        late = sa.and_(
            documents.c.status.in_(("unpaid", "partially_paid")),
            documents.c.due_on < query["overdue_on"],
        )
        clauses.append(late if query["overdue"] else sa.not_(late))
    return clauses


def sort_column(documents: sa.Table, sort: str):
    return {
        "number": documents.c.number,
        "issued_on": documents.c.issued_on,
        "due_on": documents.c.due_on,
        "gross": documents.c.gross_minor,
        "client_name": documents.c.client_name,
        "status": documents.c.status,
    }[sort]


def list_documents(conn, tables: dict, query: dict) -> dict:
    documents = tables["documents"]
    dated = query["sort"] in ("issued_on", "due_on")
    rows, next_cursor = page(
        conn,
        documents,
        filters(tables, query),
        sort_column(documents, query["sort"]),
        documents.c.document_id,
        query,
        fingerprint(query, CURSOR_BOUND_TO),
        date.fromisoformat if dated else None,
    )
    counts = conn.execute(
        sa.select(documents.c.status, sa.func.count())
        .where(*filters(tables, query, with_status=False))
        .group_by(documents.c.status)
    )
    return {
        "invoices": [summary(row) for row in rows],
        "next_cursor": next_cursor,
        "counts": dict(counts.all()),
    }


def summary(row) -> dict:
    return {
        "id": row.document_id,
        "number": row.number,
        "kind": row.kind,
        "order_id": row.order_id,
        "order_reference": row.order_reference,
        "client_code": row.client_code or None,
        "client_name": row.client_name,
        "issued_on": row.issued_on.isoformat(),
        "due_on": None if row.due_on == NO_DUE_DATE else row.due_on.isoformat(),
        "status": row.status,
        "gross": row.gross,
        "paid": row.paid,
        "currency": row.currency,
    }
