"""Keyset pagination for read-model lists: a page sorted by one column (ties broken by the row id)
and an opaque cursor bound to the query it came from, so it cannot be reused on another."""

import base64
import binascii
import hashlib
import json
from datetime import date, datetime

import sqlalchemy as sa


class CursorRefused(ValueError):
    pass


def fingerprint(query: dict, keys: tuple[str, ...]) -> str:
    """What a cursor is bound to: the sort and every filter of its query."""
    basis = {k: str(query.get(k)) for k in keys}
    return hashlib.sha256(json.dumps(basis, sort_keys=True).encode()).hexdigest()[:12]


def encode_cursor(bound_to: str, value, row_id: str) -> str:
    if isinstance(value, date | datetime):
        value = value.isoformat()
    raw = json.dumps([bound_to, value, row_id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, bound_to: str, parse=None):
    """(sort value, row id) of the cursor's last row; `parse` turns a stored text value back."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        made_for, value, row_id = json.loads(raw)
        if parse is not None:
            value = parse(value)
    except (ValueError, TypeError, binascii.Error):
        raise CursorRefused("not a cursor this service issued") from None
    if made_for != bound_to:
        raise CursorRefused("the cursor belongs to a different sort or filter; start again")
    return value, row_id


def page(
    conn, table: sa.Table, clauses: list, column, id_column, query: dict, bound_to: str, parse=None
):
    """One page of `table` under `clauses`, sorted by `column` (`query["direction"]`), starting
    after `query["cursor"]`; returns (rows, next cursor or None)."""
    descending = query["direction"] == "desc"
    clauses = list(clauses)
    if query.get("cursor"):
        value, last_id = decode_cursor(query["cursor"], bound_to, parse)
        if descending:
            after = sa.or_(column < value, sa.and_(column == value, id_column < last_id))
        else:
            after = sa.or_(column > value, sa.and_(column == value, id_column > last_id))
        clauses.append(after)
    order_by = [column.desc(), id_column.desc()] if descending else [column, id_column]
    rows = conn.execute(
        sa.select(table).where(*clauses).order_by(*order_by).limit(query["limit"] + 1)
    ).all()
    rows, more = rows[: query["limit"]], len(rows) > query["limit"]
    if not more:
        return rows, None
    last = rows[-1]
    return rows, encode_cursor(bound_to, getattr(last, column.key), getattr(last, id_column.key))
