"""Bad input at every orders RPC method gets a typed error naming the field or the rule, and
leaves the log where it was: every case against the service in process, and a few over RPC."""

import pytest

from shared.errors import Conflict, InvalidTransition, NotFound, ValidationFailed
from tests.inprocess import InProcess
from tests.support import order_payload, random_ref

ADDRESS = {"line1": "1 Main St", "city": "Leeds", "postcode": "LS1 1AA", "country": "GB"}
MISSING = "00000000-0000-0000-0000-000000000000"
PRODUCT = {
    "name": "Mug",
    "unit_price": "9.50",
    "currency": "EUR",
    "vat_rate": "20",
    "made_in_house": False,
    "distributors": ["acme"],
    "default_distributor": "acme",
}


@pytest.fixture(scope="module")
def desk(tmp_path_factory):
    services = InProcess(tmp_path_factory.mktemp("db"), services=("orders",))
    yield services
    services.close()


@pytest.fixture(scope="module")
def world(desk):
    """A client, a product, and orders in the states the cases need."""
    code, sku, retired = random_ref("C"), random_ref("MUG-"), random_ref("OLD-")
    desk.orders.register_client(code, {"name": "Acme", "email": "a@acme.example", "phone": "1"})
    desk.orders.register_product(sku, PRODUCT)
    desk.orders.register_product(retired, dict(PRODUCT, active=False))
    new = desk.orders.place_order(order_payload())
    shipped = desk.orders.place_order(order_payload())
    desk.orders.accept_order(shipped["id"])
    desk.orders.ship_shipping(shipped["id"], shipped["shippings"][0]["id"])
    yield {
        "code": code,
        "sku": sku,
        "retired": retired,
        "new": new["id"],
        "new_shipping": new["shippings"][0]["id"],
        "shipped": shipped["id"],
        "shipped_shipping": shipped["shippings"][0]["id"],
    }


def catalogue_line(w, **line):
    order = order_payload()
    order["lines"] = [dict({"sku": w["sku"], "quantity": 1}, **line)]
    order["shippings"][0]["lines"] = [{"sku": w["sku"], "quantity": 1}]
    return order


def with_client_code(w):
    order = order_payload(client_code=w["code"])
    return order


def edit(shipping_key, sku="MUG-1", quantity=1, **extra):
    return lambda w: {
        "shippings": [{"id": w[shipping_key], "lines": [{"sku": sku, "quantity": quantity}]}],
        **extra,
    }


