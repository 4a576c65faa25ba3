"""The order desk through the orders RPC: catalogue, catalogue orders, edits, shippings, notes,
claims and re-orders, links both ways, and the back-office listing — against real servers."""

import os

import pytest
from nameko.standalone.rpc import ClusterRpcProxy

from shared import actors
from shared.errors import (
    Conflict,
    Forbidden,
    InvalidTransition,
    Unauthenticated,
    ValidationFailed,
)
from tests.support import eventually, order_payload, random_ref

ADDRESS = {"line1": "1 Main St", "city": "Leeds", "postcode": "LS1 1AA", "country": "GB"}


def product(**overrides):
    details = {
        "name": "Mug",
        "unit_price": "9.50",
        "currency": "EUR",
        "vat_rate": "20",
        "made_in_house": False,
        "distributors": ["acme", "zed"],
        "default_distributor": "acme",
    }
    return dict(details, **overrides)


def client(**overrides):
    details = {"name": "Acme Ltd", "email": "buy@acme.example", "phone": "+44 113 496 0000"}
    return dict(details, default_address=ADDRESS, **overrides)


@pytest.fixture
def catalogue(rpc):
    """A fresh client and two products (one made in house): their codes."""
    code, mug, card = random_ref("C"), random_ref("MUG-"), random_ref("CARD-")
    rpc.orders.register_client(code, client())
    rpc.orders.register_product(mug, product())
    rpc.orders.register_product(
        card, product(name="Card", unit_price="0.35", made_in_house=True, distributors=[])
    )
    return code, mug, card


def catalogue_order(catalogue, mug_quantity=3, card_quantity=100):
    code, mug, card = catalogue
    return {
        "client_code": code,
        "channel": "phone",
        "lines": [{"sku": mug, "quantity": mug_quantity}, {"sku": card, "quantity": card_quantity}],
        "shippings": [
            {"planned_date": "2026-12-01", "lines": [{"sku": mug, "quantity": mug_quantity}]},
            {"planned_date": "2026-12-08", "lines": [{"sku": card, "quantity": card_quantity}]},
        ],
        "payment_method": "bank_transfer",
    }


def test_the_catalogue_registers_lists_updates_and_deactivates(rpc, catalogue, module_system):
    code, mug, _ = catalogue
    assert rpc.orders.register_client(code, client())["code"] == code  # a retry is harmless
    with pytest.raises(Conflict):
        rpc.orders.register_client(code, client(name="Someone else"))
    found = rpc.orders.list_clients({"search": code.lower()})["clients"]
    assert [c["code"] for c in found] == [code]
    with module_system.rpc(actor="maria", role="operator") as maria:
        updated = maria.orders.update_client(code, {"phone": "+44 113 496 0001"})
    assert updated["phone"] == "+44 113 496 0001" and updated["version"] == 2
    assert rpc.orders.update_product(mug, {"unit_price": "9.90"})["unit_price"] == "9.90"
    products = rpc.orders.list_products({"search": mug})["products"]
    assert products[0]["details"]["unit_price"] == "9.90"
    rpc.orders.deactivate_client(code, "closed down")
    with pytest.raises(ValidationFailed) as refused:
        rpc.orders.place_order(catalogue_order(catalogue))
    assert "client_code" in refused.value.details
    with pytest.raises(InvalidTransition) as refused:
        rpc.orders.update_client(code, {"phone": "1"})
    assert refused.value.details["rule"] == "client_inactive"


def test_a_catalogue_order_keeps_name_and_price_as_they_were_when_placed(rpc, catalogue):
    code, mug, card = catalogue
    order = rpc.orders.place_order(catalogue_order(catalogue))
    assert order["client"]["code"] == code and order["client"]["name"] == "Acme Ltd"
    assert order["shippings"][0]["address"] == dict(ADDRESS, line2=None)  # the client's default
    assert order["ordered"] == {mug: 3, card: 100}
    assert order["total"] == "63.50" and order["title"] == "Mug + 1 more"
    line = order["lines"][0]
    assert (line["unit_price"], line["vat_rate"], line["distributor"]) == ("9.50", "20", "acme")
    rpc.orders.update_product(mug, {"unit_price": "12.00", "name": "Big mug"})
    assert rpc.orders.get_order(order["id"])["lines"][0]["name"] == "Mug"
    copy = rpc.orders.duplicate_order(order["id"], "dup-" + random_ref())
    assert copy["lines"][0]["unit_price"] == "12.00"  # a duplicate takes today's price


