"""The production service: production orders for made-in-house lines."""

from marshmallow import Schema, fields

from services.production.application import ProductionApplication
from shared.errors import EXPECTED
from shared.service import EventLogRpc, EventSourced, check_id, rpc


class ProductionOrderOut(Schema):
    id = fields.String()
    order_id = fields.String()
    order_reference = fields.String()
    sku = fields.String()
    name = fields.String()
    quantity = fields.Integer()
    status = fields.String()


class ProductionService(EventLogRpc):
    name = "production"
    store = EventSourced(ProductionApplication)

    @rpc(expected_exceptions=EXPECTED)
    def production_orders_for_order(self, order_id):
        """`[{"id": …, "sku": "CARD-9", "quantity": 100, "status": "planned", …}]`."""
        check_id(order_id=order_id)
        return ProductionOrderOut(many=True).dump(self.store.for_order(order_id))
