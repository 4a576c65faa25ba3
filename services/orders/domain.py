"""The Order aggregate: a client's order, its lines and shippings, and its status machine.

The status is derived from the facts (accepted, closed, on hold, what is in production, ready,
shipped and delivered) after every event, so it can never disagree with them. docs/order-status.md
is the table of what each command requires.
"""

from decimal import Decimal
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from shared.refusals import Missing, Refused

CLOSED = ("declined", "voided", "completed")
STATUSES = (
    "new",
    "accepted",
    "in_production",
    "ready",
    "partially_shipped",
    "shipped",
    "delivered",
    "completed",
    "declined",
    "voided",
    "on_hold",
)


class Order(Aggregate):
    @event("Placed")
    def __init__(
        self,
        id: UUID,
        reference: str,
        title: str,
        client: dict,
        channel: str,
        lines: list,
        shippings: list,
        payment_method: str | None,
        note: str | None,
        actor: str | None,
        origin: dict | None = None,
        placed_at: str | None = None,
        payment_status: str | None = None,
    ):
        self.reference, self.title, self.client, self.channel = reference, title, client, channel
        self.lines = [dict(line, delivered=0, in_production=False, ready=False) for line in lines]
        self.shippings = [dict(s, status="pending") for s in shippings]
        self.payment_method, self.note, self.origin = payment_method, note, origin
        self.placed_at = placed_at
        self.accepted, self.closed, self.hold = False, None, None
        self.payment_status = payment_status  # None until billing issues an invoice
        self.reason = None  # why the order is declined, voided or completed
        self.notes, self.claims = [], []
        self.links = [origin] if origin else []
        self.confirmations: list[dict] = []  # issued order confirmations (documents.py)
        self._derive()

    # -- reading -------------------------------------------------------------------------------
    @property
    def currency(self) -> str:
        return self.lines[0]["currency"]

    @property
    def total(self) -> Decimal:
        return total_of(self.lines)

    @property
    def placed(self) -> str:
        return self.placed_at or self.created_on.isoformat()

    def line(self, sku: str) -> dict:
        for line in self.lines:
            if line["sku"] == sku:
                return line
        raise UnknownSku(sku)

    def shipping(self, shipping_id: str) -> dict:
        for shipping in self.shippings:
            if shipping["id"] == shipping_id:
                return shipping
        raise UnknownShipping(shipping_id)

    def shipped_quantity(self, sku: str) -> int:
        return sum(
            sline["quantity"]
            for s in self.shippings
            if s["status"] == "shipped"
            for sline in s["lines"]
            if sline["sku"] == sku
        )

    def claimed_quantity(self, sku: str) -> int:
        return sum(
            cline["quantity"]
            for c in self.claims
            if c["status"] != "rejected"
            for cline in c["lines"]
            if cline["sku"] == sku
        )

    def claim(self, claim_id: str) -> dict:
        for claim in self.claims:
            if claim["id"] == claim_id:
                return claim
        raise UnknownClaim(claim_id)

    # -- acceptance, refusal, cancellation, holds ----------------------------------------------
    def accept(self, actor: str) -> None:
        self.check_open("accept", hold_ok=False)
        if self.accepted:
            raise TransitionRefused("accept", self.status, "accept_requires_status_new")
        self._accept(actor=actor)

    @event("Accepted")
    def _accept(self, actor: str | None) -> None:
        self.accepted = True
        self._derive()

    def decline(self, reason: str, actor: str) -> None:
        self.check_open("decline", hold_ok=True)
        if self.accepted:
            raise TransitionRefused("decline", self.status, "decline_requires_no_acceptance")
        self._decline(reason=reason, actor=actor)

    @event("Declined")
    def _decline(self, reason: str, actor: str | None) -> None:
        self.closed, self.reason, self.hold = "declined", reason, None
        self._derive()

    def void(self, reason: str, actor: str) -> None:
        self.check_open("void", hold_ok=True)
        if not self.accepted:
            raise TransitionRefused("void", self.status, "void_requires_acceptance")
        self._void(reason=reason, actor=actor)

    @event("Voided")
    def _void(self, reason: str, actor: str) -> None:
        self.closed, self.reason, self.hold = "voided", reason, None
        self._derive()

    def put_on_hold(self, reason: str, actor: str) -> None:
        self.check_open("hold", hold_ok=False)
        self._hold(reason=reason, actor=actor)

    @event("Held")
    def _hold(self, reason: str, actor: str) -> None:
        self.hold = {"reason": reason, "by": actor}
        self._derive()

    def release(self, reason: str, actor: str) -> None:
        if self.hold is None:
            raise TransitionRefused("release", self.status, "release_requires_status_on_hold")
        self._release(reason=reason, actor=actor)

    @event("Released")
    def _release(self, reason: str, actor: str) -> None:
        self.hold = None
        self._derive()

    # -- production (driven by the production service's events) -------------------------------
    def production_started(self, sku: str, source: str) -> bool:
        """False when there is nothing to record (a replayed, unknown or closed line)."""
        line = self._house_line(sku)
        if line is None or line["in_production"] or line["ready"]:
            return False
        self._production_started(sku=sku, source=source)
        return True

    @event("LineInProduction")
    def _production_started(self, sku: str, source: str) -> None:
        self.line(sku)["in_production"] = True
        self._derive()

    def production_finished(self, sku: str, source: str) -> bool:
        line = self._house_line(sku)
        if line is None or line["ready"]:
            return False
        self._production_finished(sku=sku, source=source)
        return True

    @event("LineReady")
    def _production_finished(self, sku: str, source: str) -> None:
        self.line(sku)["ready"] = True
        self._derive()

    def follow_production(self, job: dict, source: str) -> bool:
        """A production order of a line changed (`job`: production_order_id, sku, status,
        quantity, produced); False when the order already shows it, or the line is unknown or
        the order closed."""
        line = self._house_line(job["sku"])
        if line is None:
            return False
        state = {k: job[k] for k in ("status", "quantity", "produced")}
        if line.get("production", {}).get(job["production_order_id"]) == state:
            return False
        self._production_followed(job=dict(job), source=source)
        return True

    @event("ProductionFollowed")
    def _production_followed(self, job: dict, source: str) -> None:
        """The line's production: in production while a production order that is not
        cancelled covers it, partially produced as quantities come, ready once produced."""
        line = self.line(job["sku"])
        jobs = line.setdefault("production", {})
        jobs[job["production_order_id"]] = {k: job[k] for k in ("status", "quantity", "produced")}
        live = [j for j in jobs.values() if j["status"] != "cancelled"]
        line["produced"] = sum(j["produced"] for j in live)
        line["ready"] = bool(live) and line["produced"] >= line["quantity"]
        line["in_production"] = bool(live) and not line["ready"]
        line["production_status"] = line_production_status(line)
        self._derive()

    @event("ConfirmationIssued")
    def issue_confirmation(self, document: dict, actor: str | None = None) -> None:
        """An order confirmation (revision, issue date, content) and its SHA-256."""
        self.confirmations.append(document)

    def _house_line(self, sku: str) -> dict | None:
        if self.closed:
            return None
        line = next((x for x in self.lines if x["sku"] == sku), None)
        return line if line and line["made_in_house"] else None

    # -- shipping and delivery -----------------------------------------------------------------
    def ship(self, shipping_id: str, actor: str) -> None:
        self.check_progress("ship")
        self.check_pending("ship", shipping_id)
        self._ship(shipping_id=shipping_id, actor=actor)

    @event("ShippingShipped")
    def _ship(self, shipping_id: str, actor: str | None) -> None:
        self.shipping(shipping_id)["status"] = "shipped"
        self._derive()

    def mark_delivered(self, lines: list, actor: str) -> None:
        self.check_progress("mark_delivered")
        for item in lines:
            line = self.line(item["sku"])
            deliverable = self.shipped_quantity(item["sku"]) - line["delivered"]
            if item["quantity"] > deliverable:
                raise TransitionRefused(
                    "mark_delivered",
                    self.status,
                    "delivered_exceeds_shipped",
                    f"{item['sku']}: {deliverable} shipped and not yet delivered, "
                    f"{item['quantity']} asked",
                )
        self._deliver(lines=lines, actor=actor)

    @event("LinesDelivered")
    def _deliver(self, lines: list, actor: str) -> None:
        for item in lines:
            self.line(item["sku"])["delivered"] += item["quantity"]
        self._derive()

    def note_courier(self, shipping_id: str, courier: dict | None, source: str) -> bool:
        """Who is bringing the shipping, and about when (`{"name", "eta"}`), as fulfilment said."""
        shipping = self.shipping(shipping_id)
        if shipping.get("courier") == courier:
            return False
        self._note_courier(shipping_id=shipping_id, courier=courier, source=source)
        return True

    @event("CourierNoted")
    def _note_courier(self, shipping_id: str, courier: dict | None, source: str) -> None:
        self.shipping(shipping_id)["courier"] = courier

    def deliver_shipping(self, shipping_id: str, source: str) -> bool:
        """An own courier delivered the shipping: it left with the courier (shipped, if it was
        still pending) and each of its quantities is delivered. Once; not on a closed order."""
        shipping = self.shipping(shipping_id)
        if self.closed or shipping.get("delivered"):
            return False
        if shipping["status"] == "pending":
            self._ship(shipping_id=shipping_id, actor=None)
        lines = []
        for item in shipping["lines"]:
            line = self.line(item["sku"])
            open_quantity = self.shipped_quantity(item["sku"]) - line["delivered"]
            if min(item["quantity"], open_quantity) > 0:
                lines.append({"sku": item["sku"], "quantity": min(item["quantity"], open_quantity)})
        self._deliver_shipping(shipping_id=shipping_id, lines=lines, source=source)
        return True

    @event("ShippingDelivered")
    def _deliver_shipping(self, shipping_id: str, lines: list, source: str) -> None:
        for item in lines:
            self.line(item["sku"])["delivered"] += item["quantity"]
        self.shipping(shipping_id)["delivered"] = True
        self._derive()

    def complete(self, reason: str | None, actor: str) -> None:
        self.check_progress("complete")
        self._complete(reason=reason, actor=actor)

    @event("Completed")
    def _complete(self, reason: str | None, actor: str) -> None:
        for line in self.lines:
            line["delivered"] = line["quantity"]
        for shipping in self.shippings:
            shipping["status"] = "shipped"
        self.closed, self.reason = "completed", reason
        self._derive()

    def choose_distributors(self, choices: dict, reason: str | None, actor: str) -> None:
        """`choices`: {sku: distributor} for bought-in lines with quantities still to ship."""
        self.check_changeable("choose_distributors")
        for sku in choices:
            line = self.line(sku)
            if line["made_in_house"]:
                raise TransitionRefused(
                    "choose_distributors", self.status, "line_made_in_house", sku
                )
            if not any(
                s["status"] == "pending" and any(x["sku"] == sku for x in s["lines"])
                for s in self.shippings
            ):
                raise TransitionRefused(
                    "choose_distributors", self.status, "line_already_shipped", sku
                )
        changed = {k: v for k, v in choices.items() if self.line(k)["distributor"] != v}
        if not changed:
            raise TransitionRefused("choose_distributors", self.status, "choice_changes_nothing")
        self._choose_distributors(choices=changed, reason=reason, actor=actor)

    @event("DistributorsChosen")
    def _choose_distributors(self, choices: dict, reason: str | None, actor: str) -> None:
        for sku, distributor in choices.items():
            self.line(sku)["distributor"] = distributor

    # -- changes to shippings and lines before they ship ----------------------------------------
    def edit(self, contents: dict, new_lines: list, reason: str | None, actor: str) -> None:
        """`contents`: {shipping id: [{sku, quantity}]} for pending shippings, replacing theirs."""
        self.check_changeable("edit")
        for shipping_id in contents:
            self.check_pending("edit", shipping_id)
        known = {line["sku"] for line in self.lines}
        for line in new_lines:
            if line["sku"] in known:
                raise TransitionRefused(
                    "edit", self.status, "new_line_already_on_order", line["sku"]
                )
        quantities = _quantities(self.shippings, contents)
        for sku in quantities:
            if sku not in known and sku not in {line["sku"] for line in new_lines}:
                raise UnknownSku(sku)
        for line in new_lines:
            if not quantities.get(line["sku"]):
                raise TransitionRefused("edit", self.status, "new_line_in_no_shipping", line["sku"])
        after = [dict(x, quantity=quantities.get(x["sku"], 0)) for x in self.lines + new_lines]
        changes = [
            {"sku": x["sku"], "before": self._ordered(x["sku"]), "after": x["quantity"]}
            for x in after
            if x["quantity"] != self._ordered(x["sku"])
        ]
        if not changes:
            raise TransitionRefused("edit", self.status, "edit_changes_nothing")
        self._edit(
            contents=contents,
            new_lines=new_lines,
            changes=changes,
            total_before=self.total,
            total_after=total_of(after),
            reason=reason,
            actor=actor,
        )

    @event("Edited")
    def _edit(self, contents, new_lines, changes, total_before, total_after, reason, actor):
        for shipping_id, lines in contents.items():
            self.shipping(shipping_id)["lines"] = lines
        self.lines += [dict(x, delivered=0, in_production=False, ready=False) for x in new_lines]
        quantities = _quantities(self.shippings, {})
        for line in self.lines:
            line["quantity"] = quantities.get(line["sku"], 0)
        self.lines = [line for line in self.lines if line["quantity"]]
        self._derive()

    def add_shipping(self, shipping: dict, actor: str) -> None:
        """`shipping["lines"]` items name the pending shipping each quantity moves from."""
        self.check_changeable("add_shipping")
        if any(s["id"] == shipping["id"] for s in self.shippings):
            raise TransitionRefused("add_shipping", self.status, "shipping_exists", shipping["id"])
        for item in shipping["lines"]:
            self._check_movable(
                "add_shipping", item["from_shipping"], item["sku"], item["quantity"]
            )
        self._add_shipping(shipping=shipping, actor=actor)

    @event("ShippingAdded")
    def _add_shipping(self, shipping: dict, actor: str) -> None:
        self.shippings.append(dict(shipping, lines=[], status="pending"))
        for item in shipping["lines"]:
            self._move(item["from_shipping"], shipping["id"], item["sku"], item["quantity"])

    def move_quantity(self, from_id: str, to_id: str, sku: str, quantity: int, actor: str) -> None:
        self.check_changeable("move_quantity")
        self.check_pending("move_quantity", to_id)
        if from_id == to_id:
            raise TransitionRefused("move_quantity", self.status, "move_to_same_shipping")
        self._check_movable("move_quantity", from_id, sku, quantity)
        self._move_quantity(from_id=from_id, to_id=to_id, sku=sku, quantity=quantity, actor=actor)

    @event("QuantityMoved")
    def _move_quantity(self, from_id, to_id, sku, quantity, actor) -> None:
        self._move(from_id, to_id, sku, quantity)

    def reschedule(self, shipping_id, planned_date, address, reason, actor) -> None:
        self.check_changeable("reschedule_shipping")
        self.check_pending("reschedule_shipping", shipping_id)
        self._reschedule(
            shipping_id=shipping_id,
            planned_date=planned_date,
            address=address,
            reason=reason,
            actor=actor,
        )

    @event("ShippingRescheduled")
    def _reschedule(self, shipping_id, planned_date, address, reason, actor) -> None:
        shipping = self.shipping(shipping_id)
        if planned_date is not None:
            shipping["planned_date"] = planned_date
        if address is not None:
            shipping["address"] = address

    def _check_movable(self, command: str, from_id: str, sku: str, quantity: int) -> None:
        self.check_pending(command, from_id)
        self.line(sku)
        held = sum(x["quantity"] for x in self.shipping(from_id)["lines"] if x["sku"] == sku)
        if quantity > held:
            raise TransitionRefused(
                command,
                self.status,
                "move_exceeds_shipping",
                f"shipping {from_id} holds {held} of {sku}, {quantity} asked",
            )

    def _move(self, from_id: str, to_id: str, sku: str, quantity: int) -> None:
        source, target = self.shipping(from_id), self.shipping(to_id)
        source["lines"] = _merged(source["lines"] + [{"sku": sku, "quantity": -quantity}])
        target["lines"] = _merged(target["lines"] + [{"sku": sku, "quantity": quantity}])
        if not source["lines"]:  # a shipping needs at least one product: an emptied one goes
            self.shippings.remove(source)

    # -- notes, claims, links, payment -----------------------------------------------------------
    @event("NoteAdded")
    def add_note(self, note_id: str, kind: str, text: str, actor: str, at: str) -> None:
        self.notes.append({"id": note_id, "kind": kind, "text": text, "author": actor, "at": at})

    def open_claim(self, claim_id: str, reason: str, lines: list, actor: str) -> None:
        if any(c["id"] == claim_id for c in self.claims):
            raise TransitionRefused("open_claim", self.status, "claim_exists", claim_id)
        for item in lines:
            line = self.line(item["sku"])
            claimable = line["delivered"] - self.claimed_quantity(item["sku"])
            if item["quantity"] > claimable:
                raise TransitionRefused(
                    "open_claim",
                    self.status,
                    "claim_exceeds_delivered",
                    f"{item['sku']}: {claimable} delivered and not yet claimed, "
                    f"{item['quantity']} claimed",
                )
        self._open_claim(claim_id=claim_id, reason=reason, lines=lines, actor=actor)

    @event("ClaimOpened")
    def _open_claim(self, claim_id: str, reason: str, lines: list, actor: str) -> None:
        self.claims.append(
            {"id": claim_id, "reason": reason, "lines": lines, "status": "open", "opened_by": actor}
        )

    def resolve_claim(self, claim_id, resolution, reason, actor, reorder=None) -> None:
        if self.claim(claim_id)["status"] != "open":
            raise TransitionRefused("resolve_claim", self.status, "claim_already_resolved")
        self._resolve_claim(
            claim_id=claim_id, resolution=resolution, reason=reason, actor=actor, reorder=reorder
        )

    @event("ClaimResolved")
    def _resolve_claim(self, claim_id, resolution, reason, actor, reorder) -> None:
        claim = self.claim(claim_id)
        claim.update(status=resolution, resolution_reason=reason, reorder=reorder)
        if reorder:
            self.links.append(dict(reorder, kind="reprinted_as"))

    @event("Linked")
    def link(self, kind: str, order_id: str, reference: str, actor: str) -> None:
        self.links.append({"kind": kind, "order_id": order_id, "reference": reference})

    def record_payment_status(self, payment_status: str, source: str) -> bool:
        if payment_status == self.payment_status:
            return False
        self._payment_status(payment_status=payment_status, source=source)
        return True

    @event("PaymentStatusChanged")
    def _payment_status(self, payment_status: str, source: str) -> None:
        self.payment_status = payment_status

    def record_payment_method(self, payment_method: str, source: str) -> bool:
        """Billing changed the order's payment channel (who and why are in billing's event)."""
        if payment_method == self.payment_method:
            return False
        self._payment_method(payment_method=payment_method, source=source)
        return True

    @event("PaymentMethodChanged")
    def _payment_method(self, payment_method: str, source: str) -> None:
        self.payment_method = payment_method

    # -- rules -----------------------------------------------------------------------------------
    def check_open(self, command: str, hold_ok: bool) -> None:
        if self.closed:
            raise TransitionRefused(command, self.status, "order_closed")
        if self.hold and not hold_ok:
            raise TransitionRefused(command, self.status, "order_on_hold")

    def check_progress(self, command: str) -> None:
        """Shipping, delivering and completing need an accepted, open order that is not on hold."""
        self.check_open(command, hold_ok=False)
        if not self.accepted:
            raise TransitionRefused(command, self.status, f"{command}_requires_acceptance")

    def check_changeable(self, command: str) -> None:
        self.check_open(command, hold_ok=False)

    def check_pending(self, command: str, shipping_id: str) -> None:
        if self.shipping(shipping_id)["status"] != "pending":
            raise TransitionRefused(command, self.status, "shipping_already_shipped", shipping_id)

    def _ordered(self, sku: str) -> int:
        return next((x["quantity"] for x in self.lines if x["sku"] == sku), 0)

    def _derive(self) -> None:
        self.status = derived_status(self)


