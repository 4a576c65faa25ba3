"""Billing is SIGSTOPped for 60 s while orders keep coming, then continued: the broker gave its
connections up meanwhile (missed heartbeats); it reconnects, the backlog drains, a new order is invoiced as
promptly as before, and nothing is lost or doubled — `oms verify` agrees."""

import signal

import eventlet

from tests.faults.burst import Burst, assert_verified
from tests.support import System, eventually, order_payload, serve_subprocess, wait_until_answers

ORDERS = 60


def test_a_consumer_stopped_for_a_minute_under_load_drains_its_backlog(
    amqp_uri, sqlite_store, tmp_path
):
    with System(
        amqp_uri, sqlite_store, services=("orders", "production", "fulfilment", "notify")
    ) as system:
        billing = serve_subprocess(
            ["billing"],
            amqp_uri,
            {"billing": sqlite_store["billing"]},
            log_path=tmp_path / "billing.log",
            HEARTBEAT="5",  # the broker gives its connections up after ~10 s of silence
        )
        try:
            wait_until_answers(system, "billing")
            burst = Burst(system.config, orders=ORDERS, callers=2, pace=1.0).start()
            eventually(lambda: burst.done >= 10, timeout=60)
            billing.send_signal(signal.SIGSTOP)
            eventlet.sleep(60)
            billing.send_signal(signal.SIGCONT)
            burst.wait()
            assert burst.done == ORDERS
            lost = "Connection to broker lost"  # nameko's words on reconnecting
            eventually(lambda: lost in (tmp_path / "billing.log").read_text(), timeout=30)

            with system.rpc() as rpc:
                eventually(
                    lambda: (
                        rpc.billing.log_status()["tracking"]["orders"]
                        == rpc.orders.log_status()["last_published"]
                    ),
                    timeout=120,
                )
                order = rpc.orders.place_order(order_payload())
                rpc.orders.accept_order(order["id"])
                eventually(lambda: rpc.billing.invoices_for_order(order["id"]), timeout=10)
            assert_verified(amqp_uri)
        finally:
            billing.send_signal(signal.SIGCONT)
            billing.send_signal(signal.SIGTERM)
            billing.wait(timeout=30)
