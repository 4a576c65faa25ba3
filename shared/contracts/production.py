"""Public events of the production service."""

from marshmallow import fields

from shared.contracts import Contract


class ProductionOrderCreated(Contract):
    service = "production"
    name = "production_order_created"
    production_order_id = fields.String(required=True)
    order_id = fields.String(required=True)
    order_reference = fields.String(required=True)
    sku = fields.String(required=True)
    name_ = fields.String(required=True, data_key="product_name")
    quantity = fields.Integer(required=True)
    status = fields.String(required=True)
