"""Re-orders: new orders made from an existing one — a free reprint resolving a quality claim, a
duplicate, a new order for the same client — each placed together with the link on the original
(both ways), in one transaction."""

from collections.abc import Callable
from decimal import Decimal
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.persistence import IntegrityError

from services.orders.domain import Order
from services.orders.placing import derived_args
from services.orders.projections import subject_of

ORDER_IDS = uuid5(NAMESPACE_URL, "https://oms.example/orders")


def order_id_for(idempotency_key: str) -> UUID:
    return uuid5(ORDER_IDS, idempotency_key)


class Reorders:
    """Mixed into the orders application (it provides `get`, `_change`, `order_args`,
    `current_line`, `next_reference` and the idempotency keys)."""

    def resolve_claim(self, order_id: str, claim_id: str, resolution: dict, actor: str) -> Order:
        """A reprint places a new order for the claimed lines, free of charge, linked both ways.
        Resolving a claim again the same way returns the order unchanged (retries are safe)."""
        wanted, reason = resolution["resolution"], resolution["reason"]

        def attempt():
            order = self.get(order_id, "order")
            claim = order.claim(claim_id)
            if claim["status"] == wanted:
                return order
            if wanted == "rejected" or claim["status"] != "open":
                order.resolve_claim(claim_id, wanted, reason, actor)
                self.save(order)
                return order
            reprint_id = uuid5(ORDER_IDS, f"reprint:{claim_id}")
            lines = [
                dict(order.line(c["sku"]), quantity=c["quantity"], unit_price=Decimal("0"))
                for c in claim["lines"]
            ]
            args = derived_args(
                order, reprint_id, lines, resolution.get("planned_date"), actor, "reprint_of"
            )

            def link(reprint):
                reorder = {"order_id": str(reprint.id), "reference": reprint.reference}
                order.resolve_claim(claim_id, wanted, reason, actor, reorder=reorder)

            self._place_linked(order, args, link)
            return order

        return self.retrying(attempt, replay=lambda: self.get(order_id, "order"))

    def duplicate_order(self, order_id: str, actor: str, key: str, planned_date) -> Order:
        """Same client and products, at today's catalogue prices where the catalogue has them."""
        new_id = order_id_for(f"duplicate:{order_id}:{key}")
        keyed = (f"duplicate_order:{order_id}:{key}", {"planned_date": planned_date})

        def attempt():
            if self.check_key(*keyed) or self.exists(new_id):
                return self.get(new_id, "order")
            original = self.get(order_id, "order")
            lines = [self.current_line(line) for line in original.lines]
            args = derived_args(original, new_id, lines, planned_date, actor, "duplicate_of")
            return self._place_linked(
                original,
                args,
                lambda new: original.link("duplicated_as", str(new.id), new.reference, actor),
                keyed,
            )

        return self.retrying(attempt)

    def new_order_for_client(self, order_id: str, order: dict, actor: str, key: str) -> Order:
        """A new order carrying the client of `order_id` (lines and shippings are the caller's)."""
        new_id = order_id_for(f"for-client:{order_id}:{key}")
        keyed = (f"new_order_for_client:{order_id}:{key}", order)

        def attempt():
            if self.check_key(*keyed) or self.exists(new_id):
                return self.get(new_id, "order")
            original = self.get(order_id, "order")
            client = original.client
            if client.get("code"):
                request = dict(order, client_code=client["code"])
            else:
                kept = {k: client[k] for k in ("name", "email", "phone")}  # sealed: the same key
                kept["subject"] = subject_of(client, original.id)
                request = dict(order, client=kept)
            origin = {
                "kind": "new_order_for_client_of",
                "order_id": order_id,
                "reference": original.reference,
            }
            args = self.order_args(new_id, request, actor, origin)
            return self._place_linked(
                original,
                args,
                lambda new: original.link("client_reordered_as", str(new.id), new.reference, actor),
                keyed,
            )

        return self.retrying(attempt)

    def _place_linked(
        self, original: Order, args: dict, link: Callable[[Order], None], keyed=None
    ) -> Order:
        """Number and place a new order and record the link on the original (and the caller's
        idempotency key), in one transaction. If the original changed meanwhile, the
        IntegrityError goes to the caller's `retrying`, which reads it afresh."""
        try:
            with self.transaction() as session:
                new = Order(reference=self.next_references(session, 1)[0], **args)
                link(new)
                self.save(new, original)
                if keyed:
                    self.remember_key(session, *keyed)
        except IntegrityError:
            if self.exists(args["id"]):  # a concurrent retry of the same call won
                if keyed:
                    self.check_key(*keyed)
                return self.get(args["id"], "order")
            raise
        return new
