"""Public events of the production service."""

from marshmallow import fields

from shared.contracts import Contract


class ProductionOrderEvent(Contract):
    service = "production"
    production_order_id = fields.String(required=True)
    order_id = fields.String(required=True)
    order_reference = fields.String(required=True)
    sku = fields.String(required=True)
    name_ = fields.String(required=True, data_key="product_name")
    quantity = fields.Integer(required=True)
    status = fields.String(required=True)
    version = fields.Integer()  # since 2026-12 (optional): the production order's version


class ProductionOrderCreated(ProductionOrderEvent):
    name = "production_order_created"


class ProductionOrderFinished(ProductionOrderEvent):
    """The made-in-house line is produced: orders marks it ready."""

    name = "production_order_finished"
    actor = fields.String(allow_none=True, required=True)
