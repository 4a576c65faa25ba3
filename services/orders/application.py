"""Orders use cases: place, accept, decline, ship; and what each publishes."""

from datetime import UTC, datetime
from uuid import NAMESPACE_URL, UUID, uuid4, uuid5

import sqlalchemy as sa
from eventsourcing.persistence import IntegrityError
from sqlalchemy.dialects import postgresql, sqlite

from services.orders.domain import Order
from shared.errors import Conflict
from shared.store import ServiceApplication

ORDER_IDS = uuid5(NAMESPACE_URL, "https://oms.example/orders")


def order_id_for(idempotency_key: str) -> UUID:
    return uuid5(ORDER_IDS, idempotency_key)


class OrdersApplication(ServiceApplication):
    service = "orders"

    def define_tables(self, metadata: sa.MetaData) -> None:
        self.counters = sa.Table(
            "orders_reference_counters",
            metadata,
            sa.Column("year", sa.Integer, primary_key=True),
            sa.Column("last", sa.Integer, nullable=False),
        )

    def place_order(self, order: dict, idempotency_key: str | None = None) -> Order:
        """Place a validated order; the same idempotency key always yields the same order."""
        order_id = order_id_for(idempotency_key) if idempotency_key else uuid4()
        if idempotency_key and self.exists(order_id):
            return self.get(order_id, "order")
        try:
            with self.transaction() as session:
                placed = Order(
                    id=order_id, reference=self._next_reference(session), **_domain(order, order_id)
                )
                self.save(placed)
        except IntegrityError:
            if idempotency_key:  # a concurrent call with the same key won
                return self.get(order_id, "order")
            raise Conflict("a concurrent change won; place the order again", {}) from None
        return placed

    def accept_order(self, order_id: str) -> Order:
        """Accepting an accepted order is a no-op returning the order (retries are safe)."""

        def accept():
            order = self.get(order_id, "order")
            if order.status != "accepted":
                order.accept()
                self.save(order)
            return order

        return self.retrying(accept)

    def decline_order(self, order_id: str, reason: str) -> Order:
        def decline():
            order = self.get(order_id, "order")
            order.decline(reason)
            self.save(order)
            return order

        return self.retrying(decline)

    def ship_shipping(self, order_id: str, shipping_id: str) -> Order:
        def ship():
            order = self.get(order_id, "order")
            order.ship(shipping_id)
            self.save(order)
            return order

        return self.retrying(ship)

    def _next_reference(self, session) -> str:
        """`2026-000123`: sequential per year, taken in the transaction that saves the order."""
        year = datetime.now(UTC).year
        insert = (postgresql.insert if self.dialect == "postgresql" else sqlite.insert)(
            self.counters
        )
        session.execute(insert.values(year=year, last=0).on_conflict_do_nothing())
        last = session.execute(
            self.counters.update()
            .where(self.counters.c.year == year)
            .values(last=self.counters.c.last + 1)
            .returning(self.counters.c.last)
        ).scalar_one()
        return f"{year}-{last:06d}"

    # -- publishing -----------------------------------------------------------------------------
    def integration_event(self, domain_event):
        order = self.state_at(domain_event)
        base = {
            "order_id": str(order.id),
            "reference": order.reference,
            "status": order.status,
            "client": order.client,
        }
        if isinstance(domain_event, Order.Placed):
            return "order_placed", dict(
                base,
                channel=order.channel,
                lines=order.lines,
                shippings=order.shippings,
                payment_method=order.payment_method,
                note=order.note,
                total=order.total,
                currency=order.currency,
            )
        if isinstance(domain_event, Order.Accepted):
            return "order_accepted", dict(
                base, lines=order.lines, total=order.total, currency=order.currency
            )
        if isinstance(domain_event, Order.Declined):
            return "order_declined", dict(base, reason=order.decline_reason)
        if isinstance(domain_event, Order.ShippingShipped):
            shipping = order.shipping(domain_event.shipping_id)
            lines = [dict(order.line(s["sku"]), quantity=s["quantity"]) for s in shipping["lines"]]
            return "shipping_shipped", dict(
                base,
                shipping_id=shipping["id"],
                planned_date=shipping["planned_date"],
                address=shipping["address"],
                lines=lines,
            )
        return None


def _domain(order: dict, order_id: UUID) -> dict:
    """Validated RPC input -> the Placed event's arguments (ids for shippings, ISO dates)."""
    shippings = [
        dict(
            s, id=str(uuid5(order_id, f"shipping-{i}")), planned_date=s["planned_date"].isoformat()
        )
        for i, s in enumerate(order["shippings"])
    ]
    return dict(order, shippings=shippings)
