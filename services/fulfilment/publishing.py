"""What the fulfilment service publishes: each private domain event mapped to a public contract."""

from services.fulfilment.domain import PurchaseOrder
from shared.publishing import Publish


def purchase_order_data(app, domain_event) -> dict:
    po = app.state_at(domain_event)
    return {
        "purchase_order_id": str(po.id),
        "order_id": po.order_id,
        "order_reference": po.order_reference,
        "shipping_id": po.shipping_id,
        "distributor": po.distributor,
        "lines": po.lines,
        "status": po.status,
        "version": po.version,
    }


PUBLISHED = {PurchaseOrder.Raised: Publish("purchase_order_raised", purchase_order_data)}
