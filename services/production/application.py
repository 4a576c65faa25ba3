"""Production use cases: each made-in-house line of an accepted order gets one production order."""

from uuid import NAMESPACE_URL, uuid5

from services.production.domain import ProductionOrder
from services.production.publishing import PUBLISHED
from shared.contracts import load
from shared.readmodels import OrderIndexed
from shared.store import ServiceApplication

PRODUCTION_IDS = uuid5(NAMESPACE_URL, "https://oms.example/production-orders")


class ProductionApplication(OrderIndexed, ServiceApplication):
    service = "production"
    follows = ("orders",)
    published = PUBLISHED
    reactions = {"orders.order_accepted": "_plan"}

    def _plan(self, envelope: dict) -> list:
        """One production order per made-in-house line (a replay plans nothing new)."""
        order = load("orders.order_accepted", envelope["data"])
        planned = []
        for line in order["lines"]:
            production_id = uuid5(PRODUCTION_IDS, f"{order['order_id']}:{line['sku']}")
            if line["made_in_house"] and not self.exists(production_id):
                planned.append(
                    ProductionOrder(
                        id=production_id,
                        order_id=order["order_id"],
                        order_reference=order["reference"],
                        sku=line["sku"],
                        name=line["name"],
                        quantity=line["quantity"],
                    )
                )
        return planned

    def finish(self, production_order_id: str, actor: str) -> ProductionOrder:
        def finish():
            production_order = self.get(production_order_id, "production order")
            production_order.finish(actor)
            self.save(production_order)
            return production_order

        return self.retrying(
            finish, replay=lambda: self.get(production_order_id, "production order")
        )
