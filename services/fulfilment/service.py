"""The fulfilment service: purchase orders to distributors for shipped shippings."""

from marshmallow import Schema, fields

from services.fulfilment.application import FulfilmentApplication
from shared.errors import NotFound
from shared.service import EventLogRpc, EventSourced, check_id, command


class PurchaseOrderOut(Schema):
    id = fields.String()
    number = fields.String(allow_none=True)
    order_id = fields.String()
    order_reference = fields.String()
    shipping_id = fields.String()
    distributor = fields.String()
    lines = fields.Method("dump_lines")
    status = fields.String()

    def dump_lines(self, po):
        return [dict(line, unit_price=str(line["unit_price"])) for line in po.lines]


class FulfilmentService(EventLogRpc):
    name = "fulfilment"
    app = EventSourced(FulfilmentApplication)

    @command
    def purchase_orders_for_order(self, order_id):
        """`[{"id": …, "distributor": "acme", "lines": [{"sku": "MUG-1", "quantity": 3, …}], …}]`."""
        check_id(order_id=order_id)
        return PurchaseOrderOut(many=True).dump(self.app.for_order(order_id))

    @command
    def document(self, kind, document_id, revision=None):
        """`document("purchase_order", id)`: `{"filename", "content_type": "application/pdf",
        "sha256" (recorded when it was raised), "content": "<base64>", …}`."""
        if kind != "purchase_order":
            raise NotFound(f"fulfilment has no {kind} documents", {"kind": kind})
        check_id(id=document_id)
        if revision not in (None, 1):  # issued once, never revised
            raise NotFound(f"a {kind} has one revision", {"id": document_id, "revision": revision})
        return self.app.purchase_order_pdf(document_id)
