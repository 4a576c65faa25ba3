"""Purchase orders from raise to close: a shipped shipping raises one per distributor of its
bought-in lines (at the cost prices fulfilment knows) and asks the sender to send it (sending.py
is the sender's side); operators edit cost prices before it goes, send it at once, receive goods,
close and cancel; a voided order cancels its purchase orders (and a sent one is cancelled with the
distributor too).

The address a purchase order delivers to is the client's, kept sealed as the shipping event
carried it (with the key of the client's `subject`, which the purchase order names): it is
opened to render the PDF whose hash is recorded (here, in the reaction), and when sent."""

import time
from datetime import UTC, datetime
from uuid import NAMESPACE_URL, uuid5

from services.fulfilment import documents
from services.fulfilment.delivering import run_id_for
from services.fulfilment.domain import CANCELLABLE, PurchaseOrder
from shared.contracts import load
from shared.documents import served
from shared.errors import NotFound
from shared.personal import client_subject
from shared.refusals import Missing

PURCHASE_IDS = uuid5(NAMESPACE_URL, "https://oms.example/purchase-orders")


def now_iso() -> str:
    return datetime.now(UTC).isoformat()


class Purchasing:
    """Mixin of the fulfilment application: purchase orders and their sends."""

    send_requested = (PurchaseOrder.SendRequested,)
    send_attempted = (PurchaseOrder.Attempted,)
    send_moved = (PurchaseOrder.SendMoved,)

    # -- reactions -----------------------------------------------------------------------------------
    def _raise(self, envelope: dict) -> list:
        """One purchase order per distributor of the shipping's bought-in lines."""
        shipped = load("orders.shipping_shipped", envelope["data"])
        by_distributor: dict[str, list] = {}
        for line in shipped["lines"]:
            if line["distributor"] and not line["made_in_house"]:
                by_distributor.setdefault(line["distributor"], []).append(line)
        if self.exists(run_id_for(shipped["shipping_id"])):
            return []  # an own courier delivers it from stock: nothing is bought for it
        raised, count = [], len(self.purchase_orders_of(shipped["order_id"]))
        today = datetime.now(UTC).date().isoformat()
        client = shipped["client"]  # older events name no subject: the one orders gave them
        subject = client.get("subject") or client_subject(client.get("code"), shipped["order_id"])
        for code, lines in sorted(by_distributor.items()):
            po_id = uuid5(PURCHASE_IDS, f"{shipped['shipping_id']}:{code}")
            if self.exists(po_id):
                continue
            count += 1
            distributor = self.known_distributor(code)
            priced = [self._priced(line, code) for line in lines]
            number = f"PO-{shipped['reference']}-{count}"
            po = PurchaseOrder(
                id=po_id,
                order_id=shipped["order_id"],
                order_reference=shipped["reference"],
                shipping_id=shipped["shipping_id"],
                distributor=code,
                lines=priced,
                number=number,
                document=documents.issued(
                    number, shipped, code, priced, self.settings, today, self.keyring.open_all
                ),
                channel=distributor.ordering["channel"] if distributor else None,
                deliver_to=shipped["address"],
                planned_date=shipped["planned_date"],
                subject=subject,
            )
            if distributor is not None and distributor.active:
                due = time.time() + self.settings.po_send_delay_seconds
                po.request_send("order", po.channel, due)
            raised.append(po)
        return raised

    def _priced(self, line: dict, distributor: str) -> dict:
        kept = {k: line[k] for k in ("sku", "name", "quantity", "unit_price", "currency")}
        supply = self.supply(line["sku"])
        price = supply.cost_price(distributor) if supply else None
        return dict(kept, cost_price=price, cost_source="catalogue" if price is not None else None)

    def _cancel_for_void(self, envelope: dict) -> list:
        """A voided order cancels its open purchase orders."""
        voided = load("orders.order_voided", envelope["data"])
        cancelled = []
        for po in self.purchase_orders_of(voided["order_id"]):
            if po.status in CANCELLABLE:
                self._cancel(po, f"order voided: {voided.get('reason') or ''}".strip(), None, True)
                cancelled.append(po)
        return cancelled

    def _cancel(self, po: PurchaseOrder, reason: str, actor: str | None, by_void: bool) -> None:
        if not po.cancel(reason, actor, by_void):
            return
        order = po.send_of("order")
        if order is None:
            return
        if order["status"] == "sending":  # not gone yet: it never will
            po.move_send(order["send_id"], None, True, actor)
        # an attempt that failed may have reached the distributor all the same (a timeout after
        # it took the order): tell it too; one that never had it answers that it has nothing
        if order["status"] == "sent" or order["attempts"]:
            po.request_send("cancellation", order["channel"], time.time())

    # -- what operators do ---------------------------------------------------------------------------
    def purchase_orders_of(self, order_id: str) -> list[PurchaseOrder]:
        return [a for a in self.for_order(order_id) if isinstance(a, PurchaseOrder)]

    def purchase_order(self, purchase_order_id: str) -> PurchaseOrder:
        po = self.get(purchase_order_id, "purchase order")
        if not isinstance(po, PurchaseOrder):
            raise NotFound(
                f"purchase order {purchase_order_id} not found", {"id": purchase_order_id}
            )
        return po

    def _change(self, purchase_order_id: str, change) -> PurchaseOrder:
        def command():
            po = self.purchase_order(purchase_order_id)
            change(po)
            self.save(po)
            return po

        return self.retrying(command, replay=lambda: self.purchase_order(purchase_order_id))

    def edit_costs(self, purchase_order_id: str, costs: dict, reason, actor: str):
        def change(po):
            revision = len(po.documents) + 1
            shipped = {
                "reference": po.order_reference,
                "address": po.deliver_to,
                "planned_date": po.planned_date,
            }
            today = datetime.now(UTC).date().isoformat()

            def document(lines):
                return documents.issued(
                    po.number, shipped, po.distributor, lines, self.settings, today,
                    self.keyring.open_all, revision,
                )  # fmt: skip

            po.edit_costs(costs, document, reason, actor)

        return self._change(purchase_order_id, change)

    def send_now(self, purchase_order_id: str, actor: str) -> PurchaseOrder:
        """Send it without waiting for the rest of the delay (or at all: one raised before its
        distributor was registered is sent now that it is)."""

        def change(po):
            order = po.send_of("order")
            if po.status != "raised" or (order and order["status"] != "sending"):
                raise Missing(
                    f"purchase order {po.number} has nothing waiting to be sent", id=str(po.id)
                )
            if order is None:
                distributor = self.distributor(po.distributor)
                po.request_send("order", distributor.ordering["channel"], time.time())
            else:
                po.move_send(order["send_id"], time.time(), False, actor)

        return self._change(purchase_order_id, change)

    def cancel(self, purchase_order_id: str, reason: str, actor: str) -> PurchaseOrder:
        return self._change(purchase_order_id, lambda po: self._cancel(po, reason, actor, False))

    def receive(self, purchase_order_id: str, lines: list, actor: str) -> PurchaseOrder:
        return self._change(purchase_order_id, lambda po: po.receive(lines, actor))

    def close_purchase_order(self, purchase_order_id: str, reason, actor: str) -> PurchaseOrder:
        return self._change(purchase_order_id, lambda po: po.close(reason, actor))

    def purchase_order_pdf(self, purchase_order_id: str, revision: int | None = None) -> dict:
        po = self.purchase_order(purchase_order_id)
        if not po.documents:
            raise NotFound(
                f"purchase order {purchase_order_id} has no document (raised before they were"
                " issued)",
                {"id": purchase_order_id, "kind": "purchase_order"},
            )
        if revision is not None and not 1 <= revision <= len(po.documents):
            raise NotFound(
                f"purchase order {po.number} has {len(po.documents)} revision(s)",
                {"id": purchase_order_id, "revision": revision},
            )
        document = po.documents[(revision or len(po.documents)) - 1]
        content = documents.render(document, self.keyring.open_all)
        layout = document.get("layout")
        return served("purchase_order", str(po.id), po.number, document["sha256"], content, layout)

    def sends(self, status: str | None) -> list[dict]:
        return self.outbox.entries(self.engine, status)
