"""Clients' personal data, sealed with a key of each client's, and forgetting a client by
destroying that key (shared/personal.py, shared/sealing.py, shared/keystore.py).

Orders holds the keys, in a plain table of its store. What orders stores and publishes is sealed
before it reaches an aggregate: an order's client and its addresses, a catalogue client's
details. Its read model is written opened (the back office searches by name) and, when a client
is forgotten, written again from the events, which then open to "forgotten client".
"""

import time
from uuid import NAMESPACE_URL, UUID, uuid5

import sqlalchemy as sa
from eventsourcing.domain import Aggregate, event
from eventsourcing.persistence import IntegrityError

from services.orders import indexes, projections
from services.orders.cataloguing import client_id_for
from shared import sealing
from shared.errors import NotFound, ValidationFailed
from shared.keystore import KeyStore, keys_table
from shared.personal import client_subject, seal_address, seal_client

FORGETTINGS = uuid5(NAMESPACE_URL, "https://oms.example/forgotten-clients")
SEALING_KEYS_KEPT = 30.0  # seconds a sealing key is kept in memory (forgetting drops it at once)


class ClientForgotten(Aggregate):
    """The record that a subject was forgotten: by whom and when (never who it was)."""

    @event("Forgotten")
    def __init__(self, id: UUID, subject: str, code: str | None, actor: str):
        self.subject, self.code = subject, code


class Forgetting:
    """Mixed into the orders application (it provides `transaction`, `save`, `repository`,
    `tables`, `metadata`)."""

    def define_keys(self, metadata: sa.MetaData) -> None:
        self.keys = KeyStore(self, keys_table("orders", metadata))
        self.keyring = sealing.Keyring(self.keys.keys, seconds=0)  # its own: read, never kept
        self._sealing_keys: dict[str, tuple[float, bytes]] = {}

    # -- sealing what is stored -------------------------------------------------------------------
    def sealing_key(self, subject: str) -> bytes:
        """The subject's key, made on first use; refused for a forgotten subject."""
        kept = self._sealing_keys.get(subject)
        if kept is not None and time.monotonic() - kept[0] < SEALING_KEYS_KEPT:
            return kept[1]
        try:
            with self.transaction() as session:
                key = self.keys.key_for(session, subject)
        except IntegrityError:  # made meanwhile by a concurrent first order of the client
            with self.transaction() as session:
                key = self.keys.key_for(session, subject)
        if key is None:
            raise ValidationFailed(
                "forgotten client",
                {"client": [f"The client {subject} was forgotten: it can no longer be named."]},
            )
        self._sealing_keys[subject] = (time.monotonic(), key)
        return key

    def sealed_client(self, client: dict, order_id) -> dict:
        subject = client.get("subject") or client_subject(client.get("code"), order_id)
        return seal_client(client, self.sealing_key(subject), subject)

    def sealed_address(self, address: dict | None, client: dict, order_id) -> dict | None:
        subject = client.get("subject") or client_subject(client.get("code"), order_id)
        return seal_address(address, self.sealing_key(subject), subject)

    def opened(self, data):
        """`data` (a view of an order or a client) with its personal fields opened."""
        return self.keyring.open_all(data)

    def opener(self, session, aggregates):
        """Opens the aggregates' sealed fields with keys read in `session` (keys made in this
        very transaction are seen)."""
        subjects = set()
        for aggregate in aggregates:
            subjects |= sealing.subjects_in(_personal_state(aggregate))
        if not subjects:
            return lambda value: value
        keys = self.keys.keys(subjects, session)
        return lambda value: sealing.open_all(value, keys)

    # -- the keys services ask for ----------------------------------------------------------------
    def personal_keys(self, subjects: list[str]) -> dict:
        """{subject: key, or None if forgotten}; subjects never known are left out."""
        return self.keys.keys(subjects)

    # -- forgetting -------------------------------------------------------------------------------
    def forget_client(self, who: str, actor: str) -> dict:
        """Destroy the key of `who` (a client code, or a subject: `client:<code>`,
        `order:<id>`), record that it was forgotten, and write its orders' and its catalogue
        entry's rows again from the events (which now open to "forgotten client"). Forgetting
        one forgotten already changes nothing."""
        subject = who if who.startswith(("client:", "order:")) else f"client:{who}"
        code = subject.removeprefix("client:") if subject.startswith("client:") else None
        known = self._orders_of(subject) or (code and self.exists(client_id_for(code)))
        if not known:
            raise NotFound(f"no client or order is {subject}", {"id": who, "kind": "client"})
        with self.transaction() as session:
            forgotten_now = self.keys.destroy(session, subject, actor)
            self._sealing_keys.pop(subject, None)
            if forgotten_now:
                record_id = uuid5(FORGETTINGS, subject)
                self.save(ClientForgotten(id=record_id, subject=subject, code=code, actor=actor))
                self._write_again(session, subject, code)
        if forgotten_now and self.dialect == "sqlite" and self.search_index:
            indexes.purge_search_sqlite(self.engine)  # no token of the old rows left behind
        return {"subject": subject, "forgotten": True, "now": forgotten_now}

    def _orders_of(self, subject: str) -> list[str]:
        table = self.tables["subjects"]
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(table.c.order_id).where(table.c.subject == subject))
            return [row.order_id for row in rows]

    def _write_again(self, session, subject: str, code: str | None) -> None:
        table = self.tables["subjects"]
        ids = session.execute(sa.select(table.c.order_id).where(table.c.subject == subject))
        aggregates = [self.repository.get(UUID(row.order_id)) for row in ids]
        client_id = client_id_for(code) if code else None
        if client_id is not None and self.exists(client_id):
            aggregates.append(self.repository.get(client_id))
        opened = self.opener(session, aggregates)
        projections.write(session, self.tables, aggregates, opened=opened)


def _personal_state(aggregate) -> list:
    """The parts of an aggregate's state that may hold sealed values."""
    state = vars(aggregate)
    return [state.get(k) for k in ("client", "shippings", "name", "email", "phone")] + [
        state.get("default_address")
    ]