def derived_status(order: Order) -> str:
    if order.closed:
        return order.closed
    if order.hold:
        return "on_hold"
    if not order.accepted:
        return "new"
    if all(line["delivered"] >= line["quantity"] for line in order.lines):
        return "delivered"
    shipped = [s["status"] == "shipped" for s in order.shippings]
    if all(shipped):
        return "shipped"
    if any(shipped):
        return "partially_shipped"
    house = [line for line in order.lines if line["made_in_house"]]
    if house and all(line["ready"] for line in house):
        return "ready"
    if any(line["in_production"] or line["ready"] for line in house):
        return "in_production"
    return "accepted"


def line_production_status(line: dict) -> str | None:
    """waiting, in_production, partially_produced or ready (None: the line is bought in)."""
    if not line["made_in_house"]:
        return None
    if line["ready"]:
        return "ready"
    if line.get("produced"):
        return "partially_produced"
    return "in_production" if line["in_production"] else "waiting"


def total_of(lines: list) -> Decimal:
    return sum((Decimal(x["unit_price"]) * x["quantity"] for x in lines), Decimal("0"))


def _quantities(shippings: list, replaced: dict) -> dict:
    totals: dict[str, int] = {}
    for shipping in shippings:
        for item in replaced.get(shipping["id"], shipping["lines"]):
            totals[item["sku"]] = totals.get(item["sku"], 0) + item["quantity"]
    return totals


