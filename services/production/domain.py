"""The ProductionOrder aggregate: a made-in-house line of an accepted order, to be produced."""

from uuid import UUID

from eventsourcing.domain import Aggregate, event


class ProductionOrder(Aggregate):
    @event("Planned")
    def __init__(
        self, id: UUID, order_id: str, order_reference: str, sku: str, name: str, quantity: int
    ):
        self.order_id = order_id
        self.order_reference = order_reference
        self.sku = sku
        self.name = name
        self.quantity = quantity
        self.status = "planned"

    def finish(self, actor: str | None) -> None:
        """Finishing a finished production order changes nothing (retries are safe)."""
        if self.status != "finished":
            self._finish(actor=actor)

    @event("Finished")
    def _finish(self, actor: str | None) -> None:
        self.status = "finished"
