"""The orders RPC surface: concurrency, idempotency and every kind of bad input, against real servers."""

import copy
import re
import uuid

import eventlet
import pytest
from nameko.standalone.rpc import ClusterRpcProxy

from shared.errors import Conflict, InvalidTransition, NotFound, ValidationFailed
from tests.inprocess import InProcess
from tests.support import System, acting, order_payload


@pytest.fixture
def orders(module_system):
    return module_system


@pytest.fixture(scope="module")
def desk(tmp_path_factory):
    services = InProcess(tmp_path_factory.mktemp("db"), services=("orders",))
    yield services
    services.close()


def test_twenty_concurrent_acceptances_of_one_order_accept_it_once(orders):
    with orders.rpc() as rpc:
        order = rpc.orders.place_order(order_payload())
    outcomes = []

    def accept():
        with ClusterRpcProxy(orders.config, timeout=30, context_data=acting("tests")) as rpc:
            try:
                outcomes.append(rpc.orders.accept_order(order["id"])["status"])
            except Conflict as exc:
                outcomes.append(type(exc).__name__)

    pool = eventlet.GreenPool()
    for _ in range(20):
        pool.spawn(accept)
    pool.waitall()

    assert len(outcomes) == 20
    # production may already have moved the order on when a late call returns it unchanged
    assert (
        set(outcomes) <= {"accepted", "in_production", "Conflict"}
        and "Conflict" not in [outcomes[0]] * 20
    )
    with orders.rpc() as rpc:
        log = rpc.orders.events_after(0, 100)
    accepted = [
        e for e in log if e["type"] == "orders.order_accepted" and e["subject"] == order["id"]
    ]
    assert len(accepted) == 1


def test_the_same_idempotency_key_returns_the_first_order_and_creates_nothing(orders):
    payload = order_payload()
    with orders.rpc() as rpc:
        first = rpc.orders.place_order(payload, idempotency_key="cart-42")
        again = rpc.orders.place_order(payload, idempotency_key="cart-42")
        assert again == first
        # no second order (the whole log may move meanwhile: the module's other orders are
        # still being followed by production and billing, whose effects orders records)
        log = rpc.orders.events_after(0, 1000)
        placed = [e for e in log if e["type"] == "orders.order_placed"]
        assert [e["subject"] for e in placed].count(first["id"]) == 1


def test_a_storefront_built_on_the_first_contract_may_leave_out_the_vat_rate(orders):
    """Lines described in full without `vat_rate` (the first release): the catalogue's rate for
    a known sku, the deployment's default (20) for another."""
    with orders.rpc() as rpc:
        sku = f"TEA-{uuid.uuid4().hex[:6]}"
        product = {"name": "Tea", "unit_price": "4.00", "currency": "EUR", "vat_rate": "5"}
        rpc.orders.register_product(sku, dict(product, made_in_house=True))
        payload = order_payload()
        payload["lines"][0].pop("vat_rate")
        payload["lines"][1] = dict(payload["lines"][1], sku=sku)
        del payload["lines"][1]["vat_rate"]
        payload["shippings"][0]["lines"][1]["sku"] = sku
        placed = rpc.orders.place_order(payload)
    assert [(line["sku"], line["vat_rate"]) for line in placed["lines"]] == [
        ("MUG-1", "20"),
        (sku, "5"),
    ]


def bad(mutate):
    order = order_payload()
    mutate(order)
    return order


def drop(path):
    def mutate(order):
        *parents, last = path
        target = order
        for key in parents:
            target = target[key]
        del target[last]

    return mutate


def setting(path, value):
    def mutate(order):
        *parents, last = path
        target = order
        for key in parents:
            target = target[key]
        target[last] = value

    return mutate


BAD_ORDERS = [
    ("missing client", drop(["client"]), "client"),
    ("missing e-mail", drop(["client", "email"]), "client.email"),
    ("bad e-mail", setting(["client", "email"], "not-an-email"), "client.email"),
    ("no lines", setting(["lines"], []), "lines"),
    ("quantity as text", setting(["lines", 0, "quantity"], "3"), "lines.0.quantity"),
    ("zero quantity", setting(["lines", 0, "quantity"], 0), "lines.0.quantity"),
    ("negative quantity", setting(["lines", 0, "quantity"], -2), "lines.0.quantity"),
    ("float price", setting(["lines", 0, "unit_price"], 9.5), "lines.0.unit_price"),
    ("negative price", setting(["lines", 0, "unit_price"], "-1.00"), "lines.0.unit_price"),
    ("bad currency", setting(["lines", 0, "currency"], "euro"), "lines.0.currency"),
    (
        "made_in_house not a boolean",
        setting(["lines", 0, "made_in_house"], "yes"),
        "lines.0.made_in_house",
    ),
    (
        "bought line without distributor",
        setting(["lines", 0, "distributor"], None),
        "lines.0.distributor",
    ),
    ("unknown channel", setting(["channel"], "carrier-pigeon"), "channel"),
    ("no shippings", setting(["shippings"], []), "shippings"),
    (
        "bad planned date",
        setting(["shippings", 0, "planned_date"], "next tuesday"),
        "shippings.0.planned_date",
    ),
    (
        "shipping line of an unknown sku",
        setting(["shippings", 0, "lines", 0, "sku"], "NOPE-0"),
        "shippings.0.lines.0.sku",
    ),
    (
        "shipping quantities do not add up",
        setting(["shippings", 0, "lines", 0, "quantity"], 2),
        "shippings",
    ),
    ("a 1 MB string", setting(["note"], "x" * 1_000_000), "note"),
    ("an unknown field", setting(["coupon"], "FREE"), "coupon"),
    ("mixed currencies", setting(["lines", 1, "currency"], "USD"), "lines.currency"),
]