def test_an_edit_changes_quantities_and_lines_and_publishes_its_money_effect(
    rpc, catalogue, module_system
):
    _, mug, card = catalogue
    order = rpc.orders.place_order(catalogue_order(catalogue))
    first, second = [s["id"] for s in order["shippings"]]
    pen = random_ref("PEN-")
    rpc.orders.register_product(pen, product(name="Pen", unit_price="1.20"))
    with module_system.rpc(actor="maria", role="operator") as maria:
        edited = maria.orders.edit_order(
            order["id"],
            {
                "shippings": [
                    {
                        "id": first,
                        "lines": [{"sku": mug, "quantity": 5}, {"sku": pen, "quantity": 10}],
                    }
                ],
                "new_lines": [{"sku": pen, "quantity": 10}],
                "reason": "client phoned",
            },
        )
    assert edited["ordered"] == {mug: 5, card: 100, pen: 10}
    assert edited["total"] == "94.50"
    log = rpc.orders.events_after(0, 1000)
    event = [e for e in log if e["type"] == "orders.order_edited" and e["subject"] == order["id"]]
    data = event[0]["data"]
    assert (data["total_before"], data["total_after"]) == ("63.50", "94.50")
    assert data["actor"] == "maria" and data["reason"] == "client phoned"
    assert edited["history"][-1]["event"] == "Edited"
    rpc.orders.edit_order(
        order["id"], {"shippings": [{"id": second, "lines": [{"sku": mug, "quantity": 1}]}]}
    )
    assert card not in rpc.orders.get_order(order["id"])["ordered"]  # a line can be removed


def test_shippings_can_be_added_moved_and_rescheduled_until_they_ship(rpc, catalogue):
    _, mug, card = catalogue
    order = rpc.orders.place_order(catalogue_order(catalogue, mug_quantity=4))
    first, second = [s["id"] for s in order["shippings"]]
    split = {
        "planned_date": "2026-12-20",
        "address": dict(ADDRESS, city="York"),
        "lines": [{"sku": mug, "quantity": 1, "from_shipping": first}],
    }
    added = rpc.orders.add_shipping(order["id"], split, idempotency_key="split-1")
    again = rpc.orders.add_shipping(order["id"], split, idempotency_key="split-1")
    assert again["version"] == added["version"] and len(added["shippings"]) == 3
    third = added["shippings"][2]["id"]
    moved = rpc.orders.move_quantity(
        order["id"], {"from_shipping": first, "to_shipping": second, "sku": mug, "quantity": 3}
    )
    assert [s["id"] for s in moved["shippings"]] == [second, third]  # the emptied one is gone
    assert moved["ordered"] == {mug: 4, card: 100}
    later = rpc.orders.reschedule_shipping(
        order["id"], third, {"planned_date": "2026-12-24", "reason": "client away"}
    )
    assert later["shippings"][1]["planned_date"] == "2026-12-24"
    rpc.orders.accept_order(order["id"])
    rpc.orders.ship_shipping(order["id"], third)
    with pytest.raises(InvalidTransition) as refused:
        rpc.orders.reschedule_shipping(order["id"], third, {"planned_date": "2026-12-30"})
    assert refused.value.details["rule"] == "shipping_already_shipped"


def test_notes_carry_their_kind_author_and_time(rpc, module_system):
    order = rpc.orders.place_order(order_payload())
    with module_system.rpc(actor="maria", role="operator") as maria:
        maria.orders.add_note(order["id"], {"kind": "internal", "text": "VIP"})
    with module_system.rpc(actor="tom", role="operator") as tom:
        shown = tom.orders.add_note(order["id"], {"kind": "client", "text": "Gift wrap"}, "n-1")
        again = tom.orders.add_note(order["id"], {"kind": "client", "text": "Gift wrap"}, "n-1")
    assert again["version"] == shown["version"]
    notes = [(n["kind"], n["text"], n["author"]) for n in shown["notes"]]
    assert notes == [("internal", "VIP", "maria"), ("client", "Gift wrap", "tom")]
    assert all(n["at"].startswith("20") for n in shown["notes"])


