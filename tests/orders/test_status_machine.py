"""Every cell of the status table in docs/order-status.md: all of them against the orders service
in process (its real RPC methods and application, production's events pumped in), and a few
of each kind through the running system's RPC.

The table is read from the document itself, so the documentation and the behaviour cannot drift.
"""

import re

import pytest

from shared.errors import InvalidTransition
from tests.conftest import fresh_sqlite, fresh_vhost
from tests.inprocess import InProcess
from tests.support import ROOT, System, eventually, order_payload

ADDRESS = {"line1": "1 Main St", "city": "Leeds", "postcode": "LS1 1AA", "country": "GB"}


def read_table() -> dict:
    text = (ROOT / "docs" / "order-status.md").read_text()
    rows = [r for r in text.splitlines() if r.startswith("| ")]
    header = rows.pop(0)  # | status \ command | accept | …
    commands = [c.strip() for c in header.strip("|").split("|")][1:]
    table = {}
    for row in rows:
        status, *cells = [c.strip() for c in row.strip("|").split("|")]
        if len(cells) == len(commands):
            table[status] = dict(zip(commands, cells, strict=True))
    return table


TABLE = read_table()
CASES = [(status, command) for status, row in TABLE.items() for command in row]


def bought_lines():
    line = order_payload()["lines"][0]  # MUG-1 from acme, 9.50
    return [dict(line, quantity=2), dict(line, sku="PEN-3", name="Pen", quantity=1)]


def new_order(rpc, made_in_house: bool) -> dict:
    lines = bought_lines()
    if made_in_house:
        lines[1] = dict(order_payload()["lines"][1], quantity=10)  # CARD-9, made in house
    first = [
        {"sku": "MUG-1", "quantity": 1},
        {"sku": lines[1]["sku"], "quantity": lines[1]["quantity"]},
    ]
    shippings = [
        {"planned_date": "2026-12-01", "address": ADDRESS, "lines": first},
        {
            "planned_date": "2026-12-08",
            "address": ADDRESS,
            "lines": [{"sku": "MUG-1", "quantity": 1}],
        },
    ]
    return rpc.orders.place_order(order_payload(lines=lines, shippings=shippings))


def settle(rpc, order, status):
    return eventually(lambda: _status_is(rpc, order["id"], status), timeout=30)


def _status_is(rpc, order_id, status):
    order = rpc.orders.get_order(order_id)
    return order if order["status"] == status else None


def order_in(rpc, status: str) -> dict:
    """An order brought to `status` through the public RPC (and production's events)."""
    house = status in ("in_production", "ready")
    order = new_order(rpc, made_in_house=house)
    oid = order["id"]
    if status == "new":
        return order
    if status == "on_hold (before acceptance)":
        return rpc.orders.hold_order(oid, "check the address")
    if status == "declined":
        return rpc.orders.decline_order(oid, "out of stock")
    order = rpc.orders.accept_order(oid)
    if house:
        order = settle(rpc, order, "in_production")
        if status == "ready":
            for production_order in rpc.production.production_orders_for_order(oid):
                rpc.production.release_production_order(production_order["id"])
                rpc.production.start_production_order(production_order["id"])
                rpc.production.finish_production_order(production_order["id"])
            order = settle(rpc, order, "ready")
        return order
    steps = {
        "accepted": [],
        "on_hold (after acceptance)": [lambda: rpc.orders.hold_order(oid, "payment check")],
        "voided": [lambda: rpc.orders.void_order(oid, "client cancelled")],
        "completed": [lambda: rpc.orders.complete_order(oid)],
        "partially_shipped": [lambda: rpc.orders.ship_shipping(oid, order["shippings"][0]["id"])],
        "shipped": [lambda s=s: rpc.orders.ship_shipping(oid, s["id"]) for s in order["shippings"]],
        "delivered": [
            lambda s=s: rpc.orders.ship_shipping(oid, s["id"]) for s in order["shippings"]
        ]
        + [
            lambda: rpc.orders.mark_delivered(
                oid, [{"sku": "MUG-1", "quantity": 2}, {"sku": "PEN-3", "quantity": 1}]
            )
        ],
    }[status]
    for step in steps:
        order = step()
    return order


