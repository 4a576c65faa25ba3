"""Generated order desks: a catalogue and many orders in every status, deterministic per seed.

Used by the read-model tests and `make bench`. Orders are built already typed (as place_order's
validation hands them on, which keeps 100,000 orders affordable), placed through the same use case
in batches of one transaction each, and moved on with the aggregate's own commands, so the log is
what real traffic would have written.
"""

import random
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from services.orders.application import OrdersApplication
from services.orders.cataloguing import client_id_for
from services.orders.schemas import ClientDetailsIn
from shared.validation import load

WORDS = (
    "alpha birch cobalt delta ember fjord granite harbor indigo juniper kelp lumen maple nova "
    "onyx pine quartz raven sierra tundra umber violet willow xenon yarrow zephyr"
).split()
PRODUCTS = [
    (f"SKU-{i:04d}", f"{WORDS[i % 26].title()} {WORDS[(i * 7) % 26]} {i}") for i in range(300)
]
CLIENTS = [
    (f"C{i:04d}", f"{WORDS[(i * 3) % 26].title()} {WORDS[(i * 5) % 26].title()} Ltd {i}")
    for i in range(60)
]
TARGETS = (
    "new", "accepted", "in_production", "ready", "partially_shipped", "shipped", "delivered",
    "on_hold", "completed", "declined", "voided",
)  # fmt: skip
ADDRESS = {
    "line1": "1 Main St",
    "line2": None,
    "city": "Leeds",
    "postcode": "LS1 1AA",
    "country": "GB",
}
START = datetime(2025, 1, 1, tzinfo=UTC)


def register_clients(app: OrdersApplication) -> None:
    for code, name in CLIENTS:
        details = {"name": name, "email": f"{code.lower()}@example.com", "phone": "+44 113 0000"}
        app.register_client(
            code, load(ClientDetailsIn, dict(details, default_address=ADDRESS)), "generator"
        )


def generate(app: OrdersApplication, count: int, seed: int = 7, batch: int = 500) -> list:
    """Place `count` orders in batches, each moved on to a random status; returns them."""
    rng = random.Random(seed)
    if not app.exists(client_id_for(CLIENTS[0][0])):
        register_clients(app)
    placed = []
    for start in range(0, count, batch):
        size = min(batch, count - start)
        targets = [rng.choice(TARGETS) for _ in range(size)]
        payloads = [payload(rng, t) for t in targets]
        placed += app.place_many(
            payloads, "generator", then=lambda order, i, t=targets: advance(order, t[i])
        )
    return placed


def payload(rng: random.Random, target: str) -> dict:
    """An order as place_order's validation would hand it on (typed: Decimal, date, datetime)."""
    picked = rng.sample(PRODUCTS, rng.randint(1, 4))
    lines = [
        {
            "sku": sku,
            "name": name,
            "quantity": rng.randint(1, 20),
            "unit_price": Decimal(rng.randint(1, 50000)) / 100,
            "currency": "EUR",
            "vat_rate": Decimal("20"),
            "distributor": None if i == 0 else "acme",
            "made_in_house": i == 0,  # every order has one made-in-house line
        }
        for i, (sku, name) in enumerate(picked)
    ]
    two = target == "partially_shipped" or rng.random() < 0.3
    shippings = [{"planned_date": date(2026, 12, 1), "lines": []}] + (
        [{"planned_date": date(2026, 12, 15), "lines": []}] if two else []
    )
    for line in lines:
        first = line["quantity"] // 2 if two and line["quantity"] > 1 else line["quantity"]
        shippings[0]["lines"].append({"sku": line["sku"], "quantity": first})
        if two and line["quantity"] > first:
            shippings[1]["lines"].append({"sku": line["sku"], "quantity": line["quantity"] - first})
    shippings = [dict(s, address=ADDRESS) for s in shippings if s["lines"]]
    placed = START + timedelta(seconds=rng.randint(0, 670 * 86400))
    order = {
        "channel": "import",
        "title": f"{rng.choice(WORDS).title()} {rng.choice(WORDS)} {rng.randint(1, 999)}",
        "lines": lines,
        "shippings": shippings,
        "payment_method": "card",
        "note": None,
        "placed_at": placed,
    }
    if rng.random() < 0.8:
        order["client_code"] = rng.choice(CLIENTS)[0]
    else:
        n = rng.randint(1, 10**6)
        order["client"] = {
            "name": f"Guest {WORDS[n % 26]} {n}",
            "email": f"g{n}@example.com",
            "phone": "1",
        }
    return order


def advance(order, target: str) -> None:
    """Move a freshly placed order to `target` with the aggregate's own commands."""
    actor, house = "generator", order.lines[0]["sku"]
    if target == "new":
        return
    if target == "declined":
        return order.decline("generated", actor)
    if target == "on_hold" and len(order.lines) % 2:  # held before acceptance
        return order.put_on_hold("generated", actor)
    order.accept(actor)
    if target in ("in_production", "ready"):
        order.production_started(house, actor)
    if target == "ready":
        order.production_finished(house, actor)
    if target in ("partially_shipped", "shipped", "delivered"):
        shipped = order.shippings[:1] if target == "partially_shipped" else list(order.shippings)
        for shipping in shipped:
            order.ship(shipping["id"], actor)
    if target == "delivered":
        order.mark_delivered(
            [{"sku": x["sku"], "quantity": x["quantity"]} for x in order.lines], actor
        )
    if target == "on_hold":
        order.put_on_hold("generated", actor)
    elif target == "completed":
        order.complete(None, actor)
    elif target == "voided":
        order.void("generated", actor)
