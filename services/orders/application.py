"""Orders use cases: placing orders and moving them through their lifecycle, and the reactions to
billing and production. Inputs arrive validated (services/orders/schemas.py). The catalogue's use
cases are in cataloguing.py, order building in placing.py, re-orders in reorders.py, the read
model in projections.py and queries.py, what is published in publishing.py."""

from collections.abc import Callable
from datetime import UTC, datetime
from uuid import UUID, uuid4, uuid5

import sqlalchemy as sa
from eventsourcing.persistence import IntegrityError

from services.orders import indexes, projections, queries
from services.orders.catalogue import CatalogueRefused
from services.orders.cataloguing import Cataloguing
from services.orders.confirming import Confirming
from services.orders.domain import Order
from services.orders.following import Following
from services.orders.forgetting import Forgetting
from services.orders.placing import OrderBuilding
from services.orders.publishing import PUBLISHED
from services.orders.reorders import Reorders, order_id_for
from shared import context
from shared.counters import counter_table, take
from shared.errors import Conflict, NotFound, ValidationFailed
from shared.readmodels import ReadModel
from shared.settings import Settings
from shared.store import ServiceApplication


class OrdersApplication(
    Following, Cataloguing, OrderBuilding, Reorders, Confirming, Forgetting, ServiceApplication
):
    service = "orders"
    follows = Following.follows
    published = PUBLISHED
    reactions = Following.reactions

    def order_aggregates(self, order_id: str) -> list:
        try:
            return [UUID(str(order_id))]
        except ValueError:
            return []

    def __init__(self, url: str, settings: Settings | None = None):
        super().__init__(url, settings)
        self.search_index = False  # SQLite's FTS5 index of the list, when this SQLite has it
        if self.dialect == "postgresql":
            indexes.index_search(self.engine)
        else:
            self.search_index = indexes.index_search_sqlite(self.engine)
        indexes.count_statuses(self.engine)
        indexes.fill_subjects(self.engine)

    def define_tables(self, metadata: sa.MetaData) -> None:
        self.counters = counter_table(
            "orders_reference_counters", metadata, sa.Column("year", sa.Integer, primary_key=True)
        )
        self.tables = projections.define(metadata)
        self.define_keys(metadata)

    def project_aggregates(self, session, aggregates: list, events: list) -> None:
        opened = self.opener(session, aggregates)
        projections.write(session, self.tables, aggregates, events, opened=opened)

    # -- placing orders ---------------------------------------------------------------------------
    def place_order(self, order: dict, actor: str, idempotency_key: str | None = None) -> Order:
        """Place a validated order. The same idempotency key with the same order always yields
        the first order; with a different order it is refused. Without a key, the request's own
        identity is the key, so a redelivered request places nothing new."""
        key = idempotency_key or context.request_key()
        order_id = order_id_for(key) if key else uuid4()
        scoped = f"place_order:{idempotency_key}" if idempotency_key else None
        if key and ((scoped and self.check_key(scoped, order)) or self.exists(order_id)):
            return self.get(order_id, "order")
        args = self.order_args(order_id, order, actor)
        try:
            with self.transaction() as session:
                placed = Order(reference=self.next_references(session, 1)[0], **args)
                self.save(placed)
                if scoped:
                    self.remember_key(session, scoped, order)
        except IntegrityError:
            if key:  # a concurrent call with the same key won
                if scoped:
                    self.check_key(scoped, order)
                return self.get(order_id, "order")
            raise Conflict("a concurrent change won; place the order again", {}) from None
        return placed

    def place_many(self, orders: list[dict], actor: str, then: Callable | None = None) -> list:
        """Place many validated orders in one transaction (imports, and generating test data);
        `then(order, index)` may move each on (accept, ship…) before the save."""
        clients: dict = {}
        args = [self.order_args(uuid4(), order, actor, clients=clients) for order in orders]
        with self.transaction() as session:
            references = self.next_references(session, len(args))
            placed = [Order(reference=r, **a) for r, a in zip(references, args, strict=True)]
            for index, order in enumerate(placed):
                if then:
                    then(order, index)
            self.save(*placed)
        return placed

    def next_references(self, session, count: int) -> list[str]:
        """`2026-000123`: sequential per year. On SQLite they are taken in the transaction that
        saves the orders (writes queue on the database anyway): no gaps. On PostgreSQL they are
        taken in a short transaction of their own, so concurrent places do not queue on the
        counter's row for the whole save: a place that fails after taking its number (a lost
        race, the store down) leaves that number unused. Invoice numbers never have gaps."""
        year = datetime.now(UTC).year
        if self.dialect == "postgresql":
            with self.engine.begin() as conn:
                last = take(conn, self.counters, count, year=year)
        else:
            last = take(session, self.counters, count, year=year)
        return [f"{year}-{n:06d}" for n in range(last - count + 1, last + 1)]

    # -- the lifecycle ----------------------------------------------------------------------------
    def accept_order(self, order_id: str, actor: str) -> Order:
        """Accepting an accepted order is a no-op returning the order (retries are safe)."""

        def accept(order):
            if not (order.accepted and not order.closed):
                order.accept(actor)

        return self._change(order_id, "order", accept)

    def decline_order(self, order_id: str, reason: str, actor: str) -> Order:
        return self._change(order_id, "order", lambda o: o.decline(reason, actor))

    def void_order(self, order_id: str, reason: str, actor: str) -> Order:
        return self._change(order_id, "order", lambda o: o.void(reason, actor))

    def hold_order(self, order_id: str, reason: str, actor: str) -> Order:
        return self._change(order_id, "order", lambda o: o.put_on_hold(reason, actor))

    def release_order(self, order_id: str, reason: str, actor: str) -> Order:
        return self._change(order_id, "order", lambda o: o.release(reason, actor))

    def ship_shipping(self, order_id: str, shipping_id: str, actor: str) -> Order:
        return self._change(order_id, "order", lambda o: o.ship(shipping_id, actor))

    def mark_delivered(self, order_id: str, lines: list, actor: str) -> Order:
        return self._change(order_id, "order", lambda o: o.mark_delivered(lines, actor))

    def complete_order(self, order_id: str, reason: str | None, actor: str) -> Order:
        return self._change(order_id, "order", lambda o: o.complete(reason, actor))

    def choose_distributors(self, order_id: str, choices: dict, reason, actor: str) -> Order:
        """Who supplies each bought-in line still to ship (a catalogue product's own list)."""
        for sku, code in choices.items():
            product = self.product(sku)
            if product is not None and code not in (product.distributors or ()):
                raise CatalogueRefused(
                    f"{code} does not supply {sku} (it has {', '.join(product.distributors)})",
                    "distributor_not_listed",
                    "choices",
                )
        change = lambda order: order.choose_distributors(choices, reason, actor)  # noqa: E731
        return self._change(order_id, "order", change)

    def edit_order(self, order_id: str, edit: dict, actor: str) -> Order:
        new_lines = self.lines_for(edit.get("new_lines") or [], "new_lines")
        contents = {s["id"]: s["lines"] for s in edit["shippings"]}

        def apply(order):
            currencies = {line["currency"] for line in order.lines + new_lines}
            if len(currencies) > 1:
                raise ValidationFailed(
                    "invalid edit", {"new_lines": ["Must be in the order's currency."]}
                )
            order.edit(contents, new_lines, edit.get("reason"), actor)

        return self._change(order_id, "order", apply)

    def add_shipping(
        self, order_id: str, shipping: dict, actor: str, idempotency_key: str | None
    ) -> Order:
        key = idempotency_key or context.request_key() or uuid4().hex
        shipping_id = str(uuid5(_order_uuid(order_id), f"shipping:{key}"))

        def add(order):
            if any(s["id"] == shipping_id for s in order.shippings):
                return  # a retried call: the shipping is already there
            address = self.sealed_address(shipping.get("address"), order.client, order.id)
            planned = shipping["planned_date"].isoformat()
            order.add_shipping(
                dict(shipping, id=shipping_id, planned_date=planned, address=address), actor
            )

        return self._change(
            order_id, "order", add, _keyed("add_shipping", idempotency_key, shipping)
        )

    def move_quantity(self, order_id: str, move: dict, actor: str) -> Order:
        return self._change(
            order_id,
            "order",
            lambda o: o.move_quantity(
                move["from_shipping"], move["to_shipping"], move["sku"], move["quantity"], actor
            ),
        )

    def reschedule_shipping(
        self, order_id: str, shipping_id: str, change: dict, actor: str
    ) -> Order:
        planned = change.get("planned_date")
        return self._change(
            order_id,
            "order",
            lambda o: o.reschedule(
                shipping_id,
                planned.isoformat() if planned else None,
                self.sealed_address(change.get("address"), o.client, o.id),
                change.get("reason"),
                actor,
            ),
        )

    def add_note(self, order_id: str, note: dict, actor: str, idempotency_key: str | None) -> Order:
        key = idempotency_key or context.request_key()
        note_id = str(uuid5(_order_uuid(order_id), f"note:{key}")) if key else str(uuid4())

        def add(order):
            if any(n["id"] == note_id for n in order.notes):
                return  # a retried call: the note is already there
            order.add_note(note_id, note["kind"], note["text"], actor, _now())

        return self._change(order_id, "order", add, _keyed("add_note", idempotency_key, note))

    def open_claim(self, order_id: str, claim: dict, actor: str, idempotency_key: str | None):
        key = idempotency_key or context.request_key() or uuid4().hex
        claim_id = str(uuid5(_order_uuid(order_id), f"claim:{key}"))

        def open_(order):
            if not any(c["id"] == claim_id for c in order.claims):
                order.open_claim(claim_id, claim["reason"], claim["lines"], actor)

        keyed = _keyed("open_claim", idempotency_key, claim)
        return self._change(order_id, "order", open_, keyed), claim_id

    # -- queries ---------------------------------------------------------------------------------
    def list_orders(self, query: dict) -> dict:
        with self.engine.connect() as conn:
            return queries.list_orders(conn, self.tables, query, self.search_index)

    def status_counts(self) -> dict:
        with self.engine.connect() as conn:
            return queries.status_counts(conn, self.tables)

    def history(self, order_id: str) -> list:
        """The order's domain events, oldest first (views.show_history renders them)."""
        return list(self.repository.event_store.get(UUID(order_id)))

    def read_model_rows(self) -> dict[str, list]:
        with self.engine.connect() as conn:
            return queries.read_model_rows(conn, self.tables)

    def rebuild_read_model(self) -> int:
        return projections.rebuild(self)

    def read_models(self) -> dict:
        the_list = ReadModel(tuple(self.tables.values()), self.rebuild_read_model)
        return {**super().read_models(), "list": the_list}

    # -- helpers ---------------------------------------------------------------------------------
    def _change(
        self, aggregate_id, what: str, command: Callable, keyed: tuple | None = None
    ) -> object:
        """Read, decide, save: tried again on a fresh read after a concurrent write. A request
        delivered again after it was applied answers with the aggregate as it is. `keyed`:
        (scoped idempotency key, payload) of a command the caller keyed, recorded with its
        effect."""

        def attempt():
            with self.transaction() as session:
                aggregate = self.get(aggregate_id, what)
                if keyed and self.check_key(f"{keyed[0]}:{aggregate_id}", keyed[1]):
                    return aggregate  # the same keyed request again: applied already
                command(aggregate)
                self.save(aggregate)
                if keyed:
                    self.remember_key(session, f"{keyed[0]}:{aggregate_id}", keyed[1])
            return aggregate

        return self.retrying(attempt, replay=lambda: self.get(aggregate_id, what))


def _keyed(command: str, idempotency_key: str | None, payload) -> tuple | None:
    """A caller's idempotency key, scoped to its command, with the payload it came with."""
    return (f"{command}:{idempotency_key}", payload) if idempotency_key else None


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _order_uuid(order_id: str) -> UUID:
    """The order's id as a UUID; an id that is not one names no order."""
    try:
        return UUID(order_id)
    except ValueError:
        raise NotFound(f"order {order_id} not found", {"id": order_id, "kind": "order"}) from None
