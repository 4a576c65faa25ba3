"""A request message delivered twice (its reply lost, or its worker killed between commit and ack)
takes effect once. Each test publishes the very same message onto the RPC exchange twice with a
plain kombu producer, as the broker would redeliver it."""

import uuid

import pytest

from tests.support import RawCaller, eventually, order_payload, random_ref


@pytest.fixture
def raw(module_system):
    caller = RawCaller(module_system.amqp_uri)
    yield caller
    caller.close()


@pytest.mark.parametrize("at_once", [False, True], ids=["redelivered", "concurrently"])
def test_place_order_without_a_key_places_one_order(raw, rpc, at_once):
    payload = order_payload()
    first, second = raw.twice("orders", "place_order", at_once, order=payload)
    assert first["id"] == second["id"]
    found = rpc.orders.list_orders({"search": payload["client"]["name"]})["orders"]
    assert [o["id"] for o in found] == [first["id"]]


def shipped_order(rpc):
    order = rpc.orders.place_order(order_payload())
    rpc.orders.accept_order(order["id"])
    return order


@pytest.mark.parametrize("at_once", [False, True], ids=["redelivered", "concurrently"])
def test_additive_commands_without_a_key_take_effect_once(raw, rpc, at_once):
    order = shipped_order(rpc)
    order_id, first_shipping = order["id"], order["shippings"][0]["id"]
    note = {"kind": "internal", "text": f"call back {random_ref()}"}
    raw.twice("orders", "add_note", at_once, order_id=order_id, note=note)
    shipping = {
        "planned_date": "2026-12-20",
        "address": order["shippings"][0]["address"],
        "lines": [{"sku": "MUG-1", "quantity": 1, "from_shipping": first_shipping}],
    }
    added, _ = raw.twice("orders", "add_shipping", at_once, order_id=order_id, shipping=shipping)
    second_shipping = next(s["id"] for s in added["shippings"] if s["id"] != first_shipping)
    move = {"from_shipping": first_shipping, "to_shipping": second_shipping, "sku": "CARD-9"}
    raw.twice("orders", "move_quantity", at_once, order_id=order_id, move=dict(move, quantity=10))
    rpc.orders.ship_shipping(order_id, second_shipping)
    lines = [{"sku": "MUG-1", "quantity": 1}]
    raw.twice("orders", "mark_delivered", at_once, order_id=order_id, lines=lines)
    claim = {"reason": "chipped", "lines": [{"sku": "MUG-1", "quantity": 1}]}
    raw.twice("orders", "open_claim", at_once, order_id=order_id, claim=claim)

    shown = rpc.orders.get_order(order_id)
    assert [n["text"] for n in shown["notes"]] == [note["text"]]
    assert len(shown["shippings"]) == 2
    moved = next(s for s in shown["shippings"] if s["id"] == second_shipping)
    assert moved["lines"] == [{"sku": "MUG-1", "quantity": 1}, {"sku": "CARD-9", "quantity": 10}]
    assert {line["sku"]: line["delivered"] for line in shown["lines"]} == {"MUG-1": 1, "CARD-9": 0}
    assert len(shown["claims"]) == 1
    events = [h["event"] for h in shown["history"]]
    for once in ("NoteAdded", "ShippingAdded", "QuantityMoved", "LinesDelivered", "ClaimOpened"):
        assert events.count(once) == 1, events


def test_a_request_redelivered_after_a_later_change_does_not_undo_it(raw, rpc):
    """Cash, then card; then the cash request is delivered again: the channel stays card."""
    order = shipped_order(rpc)
    eventually(lambda: rpc.billing.invoices_for_order(order["id"]))
    kwargs = {"order_id": order["id"], "channel": "cash", "reason": "pays at pick-up"}
    correlation_id = uuid.uuid4().hex
    raw.publish("billing", "change_payment_channel", kwargs, correlation_id)
    raw.wait(1)
    rpc.billing.change_payment_channel(order["id"], "bank_transfer", "changed their mind")
    raw.publish("billing", "change_payment_channel", kwargs, correlation_id)
    (again,) = raw.wait(1)
    assert again["error"] is None
    assert again["result"]["channel"] == "bank_transfer"
    changes = rpc.billing.account_for_order(order["id"])["channel_changes"]
    assert [c["channel"] for c in changes] == ["cash", "bank_transfer"]


def test_two_different_requests_reusing_a_correlation_id_both_take_effect(raw, rpc):
    """The request's identity is its correlation id and its content, not the id alone."""
    order = shipped_order(rpc)
    correlation_id = uuid.uuid4().hex
    for text in ("first", "second"):
        note = {"kind": "internal", "text": text}
        raw.publish("orders", "add_note", {"order_id": order["id"], "note": note}, correlation_id)
    raw.wait(2)
    notes = rpc.orders.get_order(order["id"])["notes"]
    assert sorted(n["text"] for n in notes) == ["first", "second"]
