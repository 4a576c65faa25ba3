"""An order across the five services, from their integration events and answers: its timeline in
time order with each effect under the event that caused it, what every aggregate of it looked
like at a past moment, and the quantity ledger of each line. Used by `oms history` and the
operators' dashboard; pure functions over what the services answered."""

from collections import defaultdict
from datetime import UTC, datetime
from decimal import Decimal

SERVICES = ("orders", "billing", "fulfilment", "production", "notify")
STAGES = ("ordered", "in_production", "produced", "shipped", "delivered", "invoiced", "paid")


def merged(parts: dict[str, list[dict]]) -> list[dict]:
    """Every service's part of the timeline (`order_events`), in time order."""
    return sorted(
        (e for events in parts.values() for e in events), key=lambda e: (e["time"], e["id"])
    )


def moment(text: str) -> str:
    """An ISO 8601 time (naive: UTC) as the logs write them; ValueError if it is none."""
    at = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    return (at if at.tzinfo else at.replace(tzinfo=UTC)).astimezone(UTC).isoformat()


def causation_tree(events: list[dict]) -> list[tuple[int, dict]]:
    """(depth, event) in reading order: each event after the one that caused it, deeper by one;
    events caused by a command (an RPC request, not an event here) at depth 0."""
    ids = {e["id"] for e in events}
    children: dict[str, list[dict]] = defaultdict(list)
    roots = []
    for e in events:
        (children[e["causationid"]] if e["causationid"] in ids else roots).append(e)
    ordered: list[tuple[int, dict]] = []

    def walk(event: dict, depth: int) -> None:
        ordered.append((depth, event))
        for child in children.get(event["id"], ()):
            walk(child, depth + 1)

    for root in roots:
        walk(root, 0)
    return ordered


def why(event: dict, events: list[dict]) -> list[str]:
    """The causation chain of an event, from it up to the command that started it:
    `["fulfilment:7", "orders:12", "rpc:…"]`."""
    by_id = {e["id"]: e for e in events}
    chain, at = [event["id"]], event
    while at["causationid"] in by_id and len(chain) < 50:
        at = by_id[at["causationid"]]
        chain.append(at["id"])
    chain.append(at["causationid"])
    return chain


def states_at(events: list[dict], until: str | None = None) -> list[dict]:
    """Each aggregate (subject) as its last event up to `until` described it: `{"service",
    "subject", "type", "time", "data"}`, in the order they first appeared."""
    last: dict[str, dict] = {}
    for e in events:
        if until is None or e["time"] <= until:
            last[e["subject"]] = e
    return [
        {
            "service": e["type"].split(".", 1)[0],
            "subject": subject,
            "type": e["type"],
            "time": e["time"],
            "data": e["data"],
        }
        for subject, e in last.items()
    ]


def ledger(order: dict, invoices: list[dict], production: list[dict]) -> list[dict]:
    """Per line: ordered → in production → produced → shipped → delivered → invoiced → paid.

    In production and produced count the line's production orders that are not cancelled;
    shipped and delivered its quantities in shippings that went (or arrived); invoiced the
    quantities of invoices not voided less those of credit notes; paid the part of each
    invoice's quantities its payments cover (whole units)."""
    rows = []
    for line in order["lines"]:
        sku = line["sku"]
        made = [p for p in production if p["sku"] == sku and not p.get("cancelled")]
        went = [s for s in order["shippings"] if s["status"] in ("shipped", "delivered")]
        row = {
            "sku": sku,
            "name": line["name"],
            "ordered": line["quantity"],
            "in_production": sum(p["quantity"] for p in made),
            "produced": sum(p["produced"] for p in made),
            "shipped": _in(went, sku),
            "delivered": _in([s for s in went if s["status"] == "delivered"], sku),
            "invoiced": 0,
            "paid": 0,
            "made_in_house": line["made_in_house"],
        }
        for document in invoices:
            if document.get("voided") or not document.get("number"):
                continue
            quantity = sum(x["quantity"] for x in document["lines"] if x["sku"] == sku)
            sign = -1 if document["kind"] == "credit_note" else 1
            if document["kind"] in ("invoice", "supplementary", "credit_note"):
                row["invoiced"] += sign * quantity
                row["paid"] += sign * _paid_part(document, quantity)
        rows.append(row)
    return rows


def _in(shippings: list[dict], sku: str) -> int:
    return sum(x["quantity"] for s in shippings for x in s["lines"] if x["sku"] == sku)


def _paid_part(document: dict, quantity: int) -> int:
    total = Decimal(document.get("total") or document.get("gross") or "0")
    if total <= 0:
        return 0
    paid = min(Decimal(document.get("paid") or "0"), total)
    return int(quantity * paid / total)
