"""The fulfilment service: purchase orders to distributors for shipped shippings."""

from marshmallow import Schema, fields

from services.fulfilment.application import FulfilmentApplication
from shared.service import EventLogRpc, EventSourced, check_id, command


class PurchaseOrderOut(Schema):
    id = fields.String()
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
