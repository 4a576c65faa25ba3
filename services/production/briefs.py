"""The OrderBrief aggregate: what the workshop knows of an order with made-in-house lines — its
reference, client, those lines with their production policy, when each is planned to ship, the
order's production notes, whether it is accepted, closed, or the reprint of another order.

Production learns all of it from the orders service's events, so planning on demand, work sheets
and re-runs never call another service.
"""

from uuid import UUID

from eventsourcing.domain import Aggregate, event


class OrderBrief(Aggregate):
    @event("Received")
    def __init__(self, id: UUID, order: dict):
        """`order`: order_id, reference, client, lines (sku, name, quantity, production_policy),
        planned ({sku: date}), reprint_of ({order_id, reference} or None)."""
        self.order = order
        self.accepted = False
        self.closed = None  # why the order closed (voided, declined)
        self.notes: list[dict] = []

    @property
    def order_id(self) -> str:
        return self.order["order_id"]

    def line(self, sku: str) -> dict | None:
        return next((x for x in self.order["lines"] if x["sku"] == sku), None)

    def follow(self, lines: list, planned: dict) -> bool:
        """The order's made-in-house lines or planned dates changed (False: nothing did)."""
        if lines == self.order["lines"] and planned == self.order["planned"]:
            return False
        self._changed(lines=lines, planned=planned)
        return True

    @event("Changed")
    def _changed(self, lines: list, planned: dict) -> None:
        self.order = dict(self.order, lines=lines, planned=planned)

    def accept(self) -> bool:
        if self.accepted:
            return False
        self._accepted()
        return True

    @event("Accepted")
    def _accepted(self) -> None:
        self.accepted = True

    def close(self, reason: str) -> bool:
        if self.closed:
            return False
        self._closed(reason=reason)
        return True

    @event("Closed")
    def _closed(self, reason: str) -> None:
        self.closed = reason

    def add_note(self, note: dict) -> bool:
        """A production note of the order (`id`, `text`, `author`, `at`), kept once."""
        if any(n["id"] == note["id"] for n in self.notes):
            return False
        self._note(note=note)
        return True

    @event("NoteAdded")
    def _note(self, note: dict) -> None:
        self.notes.append(note)