def run(rpc, command: str, order: dict) -> dict:
    oid = order["id"]
    pending = [s for s in order["shippings"] if s["status"] == "pending"]
    target = (pending or order["shippings"])[-1]
    calls = {
        "accept": lambda: rpc.orders.accept_order(oid),
        "decline": lambda: rpc.orders.decline_order(oid, "no stock"),
        "void": lambda: rpc.orders.void_order(oid, "client cancelled"),
        "hold": lambda: rpc.orders.hold_order(oid, "address check"),
        "release": lambda: rpc.orders.release_order(oid, "address fine"),
        "ship": lambda: rpc.orders.ship_shipping(oid, (pending or order["shippings"])[0]["id"]),
        "mark_delivered": lambda: rpc.orders.mark_delivered(oid, [{"sku": "MUG-1", "quantity": 1}]),
        "complete": lambda: rpc.orders.complete_order(oid),
        "edit": lambda: rpc.orders.edit_order(
            oid,
            {"shippings": [{"id": target["id"], "lines": [{"sku": "MUG-1", "quantity": 2}]}]},
        ),
    }
    return calls[command]()


@pytest.fixture(scope="module")
def desk(tmp_path_factory):
    """Orders and production (production drives in_production and ready), in process."""
    services = InProcess(
        tmp_path_factory.mktemp("db"), services=("orders", "production"), actor="desk-tests"
    )
    yield services
    services.close()


@pytest.fixture(scope="module")
def rpc(rabbit, tmp_path_factory):
    """The same two services running, on SQLite, called over RPC."""
    with fresh_vhost(rabbit) as uri:
        urls = fresh_sqlite(tmp_path_factory.mktemp("db"))
        with System(uri, urls, services=("orders", "production")) as system:
            with system.rpc(timeout=30, actor="desk-tests") as proxy:
                yield proxy


def test_the_table_covers_every_status_and_command():
    statuses = {s.split(" (")[0] for s in TABLE}
    assert statuses == {
        "new", "accepted", "in_production", "ready", "partially_shipped", "shipped",
        "delivered", "on_hold", "completed", "declined", "voided",
    }  # fmt: skip
    assert len(CASES) == 12 * 9


@pytest.mark.parametrize("status,command", CASES, ids=[f"{s}-{c}" for s, c in CASES])
def test_each_command_in_each_status_does_what_the_table_says(desk, status, command):
    check_cell(desk, status, command)


OVER_RPC = [
    ("new", "accept"),  # a move
    ("accepted", "accept"),  # a no-op
    ("new", "void"),  # a refusal
    ("in_production", "ship"),  # a status production's events brought about
    ("ready", "complete"),
]


@pytest.mark.parametrize("status,command", OVER_RPC, ids=[f"{s}-{c}" for s, c in OVER_RPC])
def test_the_running_system_agrees_cell_by_cell(rpc, status, command):
    check_cell(rpc, status, command)


def check_cell(rpc, status: str, command: str) -> None:
    expected = TABLE[status][command]
    order = order_in(rpc, status)
    before = rpc.orders.get_order(order["id"])
    kind, outcome = expected.split(" ", 1)
    if kind == "✗":
        with pytest.raises(InvalidTransition) as refused:
            run(rpc, command, before)
        assert refused.value.details["rule"] == outcome
        assert rpc.orders.get_order(order["id"]) == before  # untouched
        return
    after = run(rpc, command, before)
    assert after["status"] == outcome.replace(" ", "_")
    if kind == "=":
        assert after["version"] == before["version"]
    else:
        assert after["version"] > before["version"]
        change = after["history"][-1]
        assert change["actor"] == "desk-tests" and change["at"]


def test_every_change_in_the_history_names_its_actor_time_and_reason(desk):
    rpc = desk
    order = order_in(rpc, "accepted")
    desk.actor = "maria"  # the caller's token names who acts (InProcess binds it directly)
    rpc.orders.hold_order(order["id"], "address check")
    desk.actor = "tom"
    try:
        shown = rpc.orders.release_order(order["id"], "address confirmed")
    finally:
        desk.actor = "desk-tests"
    history = [(h["event"], h["actor"], h["reason"]) for h in shown["history"]]
    assert history == [
        ("Placed", "desk-tests", None),
        ("Accepted", "desk-tests", None),
        ("Held", "maria", "address check"),
        ("Released", "tom", "address confirmed"),
    ]
    assert all(re.match(r"\d{4}-\d\d-\d\dT", h["at"]) for h in shown["history"])
