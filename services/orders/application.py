"""Orders use cases: the catalogue, the order lifecycle, re-orders, the read model; and what each
publishes. Inputs arrive validated (services/orders/schemas.py); this module applies the catalogue
and the aggregate's rules."""

from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from uuid import NAMESPACE_URL, UUID, uuid4, uuid5

import sqlalchemy as sa
from eventsourcing.persistence import IntegrityError
from sqlalchemy.dialects import postgresql, sqlite

from services.orders import projections
from services.orders.catalogue import CatalogueRefused, Client, Product, check_supply, line_from
from services.orders.domain import Order
from services.orders.publishing import integration_event
from shared import context
from shared.errors import Conflict, ValidationFailed
from shared.settings import Settings
from shared.store import ServiceApplication

ORDER_IDS = uuid5(NAMESPACE_URL, "https://oms.example/orders")
CLIENT_IDS = uuid5(NAMESPACE_URL, "https://oms.example/clients")
PRODUCT_IDS = uuid5(NAMESPACE_URL, "https://oms.example/products")
PAYMENT_STATUSES = ("unpaid", "partially_paid", "paid", "overpaid", "voided")


def order_id_for(idempotency_key: str) -> UUID:
    return uuid5(ORDER_IDS, idempotency_key)


def client_id_for(code: str) -> UUID:
    return uuid5(CLIENT_IDS, code)


def product_id_for(sku: str) -> UUID:
    return uuid5(PRODUCT_IDS, sku)


