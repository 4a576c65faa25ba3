"""The production service: production orders for made-in-house lines."""

from marshmallow import Schema, fields

from services.production.application import ProductionApplication
from shared.service import EventLogRpc, EventSourced, check_id, command, who


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
    app = EventSourced(ProductionApplication)

    @command
    def production_orders_for_order(self, order_id):
        """`[{"id": …, "sku": "CARD-9", "quantity": 100, "status": "planned", …}]`."""
        check_id(order_id=order_id)
        return ProductionOrderOut(many=True).dump(self.app.for_order(order_id))

    @command
    def finish_production_order(self, production_order_id):
        """Mark a production order finished; orders then marks its line ready.
        `finish_production_order("5d2e…")` -> the production order."""
        check_id(production_order_id=production_order_id)
        return ProductionOrderOut().dump(self.app.finish(production_order_id, who()))
