"""Legal invoice numbers: sequential per year with no gap and no reuse, under concurrent issuing
and when billing is SIGKILLed mid-way and restarted."""

import re
import signal

import eventlet

from services.orders.application import OrdersApplication
from services.orders.schemas import OrderIn
from shared.validation import load
from tests.support import (
    System,
    eventually,
    order_payload,
    serve_subprocess,
    settled,
    wait_until_answers,
)

NUMBER = re.compile(r"^(INV|PF)-\d{4}-(\d{6})$")


def in_parallel(system, items, call, callers: int) -> list:
    """`call(rpc, item)` for every item, from `callers` greenthreads with a proxy each."""
    chunks = [items[i::callers] for i in range(callers)]

    def work(chunk):
        with system.rpc(timeout=60) as rpc:
            return [call(rpc, item) for item in chunk]

    return [r for done in eventlet.GreenPool(callers).imap(work, chunks) for r in done]


def place(url: str, count: int) -> list[str]:
    """Orders placed straight into the orders store (test data; accepting them is the test)."""
    app = OrdersApplication(url)
    orders = app.place_many([load(OrderIn, order_payload()) for _ in range(count)], "tests")
    app.close()
    return [str(order.id) for order in orders]


def issued(rpc, kind: str = "invoice") -> list[dict]:
    query = {"kinds": [kind], "sort": "number", "direction": "asc", "limit": 500}
    return rpc.billing.list_invoices(query)["invoices"]


def sequences(documents) -> list[int]:
    return [int(NUMBER.match(d["number"])[2]) for d in documents]


def test_500_invoices_issued_concurrently_are_numbered_1_to_500_though_billing_is_killed_midway(
    amqp_uri, store, tmp_path
):
    placed = place(store["orders"], 500)
    with System(amqp_uri, store, services=("orders",)) as system:
        billing = serve_subprocess(
            ["billing"],
            amqp_uri,
            {"billing": store["billing"]},
            log_path=tmp_path / "billing-1.log",
        )
        try:
            wait_until_answers(system, "billing")
            accepting = eventlet.spawn(
                in_parallel, system, placed, lambda rpc, i: rpc.orders.accept_order(i), 20
            )
            with system.rpc(timeout=30) as rpc:
                at_kill = len(
                    eventually(
                        lambda: (found := issued(rpc)) and len(found) >= 100 and found, timeout=120
                    )
                )
            billing.send_signal(signal.SIGKILL)
            assert billing.wait(timeout=30) == -signal.SIGKILL
            accepting.wait()
        finally:
            billing.kill()
        assert at_kill < 500  # killed mid-way

        restarted = serve_subprocess(
            ["billing"],
            amqp_uri,
            {"billing": store["billing"]},
            log_path=tmp_path / "billing-2.log",
        )
        try:
            wait_until_answers(system, "billing")
            with system.rpc(timeout=30) as rpc:
                invoices = eventually(
                    lambda: (found := issued(rpc)) and len(found) == 500 and found, timeout=180
                )
                eventually(lambda: settled(rpc))
                invoices = issued(rpc)
        finally:
            restarted.send_signal(signal.SIGTERM)
            restarted.wait(timeout=30)
    assert sequences(invoices) == list(range(1, 501))
    assert sorted(i["order_id"] for i in invoices) == sorted(placed)  # one each


def test_pro_formas_requested_concurrently_are_numbered_without_gap_or_repeat(amqp_uri, store):
    with System(amqp_uri, store, services=("orders", "billing")) as system:
        placed = in_parallel(
            system, range(60), lambda rpc, _: rpc.orders.place_order(order_payload())["id"], 6
        )
        with system.rpc() as rpc:
            eventually(lambda: settled(rpc))
        shown = in_parallel(system, placed, lambda rpc, i: rpc.billing.issue_pro_forma(i), 12)
        with system.rpc() as rpc:
            pro_formas = issued(rpc, "pro_forma")
    assert sorted(sequences(shown)) == sequences(pro_formas) == list(range(1, 61))