class OrdersApplication(ServiceApplication):
    service = "orders"
    follows = ("billing", "production")

    def __init__(self, url: str, settings: Settings | None = None):
        super().__init__(url, settings)
        if self.dialect == "postgresql":
            projections.index_search(self.engine)

    def define_tables(self, metadata: sa.MetaData) -> None:
        self.counters = sa.Table(
            "orders_reference_counters",
            metadata,
            sa.Column("year", sa.Integer, primary_key=True),
            sa.Column("last", sa.Integer, nullable=False),
        )
        self.tables = projections.define(metadata)

    def project_aggregates(self, session, aggregates: list) -> None:
        projections.write(session, self.tables, aggregates)

    # -- catalogue -------------------------------------------------------------------------------
    def register_client(self, code: str, details: dict, actor: str) -> Client:
        """Registering the same code with the same details again returns the client (retry-safe)."""
        client_id = client_id_for(code)
        if self.exists(client_id):
            return self._same_or_conflict(self.get(client_id, "client"), details, "client", code)
        client = Client(id=client_id, code=code, details=details, actor=actor)
        return self._save_new(client, lambda: self._registered(client_id, details, "client", code))

    def update_client(self, code: str, changes: dict, actor: str) -> Client:
        return self._change(client_id_for(code), "client", lambda c: c.update(changes, actor))

    def deactivate_client(self, code: str, reason: str, actor: str) -> Client:
        return self._change(client_id_for(code), "client", lambda c: c.deactivate(reason, actor))

    def register_product(self, sku: str, details: dict, actor: str) -> Product:
        check_supply(details)
        product_id = product_id_for(sku)
        if self.exists(product_id):
            return self._same_or_conflict(self.get(product_id, "product"), details, "product", sku)
        product = Product(id=product_id, sku=sku, details=details, actor=actor)
        return self._save_new(
            product, lambda: self._registered(product_id, details, "product", sku)
        )

    def update_product(self, sku: str, changes: dict, actor: str) -> Product:
        return self._change(product_id_for(sku), "product", lambda p: p.update(changes, actor))

    def _registered(self, aggregate_id, details, what, key):
        return self._same_or_conflict(self.get(aggregate_id, what), details, what, key)

    @staticmethod
    def _same_or_conflict(existing, details: dict, what: str, key: str):
        if all(getattr(existing, k) == v for k, v in details.items()):
            return existing
        raise Conflict(f"{what} {key} is already registered with other details", {"code": key})

    def list_clients(self, query: dict) -> dict:
        return self._list_catalogue(self.tables["clients"], "code", query)

    def list_products(self, query: dict) -> dict:
        return self._list_catalogue(self.tables["products"], "sku", query)

    def _list_catalogue(self, table: sa.Table, key: str, query: dict) -> dict:
        clauses = []
        if query.get("active") is not None:
            clauses.append(table.c.active == query["active"])
        if query.get("after"):
            clauses.append(table.c[key] > query["after"])
        for term in (query.get("search") or "").lower().split():
            clauses.append(
                sa.or_(
                    sa.func.lower(table.c[key]).contains(term, autoescape=True),
                    sa.func.lower(table.c.name).contains(term, autoescape=True),
                )
            )
        statement = sa.select(table).where(*clauses).order_by(table.c[key])
        with self.engine.connect() as conn:
            rows = [row._asdict() for row in conn.execute(statement.limit(query["limit"] + 1))]
        page = rows[: query["limit"]]
        return {"items": page, "next_after": page[-1][key] if len(rows) > len(page) else None}

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
        args = self._order_args(order_id, order, actor)
        try:
            with self.transaction() as session:
                placed = Order(reference=self._next_reference(session), **args)
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
        args = [self._order_args(uuid4(), order, actor) for order in orders]
        with self.transaction() as session:
            references = self._next_references(session, len(args))
            placed = [Order(reference=r, **a) for r, a in zip(references, args, strict=True)]
            for index, order in enumerate(placed):
                if then:
                    then(order, index)
            self.save(*placed)
        return placed

    def _order_args(self, order_id: UUID, order: dict, actor: str, origin=None) -> dict:
        """The Placed event's arguments, from a validated order and the catalogue."""
        client = self._client_for(order)
        lines = self._lines_for(order["lines"], "lines")
        shippings = [
            {
                "id": str(uuid5(order_id, f"shipping-{i}")),
                "planned_date": s["planned_date"].isoformat(),
                "address": s.get("address") or _default_address(client, i),
                "lines": s["lines"],
            }
            for i, s in enumerate(order["shippings"])
        ]
        placed_at = order.get("placed_at")
        client.pop("default_address", None)
        return dict(
            id=order_id,
            title=order.get("title") or _title(lines),
            client=client,
            channel=order["channel"],
            lines=lines,
            shippings=shippings,
            payment_method=order.get("payment_method"),
            note=order.get("note"),
            actor=actor,
            origin=origin,
            placed_at=placed_at.isoformat() if placed_at else None,
        )

    def _client_for(self, order: dict) -> dict:
        """A known client's details from the catalogue (as they are now), or a guest's."""
        code = order.get("client_code")
        if not code:
            return dict(order["client"], code=None)
        row = self._catalogue_row("clients", code)
        if row is None or not row.active:
            problem = "is deactivated" if row else "is unknown: register it first"
            raise ValidationFailed("invalid client", {"client_code": [f"Client {code} {problem}."]})
        return {
            "code": code,
            "name": row.name,
            "email": row.email,
            "phone": row.phone,
            "default_address": row.default_address,
        }

    def _lines_for(self, lines: list, field: str) -> list:
        """Lines described in full are taken as given; the others come from the catalogue."""
        resolved, errors = [], {}
        for i, line in enumerate(lines):
            if "name" in line:
                resolved.append(line if "vat_rate" in line else self._with_vat(line))
                continue
            row = self._catalogue_row("products", line["sku"])
            if row is None:
                errors[f"{field}.{i}.sku"] = [
                    f"Unknown product {line['sku']}: register it, or describe the line in full."
                ]
                continue
            try:
                resolved.append(line_from(_product(row), line["quantity"], line.get("distributor")))
            except CatalogueRefused as exc:
                errors[f"{field}.{i}.sku"] = [str(exc)]
        if len({line["currency"] for line in resolved}) > 1:
            errors[f"{field}.currency"] = ["All lines of an order must share one currency."]
        if errors:
            raise ValidationFailed("invalid order lines", errors)
        return resolved

    def _with_vat(self, line: dict) -> dict:
        """A line in the first storefront contract (no VAT rate): the catalogue's rate for the
        sku, else the deployment's default."""
        row = self._catalogue_row("products", line["sku"])
        rate = Decimal(row.details["vat_rate"]) if row else self.settings.default_vat_rate
        return dict(line, vat_rate=rate)

    def _catalogue_row(self, table: str, key: str):
        """The catalogue's read model is written with each save, so it is as current as the log."""
        table = self.tables[table]
        column = table.c.code if "code" in table.c else table.c.sku
        with self.engine.connect() as conn:
            return conn.execute(sa.select(table).where(column == key)).first()

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

    def edit_order(self, order_id: str, edit: dict, actor: str) -> Order:
        new_lines = self._lines_for(edit.get("new_lines") or [], "new_lines")
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
        shipping_id = str(uuid5(UUID(order_id), f"shipping:{key}"))

        def add(order):
            if any(s["id"] == shipping_id for s in order.shippings):
                return  # a retried call: the shipping is already there
            order.add_shipping(
                dict(shipping, id=shipping_id, planned_date=shipping["planned_date"].isoformat()),
                actor,
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
                change.get("address"),
                change.get("reason"),
                actor,
            ),
        )

    def add_note(self, order_id: str, note: dict, actor: str, idempotency_key: str | None) -> Order:
        key = idempotency_key or context.request_key()
        note_id = str(uuid5(UUID(order_id), f"note:{key}")) if key else str(uuid4())

        def add(order):
            if any(n["id"] == note_id for n in order.notes):
                return  # a retried call: the note is already there
            order.add_note(note_id, note["kind"], note["text"], actor, _now())

        return self._change(order_id, "order", add, _keyed("add_note", idempotency_key, note))

    def open_claim(self, order_id: str, claim: dict, actor: str, idempotency_key: str | None):
        key = idempotency_key or context.request_key() or uuid4().hex
        claim_id = str(uuid5(UUID(order_id), f"claim:{key}"))

        def open_(order):
            if not any(c["id"] == claim_id for c in order.claims):
                order.open_claim(claim_id, claim["reason"], claim["lines"], actor)

        keyed = _keyed("open_claim", idempotency_key, claim)
        return self._change(order_id, "order", open_, keyed), claim_id

    # -- re-orders: new orders linked to an existing one, saved together with the link -------------
    def resolve_claim(self, order_id: str, claim_id: str, resolution: dict, actor: str) -> Order:
        """A reprint places a new order for the claimed lines, free of charge, linked both ways.
        Resolving a claim again the same way returns the order unchanged (retries are safe)."""
        order = self.get(order_id, "order")
        claim = order.claim(claim_id)
        wanted, reason = resolution["resolution"], resolution["reason"]
        if claim["status"] == wanted:
            return order
        if wanted == "rejected" or claim["status"] != "open":
            return self._change(
                order_id, "order", lambda o: o.resolve_claim(claim_id, wanted, reason, actor)
            )
        reprint_id = uuid5(ORDER_IDS, f"reprint:{claim_id}")
        lines = [
            dict(order.line(c["sku"]), quantity=c["quantity"], unit_price=Decimal("0"))
            for c in claim["lines"]
        ]
        args = _derived_args(
            order, reprint_id, lines, resolution.get("planned_date"), actor, "reprint_of"
        )

        def link(reprint):
            reorder = {"order_id": str(reprint.id), "reference": reprint.reference}
            order.resolve_claim(claim_id, wanted, reason, actor, reorder=reorder)

        self._place_linked(order, args, link)
        return order

    def duplicate_order(self, order_id: str, actor: str, key: str, planned_date) -> Order:
        """Same client and products, at today's catalogue prices where the catalogue has them."""
        new_id = order_id_for(f"duplicate:{order_id}:{key}")
        keyed = (f"duplicate_order:{order_id}:{key}", {"planned_date": planned_date})
        if self.check_key(*keyed) or self.exists(new_id):
            return self.get(new_id, "order")
        original = self.get(order_id, "order")
        lines = [self._current_line(line) for line in original.lines]
        args = _derived_args(original, new_id, lines, planned_date, actor, "duplicate_of")
        return self._place_linked(
            original,
            args,
            lambda new: original.link("duplicated_as", str(new.id), new.reference, actor),
            keyed,
        )

    def new_order_for_client(self, order_id: str, order: dict, actor: str, key: str) -> Order:
        """A new order carrying the client of `order_id` (lines and shippings are the caller's)."""
        new_id = order_id_for(f"for-client:{order_id}:{key}")
        keyed = (f"new_order_for_client:{order_id}:{key}", order)
        if self.check_key(*keyed) or self.exists(new_id):
            return self.get(new_id, "order")
        original = self.get(order_id, "order")
        client = original.client
        if client.get("code"):
            order = dict(order, client_code=client["code"])
        else:
            order = dict(order, client={k: client[k] for k in ("name", "email", "phone")})
        origin = {
            "kind": "new_order_for_client_of",
            "order_id": order_id,
            "reference": original.reference,
        }
        args = self._order_args(new_id, order, actor, origin)
        return self._place_linked(
            original,
            args,
            lambda new: original.link("client_reordered_as", str(new.id), new.reference, actor),
            keyed,
        )

    def _place_linked(
        self, original: Order, args: dict, link: Callable[[Order], None], keyed=None
    ) -> Order:
        """Number and place a new order and record the link on the original (and the caller's
        idempotency key), in one transaction."""
        try:
            with self.transaction() as session:
                new = Order(reference=self._next_reference(session), **args)
                link(new)
                self.save(new, original)
                if keyed:
                    self.remember_key(session, *keyed)
        except IntegrityError:
            if self.exists(args["id"]):  # a concurrent retry of the same call won
                if keyed:
                    self.check_key(*keyed)
                return self.get(args["id"], "order")
            raise Conflict("a concurrent change won; read again and retry", {}) from None
        return new

    def _current_line(self, line: dict) -> dict:
        """Today's catalogue price for a product still sold; the old snapshot otherwise."""
        row = self._catalogue_row("products", line["sku"])
        if row is None or not row.active:
            return line
        return line_from(_product(row), line["quantity"], None)

    # -- reacting to billing and production ------------------------------------------------------
    def react(self, envelope: dict) -> list:
        data, kind = envelope["data"], envelope["type"]
        order_id = data.get("order_id")
        if not order_id or not self.exists(UUID(order_id)):
            return []
        order = self.get(order_id, "order")
        if kind.startswith("billing."):
            changed = self._follow_billing(order, kind, data, envelope["id"])
        elif kind == "production.production_order_created":
            changed = order.production_started(data["sku"], envelope["id"])
        elif kind == "production.production_order_finished":
            changed = order.production_finished(data["sku"], envelope["id"])
        else:
            changed = False
        return [order] if changed else []

    def _follow_billing(self, order: Order, kind: str, data: dict, source: str) -> bool:
        """The payment status billing published (over all the order's invoices) and its channel."""
        changed = False
        if kind == "billing.payment_channel_changed":
            changed = order.record_payment_method(data["channel"], source)
        status = data.get("payment_status")
        if status is None and kind == "billing.invoice_issued":
            status = "unpaid"  # invoices published before payment statuses were
        if status in PAYMENT_STATUSES:
            changed = order.record_payment_status(status, source) or changed
        return changed

    # -- queries ---------------------------------------------------------------------------------
    def list_orders(self, query: dict) -> dict:
        with self.engine.connect() as conn:
            return projections.list_orders(conn, self.tables, query)

    def history(self, order_id: str) -> list[dict]:
        return [_history_entry(e) for e in self.repository.event_store.get(UUID(order_id))]

    def read_model_rows(self) -> dict[str, list]:
        """Every row of the read model, in key order (what a rebuild must reproduce)."""
        with self.engine.connect() as conn:
            return {
                name: [r._asdict() for r in conn.execute(sa.select(t).order_by(*t.primary_key))]
                for name, t in self.tables.items()
            }

    def rebuild_read_model(self) -> int:
        """Drop every read-model row and write it again from one replay of the whole log."""
        aggregates, position = {}, 0
        while batch := self.notifications_after(position, 2000):
            for notification in batch:
                event = self.mapper.to_domain_event(notification)
                aggregates[event.originator_id] = event.mutate(aggregates.get(event.originator_id))
            position = batch[-1].id
        replayed = list(aggregates.values())
        with self.transaction() as session:
            for table in self.tables.values():
                session.execute(table.delete())
            for start in range(0, len(replayed), 1000):
                projections.write(session, self.tables, replayed[start : start + 1000])
        return len(replayed)

    # -- helpers ---------------------------------------------------------------------------------
    def _change(
        self, aggregate_id, what: str, command: Callable, keyed: tuple | None = None
    ) -> object:
        """Read, decide, save: retried once on a concurrent write. A request delivered again
        after it was applied answers with the aggregate as it is. `keyed`: (scoped idempotency
        key, payload) of a command the caller keyed, recorded with its effect."""

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

    def _save_new(self, aggregate, on_conflict: Callable):
        try:
            self.save(aggregate)
        except IntegrityError:
            return on_conflict()
        return aggregate

    def _next_reference(self, session) -> str:
        """`2026-000123`: sequential per year, taken in the transaction that saves the order."""
        return self._next_references(session, 1)[0]

    def _next_references(self, session, count: int) -> list[str]:
        year = datetime.now(UTC).year
        insert = (postgresql.insert if self.dialect == "postgresql" else sqlite.insert)(
            self.counters
        )
        session.execute(insert.values(year=year, last=0).on_conflict_do_nothing())
        last = session.execute(
            self.counters.update()
            .where(self.counters.c.year == year)
            .values(last=self.counters.c.last + count)
            .returning(self.counters.c.last)
        ).scalar_one()
        return [f"{year}-{n:06d}" for n in range(last - count + 1, last + 1)]

    def integration_event(self, domain_event):
        return integration_event(self, domain_event)


