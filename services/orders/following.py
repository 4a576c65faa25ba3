"""What the orders service learns from the services it follows: the payment status billing
publishes, each line's production, and an own courier bringing (and delivering) a shipping."""

from uuid import UUID

from services.orders.domain import Order
from shared.contracts import REGISTRY

PAYMENT_STATUSES = ("unpaid", "partially_paid", "paid", "overpaid", "voided")
BILLING_EVENTS = tuple(t for t in REGISTRY if t.startswith("billing."))
PRODUCTION_EVENTS = tuple(t for t in REGISTRY if t.startswith("production."))


class Following:
    """Mixin of the orders application: its reactions (`reactions`, a table)."""

    follows = ("billing", "production", "fulfilment")
    reactions = {
        **{kind: "_follow_billing" for kind in BILLING_EVENTS},
        **{kind: "_follow_production" for kind in PRODUCTION_EVENTS},
        "fulfilment.courier_assigned": "_follow_courier",
        "fulfilment.courier_delivered": "_follow_courier",
    }

    def _follow_billing(self, envelope: dict) -> list:
        """The payment status billing published (over all the order's invoices) and its channel."""
        order, data, source = self._order_of(envelope), envelope["data"], envelope["id"]
        if order is None:
            return []
        changed = False
        if envelope["type"] == "billing.payment_channel_changed":
            changed = order.record_payment_method(data["channel"], source)
        status = data.get("payment_status")
        if status is None and envelope["type"] == "billing.invoice_issued":
            status = "unpaid"  # invoices published before payment statuses were
        if status in PAYMENT_STATUSES:
            changed = order.record_payment_status(status, source) or changed
        return [order] if changed else []

    def _follow_production(self, envelope: dict) -> list:
        """Each line shows the production orders covering it: in production, partially
        produced, ready (events published before quantities were: finished = all produced)."""
        data = envelope["data"]
        order = self._order_of(envelope)
        if order is None:
            return []
        finished = data["status"] == "finished"
        job = {
            "production_order_id": data["production_order_id"],
            "sku": data["sku"],
            "status": data["status"],
            "quantity": data["quantity"],
            "produced": data.get("produced", data["quantity"] if finished else 0),
        }
        return [order] if order.follow_production(job, envelope["id"]) else []

    def _follow_courier(self, envelope: dict) -> list:
        """Who is bringing a shipping and about when; delivered, when the courier says so."""
        order, data = self._order_of(envelope), envelope["data"]
        if order is None or not any(s["id"] == data["shipping_id"] for s in order.shippings):
            return []
        if envelope["type"] == "fulfilment.courier_delivered":
            changed = order.deliver_shipping(data["shipping_id"], envelope["id"])
        else:
            courier = {"name": data["courier"]["name"], "eta": data["eta"]}
            changed = order.note_courier(data["shipping_id"], courier, envelope["id"])
        return [order] if changed else []

    def _order_of(self, envelope: dict) -> Order | None:
        order_id = envelope["data"].get("order_id")
        if not order_id or not self.exists(UUID(order_id)):
            return None
        return self.get(order_id, "order")
