"""Fulfilment use cases: the distributors and products it buys (registry.py) and the purchase
orders a shipped shipping raises, sends and follows to the end (purchasing.py)."""

from services.fulfilment.distributors import Distributor
from services.fulfilment.publishing import PUBLISHED
from services.fulfilment.purchasing import Purchasing
from services.fulfilment.registry import Registry
from shared.readmodels import OrderIndexed, rebuilding
from shared.sender import Sends
from shared.store import ServiceApplication


class FulfilmentApplication(Purchasing, Registry, Sends, OrderIndexed, ServiceApplication):
    service = "fulfilment"
    follows = ("orders",)
    published = PUBLISHED
    reactions = {
        "orders.shipping_shipped": "_raise",
        "orders.order_voided": "_cancel_for_void",
        "orders.product_registered": "_know_product",
        "orders.product_updated": "_know_product",
    }

    def rebuild_read_model(self) -> dict:
        """The outbox and the register of distributors, written again from the whole log."""
        sends = self.rebuild_outbox()
        with rebuilding(self, self.distributors) as session:
            found = [a for a in self.replay_all().values() if isinstance(a, Distributor)]
            if found:
                rows = [{"code": d.code, "id": str(d.id)} for d in found]
                session.execute(self.distributors.insert(), rows)
        return {"sends": sends, "distributors": len(found)}
