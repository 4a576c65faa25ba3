"""Public events of the production service: every one carries the production order as it stands
after the change (status, produced quantity, hold) plus the change's own fields."""

from marshmallow import Schema, fields

from shared.contracts import Contract


class RerunOf(Schema):
    production_order_id = fields.String(required=True)
    number = fields.String(required=True)
    order_id = fields.String(required=True)
    order_reference = fields.String(required=True)


class WorkSheet(Schema):
    number = fields.String(required=True)
    revision = fields.Integer(required=True)
    issued_on = fields.String(required=True)
    sha256 = fields.String(required=True)


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
    # since 2026-12 (optional): the workshop's lifecycle
    actor = fields.String(allow_none=True)
    number = fields.String()
    produced = fields.Integer()
    on_hold = fields.Boolean()
    planned_date = fields.String(allow_none=True)
    rerun_of = fields.Nested(RerunOf, allow_none=True)


class ProductionOrderCreated(ProductionOrderEvent):
    """A production order was planned for a made-in-house line."""

    name = "production_order_created"


class ProductionOrderReleased(ProductionOrderEvent):
    """A production order was released to the workshop."""

    name = "production_order_released"


class ProductionOrderStarted(ProductionOrderEvent):
    """The workshop started a production order."""

    name = "production_order_started"


class ProductionRecorded(ProductionOrderEvent):
    """Some of the quantity is produced (`produced_now` this time, `produced` in all)."""

    name = "production_recorded"
    produced_now = fields.Integer(required=True)


class ProductionOrderFinished(ProductionOrderEvent):
    """The made-in-house line is produced: orders marks it ready."""

    name = "production_order_finished"
    actor = fields.String(allow_none=True, required=True)


class ProductionOrderCancelled(ProductionOrderEvent):
    """A production order was cancelled, saying why."""

    name = "production_order_cancelled"
    reason = fields.String(required=True)


class ProductionOrderHeld(ProductionOrderEvent):
    """A production order was put on hold, saying why."""

    name = "production_order_held"
    reason = fields.String(required=True)


class ProductionOrderResumed(ProductionOrderEvent):
    """A held production order was resumed."""

    name = "production_order_resumed"
    reason = fields.String(required=True)


class ProductionFileAttached(ProductionOrderEvent):
    """A file (artwork, proof) was attached to a production order, named by its SHA-256."""

    name = "production_file_attached"


class ProductionFileCertified(ProductionOrderEvent):
    """A production file was certified fit to print."""

    name = "production_file_certified"
    file_id = fields.String(required=True)


class WorkSheetIssued(ProductionOrderEvent):
    """A production order's work sheet (PDF) was issued, with its SHA-256."""

    name = "work_sheet_issued"
    work_sheet = fields.Nested(WorkSheet, required=True)
