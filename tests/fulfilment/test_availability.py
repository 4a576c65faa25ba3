"""Stock, price and the best source, in process (SQLite; the feeds' read model and a worked example
on PostgreSQL too), against real local
distributors: a fast live API, a slow one beyond the deadline, a failing one, a feed-only one and
one with neither. Live answers where they come in time, the latest feed for the rest (with its
age, and why), a failed feed import keeping the snapshot before it; the best source on worked
examples with weight bands, splits and distributors that do not deliver; applied to an order."""

import json
import time

import pytest

from services.fulfilment.availability import FeedScheduler
from shared.errors import InvalidTransition, NotFound, ValidationFailed
from tests.inprocess import InProcess
from tests.support import order_payload, random_ref
from tests.thirdparties import DistributorServer

GB = {"country": "GB"}
ADDRESS = {"line1": "1 Main St", "city": "Leeds", "postcode": "LS1 1AA", "country": "GB"}


@pytest.fixture
def desk(tmp_path):
    """On SQLite files: what is asked here does not depend on the store (the read model of the
    feeds is checked on both, below)."""
    desk = InProcess(tmp_path, services=("orders", "fulfilment"))
    yield desk
    desk.close()


@pytest.fixture
def stored_desk(tmp_path, module_store):
    """On SQLite and on PostgreSQL."""
    desk = InProcess(tmp_path, services=("orders", "fulfilment"), urls=module_store)
    yield desk
    desk.close()


@pytest.fixture(scope="module")
def servers(tmp_path_factory):
    """The five distributors' servers (each test registers its own distributors on them)."""
    made = {}
    options = {"fast": (), "slow": ("--stock-delay", "3"), "failing": ("--stock-status", "500"),
               "feedonly": (), "bare": ()}  # fmt: skip
    for name, extra in options.items():
        made[name] = DistributorServer(tmp_path_factory.mktemp(name), *extra)
    yield made
    for server in made.values():
        server.close()


def register(desk, server, code=None, **details) -> str:
    code = code or random_ref("d-")
    body = {"name": code, "account_manager_email": f"am@{code}.example",
            "ordering": server.ordering() if server else {"channel": "email"}, **details}  # fmt: skip
    desk.fulfilment.register_distributor(code, body)
    return code


def product(desk, distributors: list, weight="0.350", name="Mug") -> str:
    sku = random_ref(f"{name.upper()}-")
    desk.orders.register_product(sku, {
        "name": name, "unit_price": "9.50", "currency": "EUR", "vat_rate": "20",
        "made_in_house": False, "distributors": distributors,
        "default_distributor": distributors[0], "weight": weight,
    })  # fmt: skip
    return sku


def stocked(server, items: dict) -> None:
    """The server's stock (live and feed) gains these items."""
    path = server.directory / "stock.json"
    current = json.loads(path.read_text()) if path.exists() else {}
    server.stock({**current, **items})


def by_distributor(line: dict) -> dict:
    return {o["distributor"]: o for o in line["offers"] + line["unknown"]}


def test_live_answers_within_the_deadline_and_feeds_for_the_rest(desk, servers):
    fast, slow, failing = servers["fast"], servers["slow"], servers["failing"]
    feedonly, bare = servers["feedonly"], servers["bare"]
    codes = {
        "fast": register(desk, fast, live=fast.live()),
        "slow": register(desk, slow, live=slow.live(), feed=slow.feed()),
        "failing": register(desk, failing, live=failing.live(), feed=failing.feed("csv")),
        "feedonly": register(desk, feedonly, feed=feedonly.feed()),
        "bare": register(desk, bare),
    }
    sku = product(desk, list(codes.values()))
    for name, server in servers.items():
        stocked(server, {sku: {"stock": 10 + len(name), "cost_price": f"{len(name)}.25"}})
    for name in ("slow", "failing", "feedonly"):
        assert desk.fulfilment.import_feed(codes[name])["items"] >= 1
    checked = desk.fulfilment.check_availability([{"sku": sku, "quantity": 15}], 800)
    offers = by_distributor(checked["lines"][0])
    assert offers[codes["fast"]]["source"] == "live" and offers[codes["fast"]]["stock"] == 14
    assert offers[codes["fast"]]["cost_price"] == "4.25"
    late = offers[codes["slow"]]
    assert late["source"] == "feed" and late["why"] == "live answer late"  # 3 s: past 800 ms
    assert late["age_seconds"] >= 0 and late["as_of"]
    broken = offers[codes["failing"]]
    assert broken["source"] == "feed" and broken["why"].startswith("live API failed: HTTP 500")
    assert offers[codes["feedonly"]]["source"] == "feed"
    assert offers[codes["feedonly"]]["why"] == "no live API"
    assert "stock" not in offers[codes["bare"]]
    assert offers[codes["bare"]]["why"] == "no live API; no feed"
    assert checked["lines"][0]["available"] is True
    assert not offers[codes["fast"]]["enough"] and offers[codes["failing"]]["enough"]  # 14, 17
    # asked again at once, the live answer is the one kept: no second request
    asked = len(fast.stock_requests())
    desk.fulfilment.check_availability([{"sku": sku, "quantity": 1}], 800)
    assert len(fast.stock_requests()) == asked