def _merged(lines: list) -> list:
    """Sum quantities per sku, keeping first-seen order and dropping zeros."""
    totals: dict[str, int] = {}
    for item in lines:
        totals[item["sku"]] = totals.get(item["sku"], 0) + item["quantity"]
    return [{"sku": sku, "quantity": q} for sku, q in totals.items() if q]


# Events stored before actors, titles and VAT were recorded are read as version 2.
def _upcast_placed(state: dict) -> None:
    state.update(title=state["lines"][0]["name"], actor=None, origin=None, placed_at=None)
    for line in state["lines"]:
        line.setdefault("vat_rate", None)


def _upcast_actor(state: dict) -> None:
    state.setdefault("actor", None)


def _upcast_payment_status(state: dict) -> None:
    """Orders placed before version 3 started "unpaid" and recorded no change to it when their
    invoice came; they keep reading so."""
    state["payment_status"] = "unpaid"


for _cls, _upcast in (
    (Order.Placed, _upcast_placed),
    (Order.Accepted, _upcast_actor),
    (Order.Declined, _upcast_actor),
    (Order.ShippingShipped, _upcast_actor),
):
    _cls.class_version = 2
    _cls.upcast_v1_v2 = staticmethod(_upcast)
Order.Placed.class_version = 3
Order.Placed.upcast_v2_v3 = staticmethod(_upcast_payment_status)


class TransitionRefused(Refused):
    def __init__(self, command: str, status: str, rule: str, detail: str | None = None):
        message = f"cannot {command} an order that is {status}: {rule}"
        super().__init__(
            f"{message} ({detail})" if detail else message,
            rule,
            detail,
            command=command,
            status=status,
        )
        self.command, self.status = command, status


class UnknownShipping(Missing):
    def __init__(self, shipping_id: str):
        super().__init__(f"the order has no shipping {shipping_id}", shipping_id=shipping_id)


class UnknownSku(Missing):
    def __init__(self, sku: str):
        super().__init__(f"the order has no line {sku}", sku=sku)


class UnknownClaim(Missing):
    def __init__(self, claim_id: str):
        super().__init__(f"the order has no claim {claim_id}", claim_id=claim_id)
