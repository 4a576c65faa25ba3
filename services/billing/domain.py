"""The Invoice aggregate: what a client owes for an accepted order."""

from decimal import Decimal
from uuid import UUID

from eventsourcing.domain import Aggregate, event


class Invoice(Aggregate):
    @event("Issued")
    def __init__(
        self,
        id: UUID,
        order_id: str,
        order_reference: str,
        client: dict,
        lines: list,
        currency: str,
    ):
        self.order_id = order_id
        self.order_reference = order_reference
        self.client = client
        self.lines = lines
        self.currency = currency
        self.status = "unpaid"

    @property
    def total(self) -> Decimal:
        return sum((line["unit_price"] * line["quantity"] for line in self.lines), Decimal("0"))