@pytest.mark.parametrize(
    "mutate,field", [(m, f) for _, m, f in BAD_ORDERS], ids=[n for n, _, _ in BAD_ORDERS]
)
def test_bad_orders_are_refused_naming_the_field_and_nothing_is_stored(desk, mutate, field):
    """In process: validation does not depend on the store or the transport (the RPC sees the
    same refusals: test_commands_on_unknown_or_declined_orders… and the bad-input tables)."""
    before = desk.orders.log_status()["last_position"]
    with pytest.raises(ValidationFailed) as refused:
        desk.orders.place_order(bad(mutate))
    assert field in refused.value.details, refused.value.details
    assert desk.orders.log_status()["last_position"] == before


def test_commands_on_unknown_or_declined_orders_get_typed_errors_and_change_nothing(orders):
    with orders.rpc() as rpc:
        with pytest.raises(NotFound):
            rpc.orders.accept_order("00000000-0000-0000-0000-000000000000")
        with pytest.raises(NotFound):
            rpc.orders.get_order("not-a-uuid")
        with pytest.raises(ValidationFailed) as refused:
            rpc.orders.accept_order(12)
        assert "order_id" in refused.value.details

        order = rpc.orders.place_order(order_payload())
        rpc.orders.decline_order(order["id"], "client cancelled")
        before = rpc.orders.log_status()["last_position"]
        with pytest.raises(InvalidTransition) as refused:
            rpc.orders.accept_order(order["id"])
        assert refused.value.details["rule"] == "order_closed"
        with pytest.raises(InvalidTransition):
            rpc.orders.ship_shipping(order["id"], order["shippings"][0]["id"])
        with pytest.raises(ValidationFailed) as refused:
            rpc.orders.decline_order(order["id"], "")
        assert "reason" in refused.value.details
        assert rpc.orders.log_status()["last_position"] == before
        assert rpc.orders.get_order(order["id"])["status"] == "declined"


def test_shipping_an_unknown_shipping_names_it(orders):
    with orders.rpc() as rpc:
        order = rpc.orders.place_order(order_payload())
        rpc.orders.accept_order(order["id"])
        with pytest.raises(NotFound) as missing:
            rpc.orders.ship_shipping(order["id"], "no-such-shipping")
        assert missing.value.details == {"shipping_id": "no-such-shipping"}


def test_events_after_refuses_bad_positions(orders):
    with orders.rpc() as rpc:
        with pytest.raises(ValidationFailed) as refused:
            rpc.orders.events_after(-1, 5000)
        assert set(refused.value.details) == {"position", "limit"}


def test_the_readme_example_is_accepted_as_is(orders):
    example = copy.deepcopy(order_payload())
    example["client"]["name"] = "Ada Lovelace"
    with orders.rpc() as rpc:
        placed = rpc.orders.place_order(example)
    assert placed["total"] == "63.50" and placed["currency"] == "EUR"
    assert re.fullmatch(r"20\d\d-\d{6}", placed["reference"])
    assert [s["status"] for s in placed["shippings"]] == ["pending"]


def test_concurrent_first_orders_of_a_fresh_store_get_distinct_sequential_references(
    amqp_uri, store
):
    with System(amqp_uri, store, services=("orders",)) as system:
        references, errors = [], []

        def place():
            with ClusterRpcProxy(system.config, timeout=30, context_data=acting("tests")) as rpc:
                try:
                    references.append(rpc.orders.place_order(order_payload())["reference"])
                except Exception as exc:  # noqa: BLE001 - any failure is what this test looks for
                    errors.append(repr(exc))

        pool = eventlet.GreenPool()
        for _ in range(20):
            pool.spawn(place)
        pool.waitall()

    assert errors == []
    year = references[0].split("-")[0]
    assert sorted(references) == [f"{year}-{n:06d}" for n in range(1, 21)]
