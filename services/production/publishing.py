"""What the production service publishes: each private domain event mapped to a public contract."""

from services.production.domain import ProductionOrder
from shared.publishing import Publish


def production_order_data(app, domain_event) -> dict:
    po = app.state_at(domain_event)
    return {
        "actor": getattr(domain_event, "actor", None),
        "production_order_id": str(po.id),
        "order_id": po.order_id,
        "order_reference": po.order_reference,
        "sku": po.sku,
        "name_": po.name,
        "quantity": po.quantity,
        "status": po.status,
        "version": po.version,
    }


PUBLISHED = {
    ProductionOrder.Planned: Publish("production_order_created", production_order_data),
    ProductionOrder.Finished: Publish("production_order_finished", production_order_data),
}
