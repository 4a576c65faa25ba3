"""The PurchaseOrder aggregate: what one distributor is asked to deliver for one shipping."""

from uuid import UUID

from eventsourcing.domain import Aggregate, event


class PurchaseOrder(Aggregate):
    @event("Raised")
    def __init__(
        self,
        id: UUID,
        order_id: str,
        order_reference: str,
        shipping_id: str,
        distributor: str,
        lines: list,
        number: str | None = None,
        document: dict | None = None,
    ):
        """`document` (since 2026-12): the purchase order as issued — its content and the
        SHA-256 of its PDF (documents.py)."""
        self.order_id = order_id
        self.order_reference = order_reference
        self.shipping_id = shipping_id
        self.distributor = distributor
        self.lines = lines
        self.number = number
        self.document = document
        self.status = "raised"
