"""Fulfilment use cases: the distributors and products it buys (registry.py), the purchase
orders a shipped shipping raises and follows to the end (purchasing.py) and sends (sending.py),
stock and price live and from feeds (availability.py), the best source of some lines
(choosing.py), and own couriers' deliveries (delivering.py).

What it keeps of a client (a purchase order's address, a courier's delivery) stays sealed with
the client's key as orders sent it; it is opened where it is rendered, sent or shown, with keys
`keyring` asks orders for. Nothing it keeps in a table is personal: a forgotten client's key is
only dropped from the keyring at once."""

from services.fulfilment.availability import Availability
from services.fulfilment.choosing import BestSource
from services.fulfilment.couriers import Courier
from services.fulfilment.delivering import Delivering
from services.fulfilment.distributors import Distributor
from services.fulfilment.publishing import PUBLISHED
from services.fulfilment.purchasing import Purchasing
from services.fulfilment.registry import Registry
from services.fulfilment.sending import Sending
from shared.contracts import load
from shared.outbox import Sends
from shared.readmodels import OrderIndexed, ReadModel, rebuilding
from shared.store import ServiceApplication


class FulfilmentApplication(
    Delivering,
    BestSource,
    Availability,
    Sending,
    Purchasing,
    Registry,
    Sends,
    OrderIndexed,
    ServiceApplication,
):
    service = "fulfilment"
    follows = ("orders",)
    published = PUBLISHED
    reactions = {
        "orders.shipping_shipped": "_raise",
        "orders.order_voided": "_cancel_for_void",
        "orders.product_registered": "_know_product",
        "orders.product_updated": "_know_product",
        "orders.client_forgotten": "_forget_client",
    }
    opening = frozenset({"orders.shipping_shipped"})  # its purchase orders print the address

    def _forget_client(self, envelope: dict) -> list:
        """Its key is no longer kept: what is sealed for it opens to "forgotten client"."""
        self.keyring.forget(load("orders.client_forgotten", envelope["data"])["subject"])
        return []

    def opened(self, data):
        """An answer with what is sealed in it opened: what an RPC shows."""
        return self.keyring.open_all(data)

    def read_models(self) -> dict:
        return {
            **super().read_models(),
            "distributors": ReadModel((self.distributors, self.couriers), self.rebuild_register),
            "feeds": ReadModel((self.feed_items, self.feed_status), self.rebuild_feeds),
        }

    def rebuild_read_model(self) -> dict:
        """The outbox, the register of distributors and the feeds' latest snapshots, written
        again from the whole log."""
        sends, feeds = self.rebuild_outbox(), self.rebuild_feeds()
        found = self.rebuild_register()
        return {"sends": sends, "distributors": found, "feeds": feeds}

    def rebuild_register(self) -> int:
        """The distributors and couriers by code; answers how many distributors."""
        with rebuilding(self, self.distributors, self.couriers) as session:
            everything = self.replay_all().values()
            found = [a for a in everything if isinstance(a, Distributor)]
            couriers = [a for a in everything if isinstance(a, Courier)]
            for table, rows in ((self.distributors, found), (self.couriers, couriers)):
                if rows:
                    session.execute(
                        table.insert(), [{"code": r.code, "id": str(r.id)} for r in rows]
                    )
        return len(found)
