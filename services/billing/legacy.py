"""Invoices stored before billing kept one account per order: read back and published as before.

Their events are stored under `services.billing.domain:Invoice`; registering that topic keeps old
stores replayable (`events_after` from 0 still yields their `invoice_issued`).
"""

from decimal import Decimal
from uuid import UUID

from eventsourcing.domain import Aggregate, event
from eventsourcing.utils import register_topic


class LegacyInvoice(Aggregate):
    @event("Issued")
    def __init__(
        self,
        id: UUID,
        order_id: str,
        order_reference: str,
        client: dict,
        lines: list,
        currency: str,
    ):
        self.order_id, self.order_reference, self.client = order_id, order_reference, client
        self.lines, self.currency, self.status = lines, currency, "unpaid"

    @property
    def total(self) -> Decimal:
        return sum((line["unit_price"] * line["quantity"] for line in self.lines), Decimal("0"))


register_topic("services.billing.domain:Invoice", LegacyInvoice)
register_topic("services.billing.domain:Invoice.Issued", LegacyInvoice.Issued)


def legacy_invoice_data(app, domain_event) -> dict:
    """An old invoice, published as `invoice_issued` as it was then."""
    invoice = domain_event.mutate(None)
    return {
        "invoice_id": str(invoice.id),
        "order_id": invoice.order_id,
        "order_reference": invoice.order_reference,
        "client": invoice.client,
        "status": invoice.status,
        "total": invoice.total,
        "currency": invoice.currency,
    }
