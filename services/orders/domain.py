"""The Order aggregate: a client's order, its lines and shippings, and its status machine."""

from decimal import Decimal
from uuid import UUID

from eventsourcing.domain import Aggregate, event

OPEN = ("new", "accepted", "partially_shipped")


class Order(Aggregate):
    @event("Placed")
    def __init__(
        self,
        id: UUID,
        reference: str,
        client: dict,
        channel: str,
        lines: list,
        shippings: list,
        payment_method: str | None,
        note: str | None,
    ):
        self.reference = reference
        self.client = client
        self.channel = channel
        self.lines = lines
        self.shippings = [dict(s, status="pending") for s in shippings]
        self.payment_method = payment_method
        self.note = note
        self.status = "new"
        self.decline_reason = None

    @property
    def currency(self) -> str:
        return self.lines[0]["currency"]

    @property
    def total(self) -> Decimal:
        return sum((line["unit_price"] * line["quantity"] for line in self.lines), Decimal("0"))

    def line(self, sku: str) -> dict:
        return next(line for line in self.lines if line["sku"] == sku)

    def shipping(self, shipping_id: str) -> dict:
        for shipping in self.shippings:
            if shipping["id"] == shipping_id:
                return shipping
        raise UnknownShipping(shipping_id)

    def accept(self) -> None:
        self.check_status("accept", "new")
        self._accept()

    @event("Accepted")
    def _accept(self) -> None:
        self.status = "accepted"

    def decline(self, reason: str) -> None:
        self.check_status("decline", "new")
        self._decline(reason)

    @event("Declined")
    def _decline(self, reason: str) -> None:
        self.status = "declined"
        self.decline_reason = reason

    def ship(self, shipping_id: str) -> None:
        self.check_status("ship", "accepted", "partially_shipped")
        if self.shipping(shipping_id)["status"] != "pending":
            raise TransitionRefused("ship", self.status, "shipping_already_shipped")
        self._ship(shipping_id)

    @event("ShippingShipped")
    def _ship(self, shipping_id: str) -> None:
        self.shipping(shipping_id)["status"] = "shipped"
        done = all(s["status"] == "shipped" for s in self.shippings)
        self.status = "shipped" if done else "partially_shipped"

    def check_status(self, command: str, *allowed: str) -> None:
        if self.status not in allowed:
            raise TransitionRefused(
                command, self.status, f"{command}_requires_status_" + "_or_".join(allowed)
            )


class OrderError(Exception):
    pass


class TransitionRefused(OrderError):
    def __init__(self, command: str, status: str, rule: str):
        super().__init__(f"cannot {command} an order that is {status}")
        self.command, self.status, self.rule = command, status, rule


class UnknownShipping(OrderError):
    def __init__(self, shipping_id: str):
        super().__init__(f"the order has no shipping {shipping_id}")
        self.shipping_id = shipping_id