def test_a_failed_feed_import_keeps_the_last_snapshot_and_says_so(stored_desk, tmp_path):
    desk = stored_desk
    feed = tmp_path / "feed.csv"
    feed.write_text("sku,stock,cost_price,colour\nPEN-9,40,0.35,blue\n")
    code = register(desk, None, feed={"format": "csv", "source": str(feed)})
    sku = "PEN-9"
    imported = desk.fulfilment.import_feed(code)
    assert imported["items"] == 1 and imported["error"] is None
    feed.write_text("sku,stock,cost_price\nPEN-9,lots,0.35\n")
    failed = desk.fulfilment.import_feed(code)
    assert failed["error"] == "row 2 (PEN-9): stock must be a whole number, not 'lots'"
    assert failed["items"] == 1 and failed["imported_at"] == imported["imported_at"]
    checked = desk.fulfilment.check_availability([{"sku": sku, "quantity": 1}])
    offer = by_distributor(checked["lines"][0])[code]
    assert offer["stock"] == 40 and offer["source"] == "feed"
    assert "stock must be a whole number" in offer["feed_problem"]
    feed.write_text("sku,stock,cost_price\nPEN-9,38,0.35\n")
    assert desk.fulfilment.import_feed(code)["error"] is None  # read again: the problem clears
    offer = by_distributor(desk.fulfilment.check_availability([{"sku": sku}])["lines"][0])[code]
    assert offer["stock"] == 38 and "feed_problem" not in offer
    assert code in {f["distributor"] for f in desk.fulfilment.feeds()}


def test_feeds_are_imported_on_their_interval_by_the_scheduler(desk, tmp_path):
    feed = tmp_path / "feed.json"
    feed.write_text(json.dumps({"items": [{"sku": "CUP-1", "stock": 3, "cost_price": 1.5}]}))
    code = register(desk, None, feed={"format": "json", "source": f"file://{feed}",
                                      "interval_seconds": 3600})  # fmt: skip
    app = desk.apps["fulfilment"]
    assert code in app.feeds_due(time.time())  # never read yet
    scheduler = FeedScheduler(app, desk.settings)
    try:
        assert scheduler.import_due() >= 1
    finally:
        scheduler._leader.release()
    (shown,) = [f for f in desk.fulfilment.feeds() if f["distributor"] == code]
    assert shown["items"] == 1 and shown["source"] == f"file://{feed}"
    assert code not in app.feeds_due(time.time())  # read now: due again in an hour
    assert code in app.feeds_due(time.time() + 3600)


def test_bad_availability_questions_are_refused_by_field(desk):
    for lines, field in (([], "lines"), ([{"sku": "A", "quantity": 0}], "lines.0.quantity"),
                         ([{"sku": "A"}, {"sku": "A"}], "lines"), ("A", "lines")):  # fmt: skip
        with pytest.raises(ValidationFailed) as refused:
            desk.fulfilment.check_availability(lines)
        assert field in refused.value.details, refused.value.details
    with pytest.raises(ValidationFailed) as refused:
        desk.fulfilment.check_availability([{"sku": "A"}], 5)
    assert "deadline_ms" in refused.value.details
    with pytest.raises(ValidationFailed) as refused:
        desk.fulfilment.best_source([{"sku": "A"}], {"country": "United Kingdom"})
    assert "destination.country" in refused.value.details
    with pytest.raises(NotFound):
        desk.fulfilment.import_feed(random_ref("nobody-"))


# -- the best source: worked examples --------------------------------------------------------------
def supplier(desk, tmp_path, code: str, items: dict, delivery: dict, **more) -> str:
    """A distributor known by its feed file only: `items` {sku: (stock, cost price)}."""
    path = tmp_path / f"{code}.json"
    path.write_text(json.dumps([{"sku": s, "stock": n, "cost_price": c}
                                for s, (n, c) in items.items()]))  # fmt: skip
    register(desk, None, code=code, feed={"format": "json", "source": str(path)},
             delivery=delivery, **more)  # fmt: skip
    desk.fulfilment.import_feed(code)
    return code


