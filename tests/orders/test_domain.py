"""The Order aggregate's rules, without any infrastructure."""

from decimal import Decimal
from uuid import uuid4

import pytest

from services.orders.domain import Order, TransitionRefused, UnknownShipping, UnknownSku

ADDRESS = {"line1": "1 Main St", "city": "Leeds", "postcode": "LS1 1AA", "country": "GB"}


def line(sku, quantity, price, house=False):
    return {
        "sku": sku,
        "name": sku.title(),
        "quantity": quantity,
        "unit_price": Decimal(price),
        "currency": "EUR",
        "vat_rate": Decimal("20"),
        "distributor": None if house else "acme",
        "made_in_house": house,
    }


def new_order() -> Order:
    """4 mugs (2 per shipping) and 100 made-in-house cards (in the first shipping)."""
    return Order(
        id=uuid4(),
        reference="2026-000001",
        title="Mugs",
        client={"code": None, "name": "Ada", "email": "ada@example.com", "phone": "1"},
        channel="phone",
        lines=[line("MUG-1", 4, "9.50"), line("CARD-9", 100, "0.35", house=True)],
        shippings=[
            {
                "id": "s0",
                "planned_date": "2026-12-01",
                "address": ADDRESS,
                "lines": [{"sku": "MUG-1", "quantity": 2}, {"sku": "CARD-9", "quantity": 100}],
            },
            {
                "id": "s1",
                "planned_date": "2026-12-08",
                "address": ADDRESS,
                "lines": [{"sku": "MUG-1", "quantity": 2}],
            },
        ],
        payment_method="card",
        note=None,
        actor="maria",
    )


def refused(order, command) -> str:
    version, status = order.version, order.status
    with pytest.raises(TransitionRefused) as refusal:
        command(order)
    assert (order.version, order.status) == (version, status)
    return refusal.value.rule


def test_a_placed_order_is_new_with_its_total():
    order = new_order()
    assert order.status == "new" and order.payment_status is None  # no invoice yet
    assert order.total == Decimal("73.00") and order.currency == "EUR"


def test_production_moves_an_accepted_order_to_in_production_then_ready():
    order = new_order()
    order.accept("maria")
    assert order.production_started("CARD-9", "production:1")
    assert order.status == "in_production"
    assert not order.production_started("CARD-9", "production:1")  # a replay records nothing
    assert order.production_finished("CARD-9", "production:2")
    assert order.status == "ready"


def test_shipping_and_delivering_line_by_line_reaches_delivered():
    order = new_order()
    order.accept("maria")
    order.ship("s0", "maria")
    assert order.status == "partially_shipped"
    assert refused(order, lambda o: o.mark_delivered([{"sku": "MUG-1", "quantity": 3}], "c")) == (
        "delivered_exceeds_shipped"
    )
    order.ship("s1", "maria")
    order.mark_delivered([{"sku": "MUG-1", "quantity": 4}], "courier")
    assert order.status == "shipped"
    order.mark_delivered([{"sku": "CARD-9", "quantity": 100}], "courier")
    assert order.status == "delivered"


def test_complete_marks_everything_delivered_and_closes_an_unpaid_order():
    order = new_order()
    order.accept("maria")
    order.complete(None, "maria")
    assert order.status == "completed" and order.payment_status is None
    assert all(x["delivered"] == x["quantity"] for x in order.lines)
    assert refused(order, lambda o: o.put_on_hold("late", "maria")) == "order_closed"


def test_a_hold_stops_progress_and_release_returns_to_the_derived_status():
    order = new_order()
    order.accept("maria")
    order.production_started("CARD-9", "production:1")
    order.put_on_hold("address check", "maria")
    assert order.status == "on_hold"
    assert refused(order, lambda o: o.ship("s1", "maria")) == "order_on_hold"
    order.production_finished("CARD-9", "production:2")  # facts still arrive while held
    order.release("address ok", "maria")
    assert order.status == "ready"


def test_an_edit_changes_quantities_adds_lines_and_states_its_money_effect():
    order = new_order()
    extra = line("PEN-3", 10, "1.20")
    order.edit(
        {"s1": [{"sku": "MUG-1", "quantity": 5}, {"sku": "PEN-3", "quantity": 10}]},
        [extra],
        "client asked",
        "maria",
    )
    assert {x["sku"]: x["quantity"] for x in order.lines} == {
        "MUG-1": 7,
        "CARD-9": 100,
        "PEN-3": 10,
    }
    edited = order.collect_events()[-1]
    assert (edited.total_before, edited.total_after) == (Decimal("73.00"), Decimal("113.50"))
    assert {"sku": "PEN-3", "before": 0, "after": 10} in edited.changes


