"""The Order aggregate's state machine, without any infrastructure."""

from decimal import Decimal
from uuid import uuid4

import pytest

from services.orders.domain import Order, TransitionRefused, UnknownShipping


def new_order(shippings=2) -> Order:
    lines = [
        {
            "sku": "MUG-1",
            "name": "Mug",
            "quantity": 4,
            "unit_price": Decimal("9.50"),
            "currency": "EUR",
            "distributor": "acme",
            "made_in_house": False,
        },
        {
            "sku": "CARD-9",
            "name": "Card",
            "quantity": 100,
            "unit_price": Decimal("0.35"),
            "currency": "EUR",
            "distributor": None,
            "made_in_house": True,
        },
    ]
    address = {"line1": "1 Main St", "city": "Leeds", "postcode": "LS1 1AA", "country": "GB"}
    ships = [
        {
            "id": f"s{i}",
            "planned_date": "2026-12-01",
            "address": address,
            "lines": [{"sku": "MUG-1", "quantity": 4 // shippings}],
        }
        for i in range(shippings)
    ]
    return Order(
        id=uuid4(),
        reference="2026-000001",
        client={"name": "Ada"},
        channel="storefront",
        lines=lines,
        shippings=ships,
        payment_method="card",
        note=None,
    )


def test_a_placed_order_is_new_with_its_total():
    order = new_order()
    assert order.status == "new"
    assert order.total == Decimal("73.00") and order.currency == "EUR"
    assert [s["status"] for s in order.shippings] == ["pending", "pending"]


def test_accepting_a_new_order_records_one_event():
    order = new_order()
    order.collect_events()
    order.accept()
    assert order.status == "accepted"
    assert [type(e).__name__ for e in order.collect_events()] == ["Accepted"]


def test_shipping_every_shipping_ships_the_order_one_step_at_a_time():
    order = new_order()
    order.accept()
    order.ship("s0")
    assert order.status == "partially_shipped"
    order.ship("s1")
    assert order.status == "shipped"


@pytest.mark.parametrize(
    "prepare,command,rule",
    [
        (lambda o: o.decline("no"), lambda o: o.accept(), "accept_requires_status_new"),
        (lambda o: o.accept(), lambda o: o.decline("late"), "decline_requires_status_new"),
        (
            lambda o: None,
            lambda o: o.ship("s0"),
            "ship_requires_status_accepted_or_partially_shipped",
        ),
        (lambda o: (o.accept(), o.ship("s0")), lambda o: o.ship("s0"), "shipping_already_shipped"),
    ],
)
def test_refused_transitions_name_their_rule_and_change_nothing(prepare, command, rule):
    order = new_order()
    prepare(order)
    version, status = order.version, order.status
    with pytest.raises(TransitionRefused) as refused:
        command(order)
    assert refused.value.rule == rule
    assert (order.version, order.status) == (version, status)


def test_an_unknown_shipping_is_named():
    order = new_order()
    order.accept()
    with pytest.raises(UnknownShipping) as missing:
        order.ship("nope")
    assert missing.value.shipping_id == "nope"
