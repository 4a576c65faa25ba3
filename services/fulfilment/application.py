"""Fulfilment use cases: a shipped shipping raises one purchase order per distributor."""

from uuid import NAMESPACE_URL, uuid5

from services.fulfilment.domain import PurchaseOrder
from services.fulfilment.publishing import PUBLISHED
from shared.contracts import load
from shared.readmodels import OrderIndexed
from shared.store import ServiceApplication

PURCHASE_IDS = uuid5(NAMESPACE_URL, "https://oms.example/purchase-orders")


class FulfilmentApplication(OrderIndexed, ServiceApplication):
    service = "fulfilment"
    follows = ("orders",)
    published = PUBLISHED
    reactions = {"orders.shipping_shipped": "_raise"}

    def _raise(self, envelope: dict) -> list:
        """One purchase order per distributor of the shipping's bought-in lines."""
        shipped = load("orders.shipping_shipped", envelope["data"])
        by_distributor: dict[str, list] = {}
        for line in shipped["lines"]:
            if line["distributor"] and not line["made_in_house"]:
                by_distributor.setdefault(line["distributor"], []).append(
                    {k: line[k] for k in ("sku", "name", "quantity", "unit_price", "currency")}
                )
        raised = []
        for distributor, lines in sorted(by_distributor.items()):
            po_id = uuid5(PURCHASE_IDS, f"{shipped['shipping_id']}:{distributor}")
            if not self.exists(po_id):
                raised.append(
                    PurchaseOrder(
                        id=po_id,
                        order_id=shipped["order_id"],
                        order_reference=shipped["reference"],
                        shipping_id=shipped["shipping_id"],
                        distributor=distributor,
                        lines=lines,
                    )
                )
        return raised
