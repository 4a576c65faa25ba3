"""Billing's read model: one row per document (for lists and lookups by id), the clients' billing
details (clients.py) and the gateway transactions already handled.

Document rows are a pure function of their account, rewritten in the transaction that saves it;
the unique (series, year, sequence) key is a second guard against a reused invoice number.

The client's name is the one personal column (the list is searched and sorted by it): opened
when a document's row is first written, kept beside the subject whose key sealed it, and
scrubbed to "forgotten client" when that client is forgotten — what a rebuild, opening the
documents again, writes too.
"""

from collections.abc import Callable
from datetime import date

import sqlalchemy as sa

from services.billing import clients
from services.billing.domain import Account
from shared.money import minor_unit
from shared.paging import fingerprint, page
from shared.personal import client_subject
from shared.readmodels import rebuilding
from shared.sealing import FORGOTTEN, subject_of

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
        # whose key sealed the client's name: the rows scrubbed when that client is forgotten
        sa.Column("client_subject", sa.Text, index=True),
        sa.Column("issued_on", sa.Date, nullable=False, index=True),
        sa.Column("due_on", sa.Date, nullable=False, index=True),
        sa.Column("status", sa.String(20), nullable=False, index=True),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("gross", sa.Text, nullable=False),
        sa.Column("gross_minor", sa.BigInteger, nullable=False),
        sa.Column("paid", sa.Text, nullable=False),
        sa.UniqueConstraint("series", "year", "sequence", name="billing_document_numbers"),
    )
    gateway = sa.Table(
        "billing_gateway_transactions",
        metadata,
        sa.Column("transaction_id", sa.Text, primary_key=True),
        sa.Column("document_id", sa.String(36), nullable=False),
        sa.Column("outcome", sa.String(20), nullable=False),
        sa.Column("signed_at", sa.BigInteger, nullable=False),
    )
    return {"documents": documents, "clients": clients.define(metadata), "gateway": gateway}


# -- writing -------------------------------------------------------------------------------------
def _as_is(values):
    return values


def write(session, tables: dict, aggregates, events=None, opened: Callable = _as_is) -> None:
    """Rewrite the document rows of the accounts just saved; an account just opened has none to
    delete (given the events saved; without them, a rebuild, every account's rows are). A
    document's client name is kept from its row; `opened(values)` opens those of new documents
    (a payment or a void opens nothing)."""
    accounts = [a for a in aggregates if isinstance(a, Account)]
    if not accounts:
        return
    documents = tables["documents"]
    new = {e.originator_id for e in events or () if e.originator_version == 1}
    ids = [str(a.id) for a in accounts if a.id not in new]
    names = {}
    if ids:
        c = documents.c
        kept = session.execute(sa.select(c.document_id, c.client_name).where(c.account_id.in_(ids)))
        names = dict(kept.all())
        session.execute(documents.delete().where(c.account_id.in_(ids)))
    rows = _rows(accounts, names, opened)
    if rows:
        session.execute(documents.insert(), rows)


def rebuild(app, opened: Callable) -> int:
    """Replay the log once and write every account's document rows into an emptied table (the
    names opened again: a forgotten client's are "forgotten client")."""
    documents = app.tables["documents"]
    with rebuilding(app, documents) as session:
        replayed = [a for a in app.replay_all().values() if isinstance(a, Account)]
        for start in range(0, len(replayed), 1000):
            rows = _rows(replayed[start : start + 1000], {}, opened)
            if rows:
                session.execute(documents.insert(), rows)
    return len(replayed)


def _rows(accounts: list, names: dict, opened: Callable) -> list[dict]:
    """The document rows of `accounts`, with the names in `names` or else opened."""
    new = [d for a in accounts for d in a.documents if d["id"] not in names]
    if new:
        shown = opened([d["billing"]["name"] for d in new])
        names = {**names, **{d["id"]: name for d, name in zip(new, shown, strict=True)}}
    return [document_row(a, d, names[d["id"]]) for a in accounts for d in a.documents]


def document_row(account: Account, document: dict, name: str) -> dict:
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
        "client_name": name,
        "client_search": name.lower(),
        "client_subject": subject_of(client["name"])
        or account.client.get("subject")
        or client_subject(account.client.get("code"), account.order_id),
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


def forget_client(session, tables: dict, subject: str) -> None:
    """A forgotten client's documents: their names scrubbed."""
    documents = tables["documents"]
    scrubbed = {"client_name": FORGOTTEN, "client_search": FORGOTTEN.lower()}
    session.execute(
        documents.update().where(documents.c.client_subject == subject).values(**scrubbed)
    )


# -- reading -------------------------------------------------------------------------------------
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