# (method, arguments from the world, error, field or rule it must name)
CASES = [
    ("register_client", lambda w: ("", {"name": "A", "email": "a@b.example", "phone": "1"}), ValidationFailed, "code"),
    ("register_client", lambda w: ("NEW-1", {"name": "A", "phone": "1"}), ValidationFailed, "email"),
    ("register_client", lambda w: (w["code"], {"name": "B", "email": "b@b.example", "phone": "2"}), Conflict, None),
    ("update_client", lambda w: ("NOPE-1", {"phone": "1"}), NotFound, None),
    ("update_client", lambda w: (w["code"], {"email": "not-mail"}), ValidationFailed, "email"),
    ("deactivate_client", lambda w: (w["code"], ""), ValidationFailed, "reason"),
    ("list_clients", lambda w: ({"limit": 0},), ValidationFailed, "limit"),
    ("register_product", lambda w: ("P-1", dict(PRODUCT, distributors=[])), ValidationFailed, "distributors"),
    ("register_product", lambda w: ("P-2", dict(PRODUCT, unit_price=9.5)), ValidationFailed, "unit_price"),
    ("register_product", lambda w: ("P-3", dict(PRODUCT, vat_rate="150")), ValidationFailed, "vat_rate"),
    ("update_product", lambda w: ("NOPE-2", {"name": "x"}), NotFound, None),
    ("update_product", lambda w: (w["sku"], {"default_distributor": "zed"}), ValidationFailed, "default_distributor"),
    ("list_products", lambda w: ({"active": "yes"},), ValidationFailed, "active"),
    ("place_order", lambda w: (order_payload(client_code="NOPE-3"),), ValidationFailed, "client"),
    ("place_order", lambda w: ({**order_payload(), "client_code": w["code"]},), ValidationFailed, "client"),
    ("place_order", lambda w: (catalogue_line(w, distributor="zed"),), ValidationFailed, "lines.0.sku"),
    ("place_order", lambda w: (catalogue_line({**w, "sku": w["retired"]}),), ValidationFailed, "lines.0.sku"),
    ("place_order", lambda w: (catalogue_line({**w, "sku": "NOPE-4"}),), ValidationFailed, "lines.0.sku"),
    ("place_order", lambda w: (catalogue_line(w, name="Mug"),), ValidationFailed, "lines.0.unit_price"),
    ("place_order", lambda w: (order_payload(placed_at="2025-01-01T00:00:00+00:00"),), ValidationFailed, "placed_at"),
    ("place_order", lambda w: (order_payload(), 42), ValidationFailed, "idempotency_key"),
    ("accept_order", lambda w: (MISSING,), NotFound, None),
    ("decline_order", lambda w: (w["new"], 5), ValidationFailed, "reason"),
    ("void_order", lambda w: (w["new"], "no"), InvalidTransition, "void_requires_acceptance"),
    ("hold_order", lambda w: (w["new"], None), ValidationFailed, "reason"),
    ("release_order", lambda w: (w["new"], "ok"), InvalidTransition, "release_requires_status_on_hold"),
    ("edit_order", lambda w: (w["new"], {"shippings": []}), ValidationFailed, "shippings"),
    ("edit_order", lambda w: (w["new"], edit("new_shipping", sku="NOPE-5")(w)), NotFound, None),
    ("edit_order", lambda w: (w["new"], {"shippings": [{"id": "nope", "lines": [{"sku": "MUG-1", "quantity": 1}]}]}), NotFound, None),
    ("edit_order", lambda w: (w["shipped"], edit("shipped_shipping")(w)), InvalidTransition, "shipping_already_shipped"),
    ("edit_order", lambda w: (w["new"], edit("new_shipping", new_lines=[{"sku": "NOPE-6", "quantity": 1}])(w)), ValidationFailed, "new_lines.0.sku"),
    ("edit_order", lambda w: (w["new"], edit("new_shipping", sku="MUG-1", quantity=3)(w) | {"shippings": [{"id": w["new_shipping"], "lines": [{"sku": "MUG-1", "quantity": 3}, {"sku": "CARD-9", "quantity": 100}]}]}), InvalidTransition, "edit_changes_nothing"),
    ("add_shipping", lambda w: (w["new"], {"planned_date": "2026-12-20", "address": ADDRESS, "lines": [{"sku": "MUG-1", "quantity": 1}]}), ValidationFailed, "lines.0.from_shipping"),
    ("add_shipping", lambda w: (w["new"], {"planned_date": "2026-12-20", "address": ADDRESS, "lines": [{"sku": "MUG-1", "quantity": 9, "from_shipping": w["new_shipping"]}]}), InvalidTransition, "move_exceeds_shipping"),
    ("move_quantity", lambda w: (w["new"], {"from_shipping": w["new_shipping"], "to_shipping": w["new_shipping"], "sku": "MUG-1", "quantity": 0}), ValidationFailed, "quantity"),
    ("move_quantity", lambda w: (w["new"], {"from_shipping": w["new_shipping"], "to_shipping": w["new_shipping"], "sku": "MUG-1", "quantity": 1}), InvalidTransition, "move_to_same_shipping"),
    ("reschedule_shipping", lambda w: (w["new"], w["new_shipping"], {}), ValidationFailed, "_schema"),
    ("reschedule_shipping", lambda w: (w["new"], w["new_shipping"], {"planned_date": "soon"}), ValidationFailed, "planned_date"),
    ("ship_shipping", lambda w: (w["shipped"], "nope"), NotFound, None),
    ("mark_delivered", lambda w: (w["shipped"], [{"sku": "MUG-1", "quantity": "2"}]), ValidationFailed, "lines.0.quantity"),
    ("mark_delivered", lambda w: (w["shipped"], [{"sku": "MUG-1", "quantity": 4}]), InvalidTransition, "delivered_exceeds_shipped"),
    ("mark_delivered", lambda w: (w["shipped"], [{"sku": "NOPE-7", "quantity": 1}]), NotFound, None),
    ("complete_order", lambda w: (w["new"], 7), ValidationFailed, "reason"),
    ("add_note", lambda w: (w["new"], {"kind": "secret", "text": "x"}), ValidationFailed, "kind"),
    # an id that is not a UUID names no order (it once crashed the keyed commands: schemathesis)
    ("add_note", lambda w: ("0", {"kind": "client", "text": "x"}), NotFound, None),
    ("open_claim", lambda w: ("0", {"reason": "bad", "lines": [{"sku": "MUG-1", "quantity": 1}]}), NotFound, None),
    ("add_shipping", lambda w: ("0", {"planned_date": "2026-12-20", "address": ADDRESS, "lines": [{"sku": "MUG-1", "quantity": 1, "from_shipping": "0"}]}), NotFound, None),
    ("add_note", lambda w: (w["new"], {"kind": "client", "text": "x" * 5000}), ValidationFailed, "text"),
    ("open_claim", lambda w: (w["shipped"], {"reason": "bad", "lines": [{"sku": "MUG-1", "quantity": 1}]}), InvalidTransition, "claim_exceeds_delivered"),
    ("open_claim", lambda w: (w["shipped"], {"reason": "bad", "lines": []}), ValidationFailed, "lines"),
    ("resolve_claim", lambda w: (w["shipped"], "no-claim", {"resolution": "rejected", "reason": "x"}), NotFound, None),
    ("resolve_claim", lambda w: (w["shipped"], "no-claim", {"resolution": "refund", "reason": "x"}), ValidationFailed, "resolution"),
    ("duplicate_order", lambda w: (w["new"], None), ValidationFailed, "idempotency_key"),
    ("duplicate_order", lambda w: (MISSING, "k"), NotFound, None),
    ("new_order_for_client", lambda w: (w["new"], order_payload(), "k"), ValidationFailed, "client"),
    ("get_order", lambda w: (12,), ValidationFailed, "order_id"),
    ("list_orders", lambda w: ({"sort": "colour"},), ValidationFailed, "sort"),
    ("list_orders", lambda w: ({"cursor": "junk"},), ValidationFailed, "cursor"),
    ("list_orders", lambda w: ({"placed_from": "2026-02-01", "placed_to": "2026-01-01"},), ValidationFailed, "placed_to"),
    ("list_orders", lambda w: ({"statuses": ["lost"]},), ValidationFailed, "statuses.0"),
    ("list_orders", lambda w: ({"limit": 10_000},), ValidationFailed, "limit"),
]  # fmt: skip


