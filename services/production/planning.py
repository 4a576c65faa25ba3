"""Planning production from the orders service's events: what the workshop keeps of each order
(its brief), production orders for the made-in-house quantity not yet covered (on acceptance or
when an operator asks, by policy), cancellation when the order is voided, and the order's
production notes carried to its production orders.

The client's name comes sealed with its key (shared/personal.py) and is kept so, in the brief and
the production orders alike; only the work sheet opens it, when it is rendered."""

from uuid import NAMESPACE_URL, uuid5

from services.production.briefs import OrderBrief
from services.production.domain import OPEN, ProductionOrder
from shared.contracts import load

PRODUCTION_IDS = uuid5(NAMESPACE_URL, "https://oms.example/production-orders")
BRIEF_IDS = uuid5(NAMESPACE_URL, "https://oms.example/production-briefs")
POLICIES = ("on_accept", "on_demand")


def brief_id(order_id: str):
    return uuid5(BRIEF_IDS, str(order_id))


def production_id(order_id: str, sku: str, index: int):
    """The first production order of a line keeps the id it always had; later ones are numbered."""
    name = f"{order_id}:{sku}" if index == 0 else f"{order_id}:{sku}:{index + 1}"
    return uuid5(PRODUCTION_IDS, name)


def brief_of(order: dict) -> dict:
    """The brief's view of an order event's data: only what production needs."""
    house = [line for line in order["lines"] if line["made_in_house"]]
    planned = {}
    for shipping in order.get("shippings") or []:
        for item in shipping["lines"]:
            date = shipping["planned_date"]
            if item["sku"] in {x["sku"] for x in house}:
                planned[item["sku"]] = min(planned.get(item["sku"], date), date)
    reprint_of = next((x for x in order.get("links") or [] if x["kind"] == "reprint_of"), None)
    client = order["client"]
    return {
        "order_id": order["order_id"],
        "reference": order["reference"],
        "client": {k: client.get(k) for k in ("code", "name", "language")},
        "lines": [
            {
                "sku": x["sku"],
                "name": x["name"],
                "quantity": x["quantity"],
                "production_policy": x.get("production_policy"),
            }
            for x in house
        ],
        "planned": planned,
        "reprint_of": reprint_of,
    }


