"""The catalogue's use cases: clients and products registered, changed, withdrawn and listed.

Clients are keyed by their code and products by their sku (the aggregate id is derived from it),
so registering the same one again with the same details returns it: retries are safe.
"""

from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.persistence import IntegrityError

from services.orders import queries
from services.orders.catalogue import Client, Product, check_supply
from shared.errors import Conflict

CLIENT_IDS = uuid5(NAMESPACE_URL, "https://oms.example/clients")
PRODUCT_IDS = uuid5(NAMESPACE_URL, "https://oms.example/products")


def client_id_for(code: str) -> UUID:
    return uuid5(CLIENT_IDS, code)


def product_id_for(sku: str) -> UUID:
    return uuid5(PRODUCT_IDS, sku)


class Cataloguing:
    """Mixed into the orders application (it provides `get`, `save`, `_change`, `tables`)."""

    def register_client(self, code: str, details: dict, actor: str) -> Client:
        """Registering the same code with the same details again returns the client (retry-safe)."""
        client_id = client_id_for(code)
        if self.exists(client_id):
            return self._same_client(code, details)
        sealed = self._sealed_details(code, details)
        client = Client(id=client_id, code=code, details=sealed, actor=actor)
        return self._save_new(client, lambda: self._same_client(code, details))

    def update_client(self, code: str, changes: dict, actor: str) -> Client:
        def update(client):
            changed = {k: v for k, v in changes.items() if self.opened(getattr(client, k)) != v}
            client.update(self._sealed_details(code, changed), actor)

        return self._change(client_id_for(code), "client", update)

    def _sealed_details(self, code: str, details: dict) -> dict:
        """A client's details with the personal ones sealed with its key (forgetting.py)."""
        sealed = self.sealed_client(dict(details, code=code), None)
        return {k: v for k, v in sealed.items() if k in details}

    def _same_client(self, code: str, details: dict) -> Client:
        existing = self.get(client_id_for(code), "client")
        opened = {k: self.opened(getattr(existing, k)) for k in details}
        if opened == details:
            return existing
        raise Conflict(f"client {code} is already registered with other details", {"code": code})

    def deactivate_client(self, code: str, reason: str, actor: str) -> Client:
        return self._change(client_id_for(code), "client", lambda c: c.deactivate(reason, actor))

    def register_product(self, sku: str, details: dict, actor: str) -> Product:
        check_supply(details)
        product_id = product_id_for(sku)
        if self.exists(product_id):
            return _same_or_conflict(self.get(product_id, "product"), details, "product", sku)
        product = Product(id=product_id, sku=sku, details=details, actor=actor)
        return self._save_new(
            product, lambda: self._registered(product_id, details, "product", sku)
        )

    def update_product(self, sku: str, changes: dict, actor: str) -> Product:
        return self._change(product_id_for(sku), "product", lambda p: p.update(changes, actor))

    def product(self, sku: str) -> Product | None:
        product_id = product_id_for(sku)
        return self.repository.get(product_id) if self.exists(product_id) else None

    def list_clients(self, query: dict) -> dict:
        with self.engine.connect() as conn:
            return queries.list_catalogue(conn, self.tables["clients"], "code", query)

    def list_products(self, query: dict) -> dict:
        with self.engine.connect() as conn:
            return queries.list_catalogue(conn, self.tables["products"], "sku", query)

    def catalogue_row(self, table: str, key: str):
        """The catalogue's read model is written with each save, so it is as current as the log."""
        with self.engine.connect() as conn:
            return queries.catalogue_row(conn, self.tables[table], key)

    def _registered(self, aggregate_id, details, what, key):
        return _same_or_conflict(self.get(aggregate_id, what), details, what, key)

    def _save_new(self, aggregate, on_conflict):
        try:
            self.save(aggregate)
        except IntegrityError:
            return on_conflict()
        return aggregate


def _same_or_conflict(existing, details: dict, what: str, key: str):
    if all(getattr(existing, k) == v for k, v in details.items()):
        return existing
    raise Conflict(f"{what} {key} is already registered with other details", {"code": key})
