"""Billing use cases: an order accepted upstream becomes exactly one unpaid invoice."""

from uuid import NAMESPACE_URL, uuid5

from services.billing.domain import Invoice
from shared.contracts import load
from shared.readmodels import OrderIndexed
from shared.store import ServiceApplication

INVOICE_IDS = uuid5(NAMESPACE_URL, "https://oms.example/invoices")


class BillingApplication(OrderIndexed, ServiceApplication):
    service = "billing"
    follows = ("orders",)

    def react(self, envelope: dict) -> list:
        if envelope["type"] != "orders.order_accepted":
            return []
        order = load("orders.order_accepted", envelope["data"])
        invoice_id = uuid5(INVOICE_IDS, order["order_id"])
        if self.exists(invoice_id):
            return []
        lines = [
            {k: line[k] for k in ("sku", "name", "quantity", "unit_price", "currency")}
            for line in order["lines"]
        ]
        return [
            Invoice(
                id=invoice_id,
                order_id=order["order_id"],
                order_reference=order["reference"],
                client=order["client"],
                lines=lines,
                currency=order["currency"],
            )
        ]

    def integration_event(self, domain_event):
        if not isinstance(domain_event, Invoice.Issued):
            return None
        invoice = self.state_at(domain_event)
        return "invoice_issued", {
            "invoice_id": str(invoice.id),
            "order_id": invoice.order_id,
            "order_reference": invoice.order_reference,
            "client": invoice.client,
            "status": invoice.status,
            "total": invoice.total,
            "currency": invoice.currency,
        }
