"""The orders application in process, on a SQLite file: use cases and replays without a broker."""

import json
import threading
from dataclasses import replace

import pytest

from oms.serve import service_class
from services.orders.application import OrdersApplication
from services.orders.schemas import OrderIn
from shared import context
from shared.validation import load
from tests.inprocess import InProcess
from tests.support import order_payload


@pytest.fixture
def app(tmp_path):
    application = OrdersApplication(f"sqlite:///{tmp_path}/orders.sqlite3")
    yield application
    application.close()


def test_an_order_stored_before_payment_statuses_could_be_null_still_reads_unpaid(app):
    """Version 2 `Placed` events started "unpaid" and stored no change when the invoice came."""
    order = app.place_order(load(OrderIn, order_payload()), "tests")
    assert order.payment_status is None
    (stored,) = app.recorder.select_events(order.id)
    state = json.loads(stored.state)
    state.pop("payment_status")
    state["class_version"] = 2
    old = replace(stored, state=json.dumps(state).encode())
    assert app.mapper.to_domain_event(old).mutate(None).payment_status == "unpaid"


def test_a_twin_that_reads_after_the_other_committed_still_takes_effect_once(store):
    """The interleaving a concurrent redelivery once lost on PostgreSQL in CI: twin B starts, twin
    A reads, decides and commits, then B reads (A's move already in the state) and moves again.
    The request's claim, stored with the first twin's events, makes B's save fail; B replays."""
    app = OrdersApplication(store["orders"])
    orders = service_class("orders")()
    orders.app = app
    try:
        with context.bound(actor="tests", role="admin"):
            order = orders.place_order(order_payload())
            orders.accept_order(order["id"])
            first = order["shippings"][0]
            shipping = {
                "planned_date": "2026-12-20",
                "address": first["address"],
                "lines": [{"sku": "MUG-1", "quantity": 1, "from_shipping": first["id"]}],
            }
            added = orders.add_shipping(order["id"], shipping)
        second = next(s["id"] for s in added["shippings"] if s["id"] != first["id"])
        move = {
            "from_shipping": first["id"],
            "to_shipping": second,
            "sku": "CARD-9",
            "quantity": 10,
        }

        def twin(request="r-1", move=move):
            with context.bound(
                actor="tests", role="admin", request_id=request, causation_id=f"rpc:{request}"
            ):
                return orders.move_quantity(order["id"], move)

        answers, real_transaction = [], app.transaction

        def transaction():  # B's read-decide-save waits for A to run to its commit
            if not answers:
                answers.append(None)
                other = threading.Thread(target=lambda: answers.append(twin()))
                other.start()
                other.join(30)
            return real_transaction()

        app.transaction = transaction
        answers.append(twin())
        app.transaction = real_transaction
        # a later twin the command would refuse (the rest of the cards already moved) is a replay
        rest = dict(move, quantity=90)
        last = [twin("r-2", rest), twin("r-2", rest)]
    finally:
        app.close()
    for shown, cards in [(answers[1], 10), (answers[2], 10), (last[0], 100), (last[1], 100)]:
        moved = next(s for s in shown["shippings"] if s["id"] == second)
        assert moved["lines"] == [
            {"sku": "MUG-1", "quantity": 1},
            {"sku": "CARD-9", "quantity": cards},
        ]


def test_a_command_answers_with_the_history_it_read_and_saved_as_a_fresh_read_shows_it(tmp_path):
    """Commands answer with the order's history without reading its events again: the events the
    command read, and those it saved, are the ones the store then holds."""
    desk = InProcess(tmp_path, services=("orders",))
    try:
        orders = desk.orders
        placed = orders.place_order(order_payload())
        answers = [
            placed,
            orders.accept_order(placed["id"]),
            orders.add_note(placed["id"], {"kind": "client", "text": "gift wrap"}),
            orders.hold_order(placed["id"], "stock check"),
        ]
        stored = orders.get_order(placed["id"])["history"]
        assert [len(a["history"]) for a in answers] == [1, 2, 3, 4] and len(stored) == 4
        for answer in answers:
            assert answer["history"] == stored[: len(answer["history"])]
    finally:
        desk.close()
