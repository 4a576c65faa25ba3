"""Fulfilment is SIGKILLed while it sends a backlog of purchase orders, twice: every purchase order
still ends sent and acknowledged, and each reaches its distributor exactly once — a repeat after a kill
(the documented window: the distributor took it, the attempt was not yet recorded) carries the
same idempotency key, the purchase order's id, and orders nothing more."""

import collections
import signal

from shared.settings import SERVICES
from tests.support import (
    System,
    eventually,
    order_payload,
    random_ref,
    serve_subprocess,
    stop_process,
    wait_until_answers,
)
from tests.thirdparties import DistributorServer

ORDERS = 8
KILLS = 2
ADDRESS = {"line1": "1 Main St", "city": "Leeds", "postcode": "LS1 1AA", "country": "GB"}


def test_fulfilment_killed_while_sending_orders_each_purchase_order_once(
    amqp_uri, sqlite_store, tmp_path
):
    others = tuple(s for s in SERVICES if s not in ("fulfilment", "notify"))
    with (
        DistributorServer(tmp_path / "acme") as acme,
        System(amqp_uri, sqlite_store, others) as system,
    ):

        def fulfilment(n: int):
            process = serve_subprocess(
                ["fulfilment"], amqp_uri, {"fulfilment": sqlite_store["fulfilment"]},
                log_path=tmp_path / f"fulfilment-{n}.log", SEND_BACKOFF_SECONDS="0.2",
            )  # fmt: skip
            wait_until_answers(system, "fulfilment")
            return process

        process = fulfilment(1)
        try:
            code, sku = random_ref("d-"), random_ref("SKU-").upper()
            with system.rpc() as rpc:
                registered = rpc.fulfilment.register_distributor(
                    code,
                    {"name": "Acme", "account_manager_email": "am@acme.example",
                     "ordering": acme.ordering()},
                )  # fmt: skip
                acme.secret(registered["callback_secret"])
                rpc.orders.register_product(
                    sku,
                    {"name": "Mug", "unit_price": "9.50", "currency": "EUR", "vat_rate": "20",
                     "made_in_house": False, "distributors": [code],
                     "default_distributor": code, "cost_prices": {code: "4.10"}},
                )  # fmt: skip
            # the orders ship while fulfilment is down: it comes back to a backlog of purchase
            # orders, and the distributor takes a second over each, so the kills land mid-send
            # however long placing them took
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=30)
            acme.script(*["slow 1"] * (ORDERS + 10))
            orders = []
            with system.rpc() as rpc:
                for _ in range(ORDERS):
                    lines = [{"sku": sku, "quantity": 2}]
                    payload = dict(order_payload(), lines=lines)
                    payload["shippings"] = [
                        {"planned_date": "2026-12-20", "address": ADDRESS, "lines": lines}
                    ]
                    order = rpc.orders.place_order(payload)
                    rpc.orders.accept_order(order["id"])
                    rpc.orders.ship_shipping(order["id"], order["shippings"][0]["id"])
                    orders.append(order["id"])
            process = fulfilment(2)
            for kill in range(KILLS):
                requested = len(acme.requests())
                eventually(lambda seen=requested: len(acme.requests()) >= seen + 2, timeout=60)
                process.send_signal(signal.SIGKILL)  # mid-send: the distributor is taking one
                assert process.wait(timeout=10) == -signal.SIGKILL
                process = fulfilment(kill + 3)
            with system.rpc() as rpc:

                def all_acknowledged():
                    pos = [p for o in orders for p in rpc.fulfilment.purchase_orders_for_order(o)]
                    done = len(pos) == ORDERS and all(p["status"] == "acknowledged" for p in pos)
                    return done and pos

                pos = eventually(all_acknowledged, timeout=120)
                assert rpc.fulfilment.outbox("pending") == []
        finally:
            stop_process(process)

    taken = collections.Counter(o["key"] for o in acme.orders())
    assert set(taken) == {p["id"] for p in pos}  # every purchase order reached the distributor
    assert set(taken.values()) == {1}  # and was ordered once
    keys = collections.Counter(r["key"] for r in acme.requests())
    assert all(keys[p["id"]] <= 1 + KILLS for p in pos)
    for p in pos:  # the acknowledgement recorded is the distributor's answer to the one order
        (order,) = [o for o in acme.orders() if o["key"] == p["id"]]
        assert p["acknowledgement"]["reference"] == order["answer"]["reference"]
