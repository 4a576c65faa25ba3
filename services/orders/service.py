"""The orders service: the catalogue and the order desk over RPC (examples in docs/orders-rpc.md).

Every state-changing call needs an actor token in the RPC context (shared/actors.py): the name in
it is the actor its events record. Calls that create something
take an `idempotency_key`. Entry points validate, call one use case, and show.
"""

import re

from services.orders import documents
from services.orders.application import OrdersApplication
from services.orders.schemas import (
    ChoicesIn,
    ClaimIn,
    ClientChangesIn,
    ClientDetailsIn,
    DuplicateIn,
    EditIn,
    ForClientIn,
    ListCatalogueIn,
    ListOrdersIn,
    MoveIn,
    NewShippingIn,
    NoteIn,
    OrderIn,
    ProductChangesIn,
    ProductDetailsIn,
    QuantitiesIn,
    RescheduleIn,
    ResolutionIn,
)
from services.orders.views import show_client, show_history, show_order, show_product
from shared.errors import NotFound, ValidationFailed
from shared.log_rpc import EventLogRpc
from shared.personal import encode_keys
from shared.service import EventSourced, check_id, command, who, whole
from shared.validation import load, reason_of

CODE_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
SUBJECT_PATTERN = re.compile(r"^((client:)?[A-Za-z0-9][A-Za-z0-9._-]{0,63}|order:[0-9a-f-]{36})$")


def key(idempotency_key, required: bool = False) -> str | None:
    if idempotency_key is None and not required:
        return None
    if not isinstance(idempotency_key, str) or not 0 < len(idempotency_key) <= 200:
        raise ValidationFailed(
            "invalid idempotency key",
            {"idempotency_key": ["Must be a string of 1-200 characters."]},
        )
    return idempotency_key


