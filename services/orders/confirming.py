"""The order confirmation as a use case: issued the first time it is asked for once the order is
accepted, revised when asked for after a change (what it shows is in documents.py)."""

from datetime import UTC, datetime

from services.orders import documents
from services.orders.domain import Order
from shared import context
from shared.errors import InvalidTransition, NotFound


class Confirming:
    """Mixed into the orders application (it provides `get`, `retrying`, `save`, `settings`)."""

    def confirmation(self, order_id: str, revision: int | None = None) -> tuple[Order, dict]:
        """The order's confirmation as it stands: issued the first time it is asked for (printed,
        downloaded, sent) once the order is accepted, and again as a new revision when asked for
        after the order changed; a closed order keeps its last one. Issuing on request keeps
        acceptance itself one event and free of rendering. `revision`: that one, as issued."""
        if revision is not None:
            order = self.get(order_id, "order")
            if not 0 < revision <= len(order.confirmations):
                raise NotFound(
                    f"order {order_id} has {len(order.confirmations)} confirmation revisions",
                    {"id": order_id, "kind": "confirmation", "revision": revision},
                )
            return order, order.confirmations[revision - 1]

        def current():
            order = self.get(order_id, "order")
            if not order.accepted:
                raise InvalidTransition(
                    f"an order is confirmed once accepted; this one is {order.status}",
                    {"rule": "confirmation_requires_acceptance", "status": order.status},
                )
            if not order.closed and self._confirm(order):
                self.save(order)
            return order

        order = self.retrying(current)
        if not order.confirmations:
            raise NotFound(
                f"order {order_id} closed before a confirmation was issued",
                {"id": order_id, "kind": "confirmation"},
            )
        return order, order.confirmations[-1]

    def _confirm(self, order: Order) -> bool:
        """Issue a new revision of the confirmation if the order changed since the last."""
        confirmation = documents.revision(
            order, self.settings, datetime.now(UTC).date().isoformat(), self.opened
        )
        if confirmation is None:
            return False
        order.issue_confirmation(confirmation, context.current().get("actor"))
        return True