class Planning:
    """Mixed into the production application (it provides the store, `for_order` and settings)."""

    reactions = {
        "orders.order_placed": "_order_placed",
        "orders.order_accepted": "_order_accepted",
        "orders.order_edited": "_order_changed",
        "orders.shippings_changed": "_order_changed",
        "orders.order_voided": "_order_closed",
        "orders.order_declined": "_order_closed",
        "orders.note_added": "_order_noted",
        "orders.client_forgotten": "_client_forgotten",
    }

    # -- reactions -----------------------------------------------------------------------------
    def _order_placed(self, envelope: dict) -> list:
        order = load(envelope["type"], envelope["data"])
        if self.exists(brief_id(order["order_id"])) or not _has_house_lines(order):
            return []
        return [OrderBrief(id=brief_id(order["order_id"]), order=brief_of(order))]

    def _order_accepted(self, envelope: dict) -> list:
        order = load(envelope["type"], envelope["data"])
        if not _has_house_lines(order):
            return []
        brief = self._brief(order)
        brief.accept()
        return _changed(brief, *self.plan(brief, policy="on_accept", actor=order.get("actor")))

    def _order_changed(self, envelope: dict) -> list:
        order = load(envelope["type"], envelope["data"])
        if not self.exists(brief_id(order["order_id"])):
            return []
        brief = self.brief(order["order_id"])
        seen = brief_of(order)
        if not brief.follow(seen["lines"], seen["planned"]):
            return []
        planned = self.plan(brief, "on_accept", order.get("actor")) if brief.accepted else []
        return [brief, *planned]

    def _order_closed(self, envelope: dict) -> list:
        """A voided order cancels its open production orders (finished ones stay)."""
        order = load(envelope["type"], envelope["data"])
        if not self.exists(brief_id(order["order_id"])):
            return []
        brief = self.brief(order["order_id"])
        reason = f"order {order['status']}: {order.get('reason') or ''}".rstrip(": ")
        brief.close(reason)
        jobs = self.production_orders(order["order_id"])
        for job in jobs:
            if job.status in OPEN and order["status"] == "voided":
                job.cancel(reason, order.get("actor"))
        return _changed(brief, *jobs)

    def _order_noted(self, envelope: dict) -> list:
        data = load(envelope["type"], envelope["data"])
        if data["kind"] != "production" or not self.exists(brief_id(data["order_id"])):
            return []
        note = {
            "id": data["note_id"],
            "text": data["text"],
            "author": data["actor"],
            "at": data["at"],
        }
        brief = self.brief(data["order_id"])
        changed = [brief] if brief.add_note(note) else []
        for job in self.production_orders(data["order_id"]):
            if job.status in OPEN and job.follow_order_note(note):
                changed.append(job)
        return changed

    def _client_forgotten(self, envelope: dict) -> list:
        """The client's key is destroyed: its kept copy goes at once. Nothing else changes —
        what production stores of the client is sealed, and now opens to "forgotten client"."""
        self.keyring.forget(load(envelope["type"], envelope["data"])["subject"])
        return []

    # -- planning ------------------------------------------------------------------------------
    def plan(self, brief: OrderBrief, policy: str | None, actor: str | None) -> list:
        """Production orders for each made-in-house line's quantity not yet covered by a
        production order that is not cancelled — of the lines whose policy is `policy` (all of
        them when None). A line fully covered gets nothing, so asking twice creates nothing."""
        if brief.closed:
            return []
        jobs = self.production_orders(brief.order_id)
        planned = []
        for line in brief.order["lines"]:
            if policy and (line["production_policy"] or self.settings.production_policy) != policy:
                continue
            same = [j for j in jobs if j.sku == line["sku"]]
            missing = line["quantity"] - sum(j.quantity for j in same if j.status != "cancelled")
            if missing <= 0:
                continue
            job = ProductionOrder(
                id=production_id(brief.order_id, line["sku"], len(same)),
                order_id=brief.order_id,
                order_reference=brief.order["reference"],
                sku=line["sku"],
                name=line["name"],
                quantity=missing,
                number=f"{brief.order['reference']}-P{len(jobs) + 1}",
                planned_date=brief.order["planned"].get(line["sku"]),
                client=brief.order["client"],
                rerun_of=self._rerun_of(brief, line["sku"]),
                order_notes=brief.notes,
                actor=actor,
            )
            jobs.append(job)
            planned.append(job)
        return planned

    def _rerun_of(self, brief: OrderBrief, sku: str) -> dict | None:
        """A reprint's production order names the original order's production of the line."""
        original = brief.order.get("reprint_of")
        if not original:
            return None
        done = [j for j in self.production_orders(original["order_id"]) if j.sku == sku]
        if not done:
            return None
        return {
            "production_order_id": str(done[-1].id),
            "number": done[-1].number,
            "order_id": original["order_id"],
            "order_reference": original["reference"],
        }

    def production_orders(self, order_id: str) -> list[ProductionOrder]:
        return [a for a in self.for_order(order_id) if isinstance(a, ProductionOrder)]

    def brief(self, order_id: str) -> OrderBrief:
        return self.get(brief_id(order_id), "order")

    def _brief(self, order: dict) -> OrderBrief:
        """The order's brief, made now if production never saw the order placed."""
        if self.exists(brief_id(order["order_id"])):
            return self.brief(order["order_id"])
        return OrderBrief(id=brief_id(order["order_id"]), order=brief_of(order))


def _changed(*aggregates) -> list:
    return [a for a in aggregates if a.pending_events]


def _has_house_lines(order: dict) -> bool:
    return any(line["made_in_house"] for line in order["lines"])