def test_every_state_changing_method_has_bad_input_cases():
    methods = {c[0] for c in CASES}
    assert {
        "register_client", "update_client", "deactivate_client", "list_clients",
        "register_product", "update_product", "list_products", "place_order", "accept_order",
        "decline_order", "void_order", "hold_order", "release_order", "edit_order",
        "add_shipping", "move_quantity", "reschedule_shipping", "ship_shipping",
        "mark_delivered", "complete_order", "add_note", "open_claim", "resolve_claim",
        "duplicate_order", "new_order_for_client", "get_order", "list_orders",
    } <= methods  # fmt: skip


@pytest.mark.parametrize(
    "method,arguments,error,named", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)]
)
def test_bad_input_is_refused_by_name_and_changes_nothing(
    desk, world, method, arguments, error, named
):
    refused_alike(desk, method, arguments(world), error, named)


def refused_alike(rpc, method, arguments, error, named) -> None:
    before = rpc.orders.log_status()["last_position"]
    with pytest.raises(error) as refused:
        getattr(rpc.orders, method)(*arguments)
    details = refused.value.details
    if error is InvalidTransition:
        assert details["rule"] == named
    elif named:
        assert any(key == named or key.endswith("." + named) for key in details), details
    assert rpc.orders.log_status()["last_position"] == before


def test_refusals_cross_rpc_alike(sqlite_system):
    with sqlite_system.rpc(timeout=30) as rpc:
        refused_alike(rpc, "get_order", (12,), ValidationFailed, "order_id")
        refused_alike(rpc, "list_orders", ({"sort": "colour"},), ValidationFailed, "sort")
        refused_alike(rpc, "duplicate_order", (MISSING, "k"), NotFound, None)
        order = rpc.orders.place_order(order_payload())
        # the actor comes from the caller's token: the old `actor` argument is no more
        refused_alike(rpc, "accept_order", (order["id"], "maria"), ValidationFailed, "_arguments")
        refused_alike(rpc, "void_order", (order["id"], "no"), InvalidTransition,
                      "void_requires_acceptance")  # fmt: skip