def test_a_claim_on_delivered_lines_resolved_by_a_reprint_links_both_orders(rpc, module_system):
    order = rpc.orders.place_order(order_payload())
    rpc.orders.accept_order(order["id"])
    with pytest.raises(InvalidTransition) as refused:
        rpc.orders.open_claim(
            order["id"], {"reason": "smudged", "lines": [{"sku": "CARD-9", "quantity": 5}]}
        )
    assert refused.value.details["rule"] == "claim_exceeds_delivered"
    rpc.orders.complete_order(order["id"], "delivered by hand")
    opened = rpc.orders.open_claim(
        order["id"], {"reason": "smudged", "lines": [{"sku": "CARD-9", "quantity": 20}]}, "claim-1"
    )
    claim_id = opened["claim_id"]
    resolution = {"resolution": "reprinted", "reason": "our printer", "planned_date": "2026-12-10"}
    original = rpc.orders.resolve_claim(order["id"], claim_id, resolution)
    assert rpc.orders.resolve_claim(order["id"], claim_id, resolution) == original  # retry-safe
    link = original["links"][0]
    assert link["kind"] == "reprinted_as"
    reprint = rpc.orders.get_order(link["order_id"])
    assert link["reference"] == reprint["reference"]
    assert reprint["links"] == [
        {"kind": "reprint_of", "order_id": order["id"], "reference": order["reference"]}
    ]
    assert reprint["ordered"] == {"CARD-9": 20} and reprint["total"] == "0"
    assert original["claims"][0]["status"] == "reprinted"
    with pytest.raises(InvalidTransition):
        rpc.orders.resolve_claim(order["id"], claim_id, {"resolution": "rejected", "reason": "x"})


def test_duplicates_and_new_orders_for_a_client_are_linked_both_ways(rpc):
    order = rpc.orders.place_order(order_payload())
    copy = rpc.orders.duplicate_order(order["id"], "dup-1", planned_date="2027-01-05")
    again = rpc.orders.duplicate_order(order["id"], "dup-1", planned_date="2027-01-05")
    assert again["id"] == copy["id"]
    with pytest.raises(Conflict):  # the same key for another request
        rpc.orders.duplicate_order(order["id"], "dup-1", planned_date="2027-02-01")
    assert copy["ordered"] == order["ordered"] and copy["client"] == order["client"]
    assert copy["shippings"][0]["planned_date"] == "2027-01-05" and copy["status"] == "new"
    fresh = dict(order_payload())
    del fresh["client"]
    follow_up = rpc.orders.new_order_for_client(order["id"], fresh, "again-1")
    assert follow_up["client"] == order["client"]
    shown = rpc.orders.get_order(order["id"])
    kinds = {(link["kind"], link["order_id"]) for link in shown["links"]}
    assert kinds == {("duplicated_as", copy["id"]), ("client_reordered_as", follow_up["id"])}
    assert copy["links"][0]["kind"] == "duplicate_of"
    assert follow_up["links"][0] == {
        "kind": "new_order_for_client_of", "order_id": order["id"], "reference": order["reference"]
    }  # fmt: skip


def test_orders_follows_production_and_billing_and_says_who_moved_the_order(rpc):
    order = rpc.orders.place_order(order_payload())
    rpc.orders.accept_order(order["id"])
    shown = eventually(
        lambda: (o := rpc.orders.get_order(order["id"]))["status"] == "in_production" and o
    )
    line = next(h for h in shown["history"] if h["event"] == "ProductionFollowed")
    assert line["actor"] == "production" and line["details"]["job"]["sku"] == "CARD-9"
    invoice = eventually(lambda: rpc.billing.invoices_for_order(order["id"]))[0]
    billing_position = rpc.billing.log_status()["last_position"]
    eventually(lambda: rpc.orders.log_status()["tracking"]["billing"] >= billing_position)
    paid = rpc.orders.get_order(order["id"])["payment_status"]
    assert paid == invoice["status"] == "unpaid"
    line = next(
        h
        for h in rpc.orders.get_order(order["id"])["history"]
        if h["event"] == "PaymentStatusChanged"
    )
    assert line["actor"] == "billing"


def test_the_listing_serves_sorts_filters_and_pages_over_rpc(rpc, catalogue):
    code, _, _ = catalogue
    placed = [rpc.orders.place_order(catalogue_order(catalogue, mug_quantity=q)) for q in (1, 2, 3)]
    rpc.orders.decline_order(placed[0]["id"], "duplicate")
    query = {"client_code": code, "sort": "total", "direction": "asc", "limit": 1}
    first = rpc.orders.list_orders(query)
    second = rpc.orders.list_orders(dict(query, cursor=first["next_cursor"]))
    assert [r["id"] for r in first["orders"] + second["orders"]] == [p["id"] for p in placed[1:]]
    assert second["next_cursor"] is None
    assert first["counts"] == {"declined": 1, "new": 2}
    closed = rpc.orders.list_orders(dict(query, statuses=["declined"], limit=10))["orders"]
    assert [r["reference"] for r in closed] == [placed[0]["reference"]]