class OrdersService(EventLogRpc):
    name = "orders"
    app = EventSourced(OrdersApplication)

    # -- catalogue -------------------------------------------------------------------------------
    @command
    def register_client(self, code, client):
        """`register_client("ACME", {"name": …, "email": …, "phone": …, "default_address": {…}})`."""
        details = load(ClientDetailsIn, client, "client")
        return self._client(self.app.register_client(_code(code, "code"), details, who()))

    @command
    def update_client(self, code, changes):
        """`update_client("ACME", {"phone": "+44 …"})`: only the fields given change."""
        changes = load(ClientChangesIn, changes, "changes")
        return self._client(self.app.update_client(_code(code, "code"), changes, who()))

    @command
    def deactivate_client(self, code, reason):
        """`deactivate_client("ACME", "closed down")`: new orders can no longer name it."""
        return self._client(
            self.app.deactivate_client(_code(code, "code"), reason_of(reason), who())
        )

    @command
    def list_clients(self, query=None):
        """`list_clients({"active": true, "search": "acme", "after": "AC", "limit": 50})`."""
        result = self.app.list_clients(load(ListCatalogueIn, query or {}, "query"))
        return {"clients": result["items"], "next_after": result["next_after"]}

    @command
    def register_product(self, sku, product):
        """`register_product("MUG-1", {"name": "Mug", "unit_price": "9.50", "currency": "EUR",
        "vat_rate": "20", "made_in_house": false, "distributors": ["acme"],
        "default_distributor": "acme"})`."""
        details = load(ProductDetailsIn, product, "product")
        return show_product(self.app.register_product(_code(sku, "sku"), details, who()))

    @command
    def update_product(self, sku, changes):
        """`update_product("MUG-1", {"unit_price": "9.90"})`; `{"active": false}` withdraws it."""
        changes = load(ProductChangesIn, changes, "changes")
        return show_product(self.app.update_product(_code(sku, "sku"), changes, who()))

    @command
    def list_products(self, query=None):
        """`list_products({"active": true, "search": "mug"})` -> `{"products": […], "next_after"}`."""
        result = self.app.list_products(load(ListCatalogueIn, query or {}, "query"))
        return {"products": result["items"], "next_after": result["next_after"]}

    # -- placing ---------------------------------------------------------------------------------
    @command
    def place_order(self, order, idempotency_key=None):
        """Place an order (shape in docs/orders-rpc.md); returns it as get_order does."""
        idempotency_key = key(idempotency_key)
        order = load(OrderIn, order, "order")
        return self._show(self.app.place_order(order, who("storefront"), idempotency_key))

    @command
    def duplicate_order(self, order_id, idempotency_key, planned_date=None):
        """A new order with the same client and products: `duplicate_order("3f0c…", "dup-1")`."""
        check_id(order_id=order_id)
        options = load(DuplicateIn, {"planned_date": planned_date} if planned_date else {})
        new = self.app.duplicate_order(
            order_id, who(), key(idempotency_key, True), options["planned_date"]
        )
        return self._show(new)

    @command
    def new_order_for_client(self, order_id, order, idempotency_key):
        """A new order for the client of `order_id`: `order` is place_order's without a client."""
        check_id(order_id=order_id)
        idempotency_key = key(idempotency_key, True)
        order = load(ForClientIn, order, "order")
        return self._show(self.app.new_order_for_client(order_id, order, who(), idempotency_key))

    # -- the lifecycle ---------------------------------------------------------------------------
    @command
    def accept_order(self, order_id):
        """Accept a new order: `accept_order("3f0c…")` -> status "accepted"."""
        check_id(order_id=order_id)
        return self._show(self.app.accept_order(order_id, who()))

    @command
    def decline_order(self, order_id, reason):
        """Refuse an order before acceptance: `decline_order("3f0c…", "out of stock")`."""
        check_id(order_id=order_id)
        return self._show(self.app.decline_order(order_id, reason_of(reason), who()))

    @command
    def void_order(self, order_id, reason):
        """Cancel an accepted order: `void_order("3f0c…", "client cancelled")`."""
        check_id(order_id=order_id)
        return self._show(self.app.void_order(order_id, reason_of(reason), who()))

    @command
    def hold_order(self, order_id, reason):
        """Stop an open order where it is: `hold_order("3f0c…", "address check")`."""
        check_id(order_id=order_id)
        return self._show(self.app.hold_order(order_id, reason_of(reason), who()))

    @command
    def release_order(self, order_id, reason):
        """Let a held order go on from where it was: `release_order("3f0c…", "address ok")`."""
        check_id(order_id=order_id)
        return self._show(self.app.release_order(order_id, reason_of(reason), who()))

    @command
    def ship_shipping(self, order_id, shipping_id):
        """Ship one shipping of an accepted order: `ship_shipping("3f0c…", "9a1e…")`."""
        check_id(order_id=order_id, shipping_id=shipping_id)
        return self._show(self.app.ship_shipping(order_id, shipping_id, who()))

    @command
    def mark_delivered(self, order_id, lines):
        """`mark_delivered("3f0c…", [{"sku": "MUG-1", "quantity": 2}])`: up to what has shipped."""
        check_id(order_id=order_id)
        lines = load(QuantitiesIn, {"lines": lines})["lines"]
        return self._show(self.app.mark_delivered(order_id, lines, who()))

    @command
    def complete_order(self, order_id, reason=None):
        """Mark everything delivered and close the order, paid or not: `complete_order("3f0c…")`."""
        check_id(order_id=order_id)
        return self._show(
            self.app.complete_order(order_id, reason_of(reason, required=False), who())
        )

    # -- changes before shipping -----------------------------------------------------------------
    @command
    def edit_order(self, order_id, edit):
        """New contents for pending shippings (and any new lines they carry):
        `edit_order("3f0c…", {"shippings": [{"id": "9a1e…", "lines": [{"sku": "MUG-1",
        "quantity": 5}]}], "new_lines": [], "reason": "client asked"})`."""
        check_id(order_id=order_id)
        edit = load(EditIn, edit, "edit")
        return self._show(self.app.edit_order(order_id, edit, who()))

    @command
    def choose_distributors(self, order_id, choices, reason=None):
        """Who supplies each bought-in line still to ship: `choose_distributors("3f0c…",
        {"MUG-1": "bic"}, "cheaper delivery")` (fulfilment's best source applies its plan so)."""
        check_id(order_id=order_id)
        given = load(ChoicesIn, {"choices": choices, "reason": reason}, "choices")
        actor = who()
        return self._show(
            self.app.choose_distributors(order_id, given["choices"], given["reason"], actor)
        )

    @command
    def add_shipping(self, order_id, shipping, idempotency_key=None):
        """A new shipping whose quantities move from pending ones: `add_shipping("3f0c…",
        {"planned_date": "2026-12-20", "address": {…}, "lines": [{"sku": "MUG-1", "quantity": 1,
        "from_shipping": "9a1e…"}]}, "split-1")`."""
        check_id(order_id=order_id)
        idempotency_key = key(idempotency_key)
        shipping = load(NewShippingIn, shipping, "shipping")
        return self._show(self.app.add_shipping(order_id, shipping, who(), idempotency_key))

    @command
    def move_quantity(self, order_id, move):
        """`move_quantity("3f0c…", {"from_shipping": "9a1e…", "to_shipping": "77b0…",
        "sku": "MUG-1", "quantity": 1})`; a shipping left empty is removed."""
        check_id(order_id=order_id)
        move = load(MoveIn, move, "move")
        return self._show(self.app.move_quantity(order_id, move, who()))

    @command
    def reschedule_shipping(self, order_id, shipping_id, change):
        """`reschedule_shipping("3f0c…", "9a1e…", {"planned_date": "2026-12-24",
        "reason": "client away"})`; an `address` may change too."""
        check_id(order_id=order_id, shipping_id=shipping_id)
        change = load(RescheduleIn, change, "change")
        return self._show(self.app.reschedule_shipping(order_id, shipping_id, change, who()))

    # -- notes and claims ------------------------------------------------------------------------
    @command
    def add_note(self, order_id, note, idempotency_key=None):
        """`add_note("3f0c…", {"kind": "client", "text": "Gift wrap"})`; kind is internal,
        production or client."""
        check_id(order_id=order_id)
        idempotency_key = key(idempotency_key)
        note = load(NoteIn, note, "note")
        return self._show(self.app.add_note(order_id, note, who(), idempotency_key))

    @command
    def open_claim(self, order_id, claim, idempotency_key=None):
        """A quality claim on delivered lines: `open_claim("3f0c…", {"reason": "smudged",
        "lines": [{"sku": "CARD-9", "quantity": 20}]})` -> the order and the new `claim_id`."""
        check_id(order_id=order_id)
        idempotency_key = key(idempotency_key)
        claim = load(ClaimIn, claim, "claim")
        order, claim_id = self.app.open_claim(order_id, claim, who(), idempotency_key)
        return dict(self._show(order), claim_id=claim_id)

    @command
    def resolve_claim(self, order_id, claim_id, resolution):
        """`resolve_claim("3f0c…", "c1…", {"resolution": "reprinted", "reason": "our fault"})`
        places a free reprint of the claimed lines, linked both ways; or "rejected"."""
        check_id(order_id=order_id, claim_id=claim_id)
        resolution = load(ResolutionIn, resolution, "resolution")
        return self._show(self.app.resolve_claim(order_id, claim_id, resolution, who()))

    # -- queries ---------------------------------------------------------------------------------
    @command
    def get_order(self, order_id):
        """The order with lines, shippings, totals, statuses, notes, claims, links and history."""
        check_id(order_id=order_id)
        return self._show(self.app.get(order_id, "order"))

    @command
    def document(self, kind, document_id, revision=None):
        """`document("confirmation", order_id)`: the order confirmation as it stands (a new
        revision is issued if the order changed since the last; `revision=2`: that one, as
        issued): `{"filename", "content_type": "application/pdf", "sha256" (recorded when it
        was issued), "content": "<base64>", …}`."""
        if kind != "confirmation":
            raise NotFound(f"orders has no {kind} documents", {"kind": kind})
        check_id(id=document_id)
        if revision is not None:
            whole(revision, "revision", 1)
        order, confirmation = self.app.confirmation(document_id, revision)
        page = documents.render(self.app.opened(confirmation))
        return documents.served(order, confirmation, page)

    @command
    def list_orders(self, query=None):
        """`list_orders({"sort": "total", "direction": "desc", "statuses": ["accepted"],
        "search": "ada", "limit": 50})` -> `{"orders": […], "next_cursor": …, "counts": {…}}`;
        pass `next_cursor` back as `cursor` (with the same query) for the next page."""
        return self.app.list_orders(load(ListOrdersIn, query or {}, "query"))

    @command
    def order_counts(self):
        """Every order, closed ones too, per status and per payment status: `{"by_status":
        {"new": 3, "accepted": 5}, "by_payment_status": {"unpaid": 4, "paid": 1, "none": 3}}`."""
        who("operator")
        return self.app.status_counts()

    @command
    def rebuild_read_model(self):
        """Drop the list tables and write them again from the whole log: `{"aggregates": n}`."""
        who("admin")
        return {"aggregates": self.app.rebuild_read_model()}

    # -- personal data -------------------------------------------------------------------------
    @command
    def forget_client(self, client):
        """Forget a client: `forget_client("ACME")` (a catalogue client's code) or
        `forget_client("order:3f0c…")` (a guest, by its first order). Its key is destroyed:
        its name, e-mail, phone and addresses open to "forgotten client" in every service,
        its orders, totals and history stay. -> `{"subject", "forgotten": true, "now": bool}`
        (`now` false: it was forgotten before)."""
        if not isinstance(client, str) or not SUBJECT_PATTERN.match(client):
            raise ValidationFailed(
                "invalid client",
                {"client": ["A client code, or order:<order id> for a guest client."]},
            )
        return self.app.forget_client(client, who("admin"))

    @command
    def personal_keys(self, subjects):
        """The services' way to open what is sealed: `personal_keys(["client:ACME"])` ->
        `{"client:ACME": "<base64 key>" or None once forgotten}` (unknown subjects left out).
        Only services' broker users may publish this request (oms/broker_users.py)."""
        if not isinstance(subjects, list) or not 0 < len(subjects) <= 1000:
            raise ValidationFailed("invalid subjects", {"subjects": ["A list of 1-1000 subjects."]})
        if not all(isinstance(s, str) and SUBJECT_PATTERN.match(s) for s in subjects):
            raise ValidationFailed(
                "invalid subjects", {"subjects": ["Each is client:<code> or order:<id>."]}
            )
        return encode_keys(self.app.personal_keys(subjects))

    def _client(self, client):
        return self.app.opened(show_client(client))

    def _show(self, order):
        history = self.app.history_of(order)
        if history is None:
            history = self.app.history(str(order.id))
        return self.app.opened(show_order(order, show_history(history)))


def _code(value, field: str) -> str:
    if not isinstance(value, str) or not CODE_PATTERN.match(value):
        raise ValidationFailed(
            f"invalid {field}", {field: ["Use 1-64 letters, digits, '.', '_' or '-'."]}
        )
    return value
