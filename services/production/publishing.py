"""What the production service publishes: each private domain event mapped to a public contract.
The work sheet's content, the brief of each order and notes copied from orders stay private."""

from services.production.domain import ProductionOrder
from shared.publishing import Publish


def production_order_data(app, domain_event) -> dict:
    job = app.state_at(domain_event)
    data = {
        "actor": getattr(domain_event, "actor", None),
        "production_order_id": str(job.id),
        "order_id": job.order_id,
        "order_reference": job.order_reference,
        "number": job.number,
        "sku": job.sku,
        "name_": job.name,
        "quantity": job.quantity,
        "produced": job.produced,
        "status": job.status,
        "on_hold": job.hold is not None,
        "planned_date": job.planned_date,
        "rerun_of": job.rerun_of,
        "version": job.version,
    }
    for key in ("reason", "file_id"):
        if hasattr(domain_event, key):
            data[key] = getattr(domain_event, key)
    if isinstance(domain_event, ProductionOrder.Produced):
        data["produced_now"] = domain_event.quantity
    if isinstance(domain_event, ProductionOrder.WorkSheetIssued):
        sheet = domain_event.sheet
        data["work_sheet"] = {k: sheet[k] for k in ("number", "revision", "issued_on", "sha256")}
    return data


NAMES = {
    ProductionOrder.Planned: "production_order_created",
    ProductionOrder.Released: "production_order_released",
    ProductionOrder.Started: "production_order_started",
    ProductionOrder.Produced: "production_recorded",
    ProductionOrder.Finished: "production_order_finished",
    ProductionOrder.Cancelled: "production_order_cancelled",
    ProductionOrder.Held: "production_order_held",
    ProductionOrder.Resumed: "production_order_resumed",
    ProductionOrder.FileAttached: "production_file_attached",
    ProductionOrder.FileCertified: "production_file_certified",
    ProductionOrder.WorkSheetIssued: "work_sheet_issued",
}
PUBLISHED = {kind: Publish(name, production_order_data) for kind, name in NAMES.items()}