def listing(rpc) -> dict:
    pages, cursor = [], None
    while True:
        page = rpc.orders.list_orders(
            {"include_closed": True, "limit": 200, "cursor": cursor}
            if cursor
            else {"include_closed": True, "limit": 200}
        )
        pages += page["orders"]
        if not (cursor := page["next_cursor"]):
            break
    return {
        "orders": pages,
        "counts": page["counts"],
        "clients": rpc.orders.list_clients({"limit": 500}),
        "products": rpc.orders.list_products({"limit": 500}),
    }


def test_rebuilding_the_read_model_over_rpc_serves_the_same_listing(rpc):
    """Runs last in the module: everything the tests above did is in the log."""
    before = listing(rpc)
    assert len(before["orders"]) > 10
    rebuilt = rpc.orders.rebuild_read_model()
    assert rebuilt["aggregates"] >= len(before["orders"])
    assert listing(rpc) == before


def test_state_changes_need_a_valid_actor_token_and_a_role_that_allows_them(module_system):
    with module_system.rpc() as rpc:
        order = rpc.orders.place_order(order_payload())
    forged = actors.mint("not-the-secret-" + "x" * 32, "mallory", "admin")
    expired = actors.mint(os.environ["OMS_ACTOR_SECRET"], "maria", "operator", now=1)
    for context_data, problem in (
        ({}, "no actor token"),
        ({"actor": "maria"}, "no actor token"),  # naming an actor is not enough
        ({actors.TOKEN_KEY: forged}, "not valid"),
        ({actors.TOKEN_KEY: expired}, "expired"),
    ):
        with ClusterRpcProxy(module_system.config, timeout=15, context_data=context_data) as rpc:
            with pytest.raises(Unauthenticated) as refused:
                rpc.orders.accept_order(order["id"])
            assert problem in refused.value.message
            assert rpc.orders.get_order(order["id"])["status"] == "new"  # reading needs none
    with module_system.rpc(actor="shop", role="storefront") as shop:
        with pytest.raises(Forbidden) as refused:
            shop.orders.accept_order(order["id"])
        assert refused.value.details == {"needed": "operator", "role": "storefront"}
        assert shop.orders.place_order(order_payload())["history"][0]["actor"] == "shop"
    with module_system.rpc(actor="maria", role="operator") as maria:
        with pytest.raises(Forbidden):
            maria.orders.rebuild_read_model()
        accepted = maria.orders.accept_order(order["id"])
    assert (accepted["status"], accepted["history"][-1]["actor"]) == ("accepted", "maria")


def test_finishing_a_production_order_needs_an_actor(module_system):
    with module_system.rpc() as rpc:
        order = rpc.orders.place_order(order_payload())
        rpc.orders.accept_order(order["id"])
        (job,) = eventually(lambda: rpc.production.production_orders_for_order(order["id"]))
    with module_system.rpc(actor=None) as anonymous:
        with pytest.raises(Unauthenticated):
            anonymous.production.finish_production_order(job["id"])
        assert anonymous.production.production_orders_for_order(order["id"]) == [job]
    with module_system.rpc(actor="maria", role="operator") as maria:
        maria.production.release_production_order(job["id"])
        maria.production.start_production_order(job["id"])
        finished = maria.production.finish_production_order(job["id"])
        assert finished["status"] == "finished"


def test_an_idempotency_key_reused_with_another_request_is_refused(rpc):
    key = random_ref("cart-")
    payload = order_payload()
    first = rpc.orders.place_order(payload, idempotency_key=key)
    assert rpc.orders.place_order(payload, idempotency_key=key)["id"] == first["id"]
    with pytest.raises(Conflict) as refused:
        rpc.orders.place_order(dict(payload, note="another order"), idempotency_key=key)
    assert refused.value.details == {"idempotency_key": ["Already used with a different request."]}

    note = {"kind": "internal", "text": "a"}
    rpc.orders.add_note(first["id"], note, idempotency_key=key)  # keys are per command
    rpc.orders.add_note(first["id"], note, idempotency_key=key)
    with pytest.raises(Conflict):
        rpc.orders.add_note(first["id"], dict(note, text="b"), idempotency_key=key)
    assert [n["text"] for n in rpc.orders.get_order(first["id"])["notes"]] == ["a"]