def test_an_edit_can_remove_a_line_but_not_touch_a_shipped_shipping():
    order = new_order()
    order.edit({"s0": [{"sku": "MUG-1", "quantity": 2}]}, [], None, "maria")
    assert [x["sku"] for x in order.lines] == ["MUG-1"]
    order.accept("maria")
    order.ship("s0", "maria")
    edit = lambda o: o.edit({"s0": [{"sku": "MUG-1", "quantity": 1}]}, [], None, "m")  # noqa: E731
    assert refused(order, edit) == "shipping_already_shipped"


def test_an_edit_naming_an_unknown_sku_is_refused():
    order = new_order()
    with pytest.raises(UnknownSku):
        order.edit({"s1": [{"sku": "NOPE", "quantity": 1}]}, [], None, "maria")


def test_moving_everything_out_of_a_shipping_removes_it():
    order = new_order()
    order.move_quantity("s1", "s0", "MUG-1", 2, "maria")
    assert [s["id"] for s in order.shippings] == ["s0"]
    assert order.shipping("s0")["lines"][0] == {"sku": "MUG-1", "quantity": 4}
    assert refused(order, lambda o: o.move_quantity("s0", "s0", "MUG-1", 1, "m")) == (
        "move_to_same_shipping"
    )


def test_a_new_shipping_takes_its_quantities_from_pending_ones():
    order = new_order()
    order.add_shipping(
        {
            "id": "s2",
            "planned_date": "2026-12-20",
            "address": ADDRESS,
            "lines": [{"sku": "CARD-9", "quantity": 40, "from_shipping": "s0"}],
        },
        "maria",
    )
    assert order.shipping("s2")["lines"] == [{"sku": "CARD-9", "quantity": 40}]
    assert order.shipping("s0")["lines"] == [
        {"sku": "MUG-1", "quantity": 2},
        {"sku": "CARD-9", "quantity": 60},
    ]
    assert order.line("CARD-9")["quantity"] == 100
    too_many = {"id": "s3", "planned_date": "2026-12-21", "address": ADDRESS}
    too_many["lines"] = [{"sku": "MUG-1", "quantity": 3, "from_shipping": "s1"}]
    assert refused(order, lambda o: o.add_shipping(too_many, "m")) == "move_exceeds_shipping"


def test_claims_need_delivered_quantities_and_resolve_once():
    order = new_order()
    order.accept("maria")
    order.complete(None, "maria")
    claim = lambda o: o.open_claim("c2", "bad", [{"sku": "CARD-9", "quantity": 81}], "m")  # noqa: E731
    order.open_claim("c1", "smudged", [{"sku": "CARD-9", "quantity": 20}], "maria")
    assert refused(order, claim) == "claim_exceeds_delivered"
    order.resolve_claim("c1", "rejected", "looks fine", "maria")
    order.open_claim("c2", "bad", [{"sku": "CARD-9", "quantity": 81}], "maria")  # rejected frees
    assert refused(order, lambda o: o.resolve_claim("c1", "reprinted", "x", "m")) == (
        "claim_already_resolved"
    )


def test_an_unknown_shipping_is_named():
    order = new_order()
    order.accept("maria")
    with pytest.raises(UnknownShipping) as missing:
        order.ship("nope", "maria")
    assert missing.value.shipping_id == "nope"


def test_events_stored_before_version_2_are_upcast_on_read():
    state = {
        "originator_id": uuid4(),
        "originator_version": 1,
        "timestamp": None,
        "originator_topic": "services.orders.domain:Order",
        "reference": "2026-000001",
        "client": {"name": "Ada", "email": "ada@example.com", "phone": "1"},
        "channel": "storefront",
        "lines": [{k: v for k, v in line("MUG-1", 1, "9.50").items() if k != "vat_rate"}],
        "shippings": [],
        "payment_method": None,
        "note": None,
    }
    Order.Placed.upcast_v1_v2(state)
    assert state["title"] == "Mug-1" and state["actor"] is None
    assert state["lines"][0]["vat_rate"] is None
