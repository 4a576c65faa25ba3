"""Fulfilment use cases: a shipped shipping raises one purchase order per distributor."""

from datetime import UTC, datetime
from uuid import NAMESPACE_URL, uuid5

from services.fulfilment import documents
from services.fulfilment.domain import PurchaseOrder
from services.fulfilment.publishing import PUBLISHED
from shared.contracts import load
from shared.documents import served
from shared.errors import NotFound
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
        raised, count = [], len(self.for_order(shipped["order_id"]))
        today = datetime.now(UTC).date().isoformat()
        for distributor, lines in sorted(by_distributor.items()):
            po_id = uuid5(PURCHASE_IDS, f"{shipped['shipping_id']}:{distributor}")
            if not self.exists(po_id):
                count += 1
                number = f"PO-{shipped['reference']}-{count}"
                document = documents.issued(
                    number, shipped, distributor, lines, self.settings, today
                )
                raised.append(
                    PurchaseOrder(
                        id=po_id,
                        order_id=shipped["order_id"],
                        order_reference=shipped["reference"],
                        shipping_id=shipped["shipping_id"],
                        distributor=distributor,
                        lines=lines,
                        number=number,
                        document=document,
                    )
                )
        return raised

    def purchase_order_pdf(self, purchase_order_id: str) -> dict:
        po = self.get(purchase_order_id, "purchase order")
        if not isinstance(po, PurchaseOrder) or po.document is None:
            raise NotFound(
                f"purchase order {purchase_order_id} has no document (raised before they were"
                " issued)",
                {"id": purchase_order_id, "kind": "purchase_order"},
            )
        content = documents.render(po.document)
        layout = po.document.get("layout")
        return served(
            "purchase_order", str(po.id), po.number, po.document["sha256"], content, layout
        )