BANDS = {"bands": [{"up_to_kg": "2", "charge": "4.00"}, {"up_to_kg": "5", "charge": "15.00"}]}


def test_splitting_across_distributors_when_it_is_cheaper(stored_desk, tmp_path):
    """A is cheap on mugs and its 2-5 kg band costs 15.00; B is cheap on bags and charges a flat
    5.00. 5 mugs (1.75 kg) + 10 bags (3 kg): all from A 60.00, all from B 45.00, mugs from A
    (under 2 kg: 4.00) and bags from B: 39.00."""
    desk = stored_desk
    a, b = random_ref("a-"), random_ref("b-")
    mug, bag = product(desk, [a, b], "0.35", "Mug"), product(desk, [a, b], "0.30", "Bag")
    supplier(desk, tmp_path, a, {mug: (50, "3.00"), bag: (50, "3.00")}, BANDS)
    supplier(desk, tmp_path, b, {mug: (50, "5.00"), bag: (50, "1.50")}, {"flat": "5.00"})
    planned = desk.fulfilment.best_source(
        [{"sku": mug, "quantity": 5}, {"sku": bag, "quantity": 10}], GB
    )
    assert planned["feasible"] and planned["total"] == "39.00"
    assert (planned["goods"], planned["delivery"]) == ("30.00", "9.00")
    assert [
        (s["distributor"], [x["sku"] for x in s["lines"]], s["weight_kg"], s["delivery_charge"])
        for s in planned["shipments"]
    ] == [(a, [mug], "1.75", "4.00"), (b, [bag], "3", "5.00")]
    assert [(x["distributors"], x["total"]) for x in planned["alternatives"]] == [
        ([b], "45.00"), ([a], "60.00")]  # fmt: skip
    assert f"{a}: goods 15.00 + delivery 4.00 for 1.75 kg = 19.00" in planned["reasoning"]
    assert (f"from one distributor it would cost at least 45.00 ({b}): splitting saves 6.00"
            in planned["reasoning"])  # fmt: skip


def test_one_distributor_when_a_split_costs_more(desk, tmp_path):
    """3 mugs (1.05 kg) + 10 bags (3 kg) = 4.05 kg: all from A 12.00 + 30.00 + 15.00 = 57.00 is
    dearer than all from B 15.00 + 15.00 + 5.00 = 35.00; a split (mugs A 9.00 + 4.00, bags B 15.00
    + 5.00 = 33.00) is cheaper still — but make B's bags dearer (2.50) and B alone wins."""
    a, b = random_ref("a-"), random_ref("b-")
    mug, bag = product(desk, [a, b], "0.35", "Mug"), product(desk, [a, b], "0.30", "Bag")
    supplier(desk, tmp_path, a, {mug: (50, "4.00"), bag: (50, "3.00")}, BANDS)
    supplier(desk, tmp_path, b, {mug: (50, "4.10"), bag: (50, "1.50")}, {"flat": "12.00"})
    planned = desk.fulfilment.best_source(
        [{"sku": mug, "quantity": 3}, {"sku": bag, "quantity": 10}], GB
    )
    # all B: 12.30 + 15.00 + 12.00 = 39.30; split: mugs A 12.00 + 4.00, bags B 15.00 + 12.00
    # = 43.00; all A: 12.00 + 30.00 + 15.00 = 57.00
    assert planned["total"] == "39.30" and [s["distributor"] for s in planned["shipments"]] == [b]
    assert f"the next cheapest, {a} + {b}, costs 43.00" in planned["reasoning"]


def test_stock_splits_a_line_and_weight_limits_and_destinations_exclude(desk, tmp_path):
    a, b, c = random_ref("a-"), random_ref("b-"), random_ref("c-")
    mug = product(desk, [a, b, c], "0.35", "Mug")
    supplier(
        desk, tmp_path, a, {mug: (8, "3.00")}, {"bands": [{"up_to_kg": "5", "charge": "4.00"}]}
    )
    supplier(desk, tmp_path, b, {mug: (10, "3.50")}, {"flat": "5.00"})
    supplier(desk, tmp_path, c, {mug: (99, "1.00")}, {"flat": "1.00"}, delivers_to=["PL"])
    planned = desk.fulfilment.best_source([{"sku": mug, "quantity": 12}], GB)
    # A has 8 (24.00 + 4.00 for 2.8 kg); the other 4 from B (14.00 + 5.00); C does not deliver
    assert planned["total"] == "47.00"
    assert [(s["distributor"], s["lines"][0]["quantity"]) for s in planned["shipments"]] == [
        (a, 8), (b, 4)]  # fmt: skip
    assert f"{mug} comes from {a} and {b}: no one of them has enough stock" in planned["reasoning"]
    assert f"{c} does not deliver to GB" in planned["reasoning"]
    # 19 mugs: A and B have 18 between them; C does not deliver to GB
    short = desk.fulfilment.best_source([{"sku": mug, "quantity": 19}], GB)
    assert short["feasible"] is False
    assert short["short"] == [{"sku": mug, "wanted": 19, "in_stock": 18}]
    # to Poland, C delivers: 19 x 1.00 + 1.00
    assert desk.fulfilment.best_source([{"sku": mug, "quantity": 19}], {"country": "PL"})[
        "total"] == "20.00"  # fmt: skip


