"""Billing's copies of the catalogue's clients (from orders' client events): the details a
catalogue client's documents are issued with, as the catalogue has them now.

Each replica hears every client event, in its own order (they go to every segment of the orders
stream): a copy records the position of the event it comes from, and an older event never
overwrites a newer copy. The details are stored sealed as they came (shared/personal.py); a
forgotten client's copy is replaced by one naming nobody (copies stored before sealing were
plain).
"""

import json

import sqlalchemy as sa

from shared.sealing import FORGOTTEN


def define(metadata: sa.MetaData) -> sa.Table:
    return sa.Table(
        "billing_clients",
        metadata,
        sa.Column("code", sa.Text, primary_key=True),
        sa.Column("details", sa.Text, nullable=False),
        # the orders event they come from: each replica sees every client event, in its order
        sa.Column("position", sa.BigInteger),
    )


def save(session, tables: dict, client: dict, position: int) -> None:
    """The latest billing details of a catalogue client (name, email, phone, address), unless
    a later event of the client was saved already (by another replica)."""
    details = {
        "code": client["code"],
        "name": client["name_"],
        "email": client["email"],
        "phone": client["phone"],
        "address": client["default_address"],
    }
    _put(session, tables["clients"], details, position)


def forget(session, tables: dict, code: str, position: int) -> None:
    """A forgotten client's copy: one naming nobody, from the event that forgot it."""
    nobody = {"code": code, "name": FORGOTTEN, "email": FORGOTTEN, "phone": FORGOTTEN}
    _put(session, tables["clients"], dict(nobody, address=None), position)


def _put(session, clients: sa.Table, details: dict, position: int) -> None:
    code = details["code"]
    stands = session.execute(sa.select(clients.c.position).where(clients.c.code == code)).first()
    if stands is not None and (stands[0] or 0) >= position:
        return
    session.execute(clients.delete().where(clients.c.code == code))
    session.execute(
        clients.insert().values(code=code, details=json.dumps(details), position=position)
    )


def details(conn, tables: dict, code: str | None) -> dict | None:
    if not code:
        return None
    clients = tables["clients"]
    found = conn.execute(sa.select(clients.c.details).where(clients.c.code == code)).scalar()
    return json.loads(found) if found else None
