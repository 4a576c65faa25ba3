"""Production in process, fed by the orders service: what an accepted order plans, and what
finishing does to the order."""

import pytest

from tests.inprocess import InProcess
from tests.support import order_payload


@pytest.fixture
def desk(tmp_path):
    services = InProcess(tmp_path, services=("orders", "production"))
    yield services
    services.close()


def test_an_accepted_order_plans_one_production_order_per_made_in_house_line(desk):
    order = desk.orders.place_order(order_payload())
    assert desk.production.production_orders_for_order(order["id"]) == []  # not yet accepted
    desk.orders.accept_order(order["id"])
    (planned,) = desk.production.production_orders_for_order(order["id"])
    assert (planned["sku"], planned["quantity"], planned["status"]) == ("CARD-9", 100, "planned")
    assert desk.orders.get_order(order["id"])["status"] == "in_production"


def test_an_order_without_made_in_house_lines_plans_nothing(desk):
    payload = order_payload()
    payload["lines"] = payload["lines"][:1]
    payload["shippings"][0]["lines"] = payload["shippings"][0]["lines"][:1]
    order = desk.orders.place_order(payload)
    desk.orders.accept_order(order["id"])
    assert desk.production.production_orders_for_order(order["id"]) == []
    assert desk.orders.get_order(order["id"])["status"] == "accepted"


def test_finishing_marks_the_line_ready_once_and_the_order_ready(desk):
    order = desk.orders.place_order(order_payload())
    desk.orders.accept_order(order["id"])
    (planned,) = desk.production.production_orders_for_order(order["id"])
    finished = desk.production.finish_production_order(planned["id"])
    assert finished["status"] == "finished"
    again = desk.production.finish_production_order(planned["id"])  # a retry changes nothing
    assert again == finished
    shown = desk.orders.get_order(order["id"])
    assert shown["status"] == "ready"
    assert [h["event"] for h in shown["history"]].count("LineReady") == 1


def test_a_replayed_acceptance_plans_nothing_new(desk):
    order = desk.orders.place_order(order_payload())
    desk.orders.accept_order(order["id"])
    production = desk.apps["production"]
    accepted = next(
        e for e in desk.apps["orders"].events_after(0, 100) if e["type"] == "orders.order_accepted"
    )
    assert production.react(accepted) == []  # its production order exists already
