"""The orders service: storefronts and the back office place and move orders over RPC."""

import functools

from services.orders.application import OrdersApplication
from services.orders.domain import TransitionRefused, UnknownShipping
from services.orders.schemas import DeclineIn, OrderIn, OrderOut
from shared.errors import EXPECTED, InvalidTransition, NotFound, ValidationFailed
from shared.service import EventLogRpc, EventSourced, check_id, rpc
from shared.validation import load


def translated(method):
    """Map the domain's refusals to the typed errors callers catch."""

    @functools.wraps(method)
    def wrapper(*args, **kwargs):
        try:
            return method(*args, **kwargs)
        except TransitionRefused as exc:
            raise InvalidTransition(str(exc), {"rule": exc.rule, "status": exc.status}) from None
        except UnknownShipping as exc:
            raise NotFound(str(exc), {"shipping_id": exc.shipping_id}) from None

    return wrapper


class OrdersService(EventLogRpc):
    name = "orders"
    store = EventSourced(OrdersApplication)

    @rpc(expected_exceptions=EXPECTED)
    def place_order(self, order, idempotency_key=None):
        """Place an order (shape in the README); returns it as get_order does, with id and reference."""
        if idempotency_key is not None and (
            not isinstance(idempotency_key, str) or not 0 < len(idempotency_key) <= 200
        ):
            raise ValidationFailed(
                "invalid idempotency key",
                {"idempotency_key": ["Must be a string of 1-200 characters."]},
            )
        return self._dump(self.store.place_order(load(OrderIn(), order, "order"), idempotency_key))

    @rpc(expected_exceptions=EXPECTED)
    @translated
    def accept_order(self, order_id):
        """Accept a new order: `accept_order("3f0c…")` -> the order, status "accepted"."""
        check_id(order_id=order_id)
        return self._dump(self.store.accept_order(order_id))

    @rpc(expected_exceptions=EXPECTED)
    @translated
    def decline_order(self, order_id, reason):
        """Decline an order before acceptance: `decline_order("3f0c…", "out of stock")`."""
        check_id(order_id=order_id)
        return self._dump(
            self.store.decline_order(order_id, load(DeclineIn(), {"reason": reason})["reason"])
        )

    @rpc(expected_exceptions=EXPECTED)
    @translated
    def ship_shipping(self, order_id, shipping_id):
        """Ship one shipping of an accepted order: `ship_shipping("3f0c…", "9a1e…")`."""
        check_id(order_id=order_id, shipping_id=shipping_id)
        return self._dump(self.store.ship_shipping(order_id, shipping_id))

    @rpc(expected_exceptions=EXPECTED)
    def get_order(self, order_id):
        """The order with its lines, shippings, totals and status."""
        check_id(order_id=order_id)
        return self._dump(self.store.get(order_id, "order"))

    @staticmethod
    def _dump(order):
        return OrderOut().dump(order)
