"""Fulfilment in process, fed by the orders service: a shipped shipping raises one purchase order
per distributor of its bought-in lines."""

import pytest

from tests.inprocess import InProcess
from tests.support import order_payload

ADDRESS = {"line1": "1 Main St", "city": "Leeds", "postcode": "LS1 1AA", "country": "GB"}


@pytest.fixture
def desk(tmp_path):
    services = InProcess(tmp_path, services=("orders", "fulfilment"))
    yield services
    services.close()


def two_distributors() -> dict:
    payload = order_payload()
    mug, card = payload["lines"]
    pen = dict(mug, sku="PEN-3", name="Pen", quantity=5, distributor="bic")
    payload["lines"] = [mug, card, pen]
    payload["shippings"] = [
        {
            "planned_date": "2026-12-01",
            "address": ADDRESS,
            "lines": [{"sku": "MUG-1", "quantity": 3}, {"sku": "PEN-3", "quantity": 5},
                      {"sku": "CARD-9", "quantity": 100}],
        }
    ]  # fmt: skip
    return payload


def test_a_shipped_shipping_raises_one_purchase_order_per_distributor(desk):
    order = desk.orders.place_order(two_distributors())
    desk.orders.accept_order(order["id"])
    assert desk.fulfilment.purchase_orders_for_order(order["id"]) == []  # nothing shipped yet
    desk.orders.ship_shipping(order["id"], order["shippings"][0]["id"])
    raised = desk.fulfilment.purchase_orders_for_order(order["id"])
    assert sorted((p["distributor"], [li["sku"] for li in p["lines"]]) for p in raised) == [
        ("acme", ["MUG-1"]),
        ("bic", ["PEN-3"]),
    ]  # the made-in-house card is bought from nobody
    assert all(p["status"] == "raised" and p["shipping_id"] == order["shippings"][0]["id"]
               for p in raised)  # fmt: skip


def test_a_replayed_shipment_raises_nothing_new(desk):
    order = desk.orders.place_order(two_distributors())
    desk.orders.accept_order(order["id"])
    desk.orders.ship_shipping(order["id"], order["shippings"][0]["id"])
    shipped = next(
        e
        for e in desk.apps["orders"].events_after(0, 100)
        if e["type"] == "orders.shipping_shipped"
    )
    assert desk.apps["fulfilment"].react(shipped) == []