LINE_FIELDS = (
    "sku",
    "name",
    "quantity",
    "unit_price",
    "currency",
    "vat_rate",
    "distributor",
    "made_in_house",
)


def _derived_args(
    original: Order, new_id: UUID, lines: list, planned, actor: str, kind: str
) -> dict:
    """A new order from an existing one: its client, title and first address, one shipping."""
    planned_date = (planned or datetime.now(UTC).date()).isoformat()
    title = f"Reprint of {original.reference}" if kind == "reprint_of" else original.title
    return dict(
        id=new_id,
        title=title,
        client=original.client,
        channel=original.channel,
        lines=[{k: v for k, v in x.items() if k in LINE_FIELDS} for x in lines],
        shippings=[
            {
                "id": str(uuid5(new_id, "shipping-0")),
                "planned_date": planned_date,
                "address": original.shippings[0]["address"],
                "lines": [{"sku": x["sku"], "quantity": x["quantity"]} for x in lines],
            }
        ],
        payment_method=original.payment_method,
        note=None,
        actor=actor,
        origin={"kind": kind, "order_id": str(original.id), "reference": original.reference},
    )


def _keyed(command: str, idempotency_key: str | None, payload) -> tuple | None:
    """A caller's idempotency key, scoped to its command, with the payload it came with."""
    return (f"{command}:{idempotency_key}", payload) if idempotency_key else None


def _default_address(client: dict, index: int) -> dict:
    if client.get("default_address"):
        return client["default_address"]
    raise ValidationFailed(
        "no address",
        {f"shippings.{index}.address": ["Required: the client has no default address."]},
    )


def _title(lines: list) -> str:
    more = len(lines) - 1
    return lines[0]["name"] + (f" + {more} more" if more else "")


def _product(row) -> dict:
    """A product row of the read model as the catalogue's `line_from` takes it."""
    details = row.details
    return dict(
        details,
        sku=row.sku,
        name=row.name,
        active=row.active,
        unit_price=Decimal(details["unit_price"]),
        vat_rate=Decimal(details["vat_rate"]),
    )


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _history_entry(event) -> dict:
    state = {k: v for k, v in event.__dict__.items() if k not in HIDDEN}
    source = state.pop("source", None)
    return {
        "version": event.originator_version,
        "event": type(event).__name__,
        "at": event.timestamp.isoformat(),
        "actor": state.pop("actor", None) or (source.split(":")[0] if source else None),
        "reason": state.pop("reason", None),
        "details": state,
    }


HIDDEN = {"originator_id", "originator_version", "timestamp", "originator_topic", "id"}