def test_a_distributor_takes_no_more_than_its_heaviest_band(desk, tmp_path):
    """D is cheapest (1.00) but delivers at most 2 kg (4.00); B charges 5.00 flat at 3.50.
    10 mugs weigh 3.5 kg: D takes 5 (1.75 kg, 9.00) and B the other 5 (22.50): 31.50 — better
    than all from B (40.00); all from D cannot be delivered."""
    d, b = random_ref("d-"), random_ref("b-")
    mug = product(desk, [d, b], "0.35", "Mug")
    supplier(desk, tmp_path, d, {mug: (100, "1.00")}, {"bands": [{"up_to_kg": "2", "charge": "4"}]})
    supplier(desk, tmp_path, b, {mug: (100, "3.50")}, {"flat": "5.00"})
    planned = desk.fulfilment.best_source([{"sku": mug, "quantity": 10}], GB)
    assert planned["total"] == "31.50"
    assert [(s["distributor"], s["lines"][0]["quantity"], s["weight_kg"]) for s in
            planned["shipments"]] == [(b, 5, "1.75"), (d, 5, "1.75")]  # fmt: skip
    assert [(x["distributors"], x["total"]) for x in planned["alternatives"]] == [([b], "40.00")]


def test_the_best_source_is_applied_to_an_order_before_it_ships(desk, tmp_path):
    a, b = random_ref("a-"), random_ref("b-")
    mug = product(desk, [b, a], "0.35", "Mug")  # B is the catalogue's default
    supplier(desk, tmp_path, a, {mug: (50, "3.00")}, {"flat": "4.00"})
    supplier(desk, tmp_path, b, {mug: (50, "3.50")}, {"flat": "4.00"})
    lines = [{"sku": mug, "quantity": 3}]
    payload = dict(order_payload(), lines=lines)
    payload["shippings"] = [{"planned_date": "2026-12-20", "address": ADDRESS, "lines": lines}]
    order = desk.orders.place_order(payload)
    assert order["lines"][0]["distributor"] == b
    applied = desk.fulfilment.apply_best_source(order["id"])
    assert applied["changed"] == {mug: a} and applied["plan"]["total"] == "13.00"
    assert applied["order"]["lines"][0]["distributor"] == a
    again = desk.fulfilment.apply_best_source(order["id"])
    assert again["changed"] == {}  # already the best
    history = desk.orders.get_order(order["id"])["history"]
    assert history[-1]["reason"] == "best source: 13.00 EUR"
    desk.orders.accept_order(order["id"])
    desk.orders.ship_shipping(order["id"], order["shippings"][0]["id"])
    (po,) = desk.fulfilment.purchase_orders_for_order(order["id"])
    assert po["distributor"] == a and po["lines"][0]["cost_price"] is None  # no catalogue price
    with pytest.raises(InvalidTransition) as refused:
        desk.fulfilment.apply_best_source(order["id"])
    assert refused.value.details["rule"] == "nothing_to_source"


def test_an_order_needing_a_split_line_is_not_applied(desk, tmp_path):
    a, b = random_ref("a-"), random_ref("b-")
    mug = product(desk, [a, b], "0.35", "Mug")
    supplier(desk, tmp_path, a, {mug: (2, "3.00")}, {"flat": "4.00"})
    supplier(desk, tmp_path, b, {mug: (2, "3.50")}, {"flat": "4.00"})
    lines = [{"sku": mug, "quantity": 3}]
    payload = dict(order_payload(), lines=lines)
    payload["shippings"] = [{"planned_date": "2026-12-20", "address": ADDRESS, "lines": lines}]
    order = desk.orders.place_order(payload)
    with pytest.raises(InvalidTransition) as refused:
        desk.fulfilment.apply_best_source(order["id"])
    assert refused.value.details["rule"] == "source_needs_split"
    with pytest.raises(ValidationFailed) as refused:  # a distributor the product does not list
        desk.orders.choose_distributors(order["id"], {mug: "nobody"})
    assert refused.value.details["rule"] == "distributor_not_listed"
