"""Orders is SIGKILLed after saving an acceptance and before publishing it: the invoice still comes, once."""

import signal

from nameko.exceptions import RpcTimeout

from tests.support import System, eventually, order_payload, serve_subprocess, wait_until_answers


def test_acceptance_saved_but_not_published_is_published_after_restart(amqp_uri, store, tmp_path):
    with System(amqp_uri, store, services=("billing",)) as system:
        crashing = serve_subprocess(
            ["orders"],
            amqp_uri,
            {"orders": store["orders"]},
            faults={"crash_before_publish": ["order_accepted"]},
            log_path=tmp_path / "orders-1.log",
        )
        try:
            wait_until_answers(system, "orders")
            with system.rpc(timeout=5) as rpc:
                order = rpc.orders.place_order(order_payload())
                try:
                    rpc.orders.accept_order(order["id"])
                except RpcTimeout:
                    pass  # the process may die before it replies; the acceptance was saved first
            assert crashing.wait(timeout=30) == -signal.SIGKILL
        finally:
            crashing.kill()

        restarted = serve_subprocess(
            ["orders"], amqp_uri, {"orders": store["orders"]}, log_path=tmp_path / "orders-2.log"
        )
        try:
            wait_until_answers(system, "orders")
            with system.rpc() as rpc:
                assert rpc.orders.get_order(order["id"])["status"] == "accepted"
                invoices = eventually(lambda: rpc.billing.invoices_for_order(order["id"]))
                # everything orders logged has been relayed and consumed: no late duplicate can follow
                eventually(
                    lambda: (
                        lambda s, b: (
                            s["relayed_position"] == s["last_position"] == b["tracking"]["orders"]
                        )
                    )(rpc.orders.log_status(), rpc.billing.log_status())
                )
                assert len(invoices) == 1
                assert len(rpc.billing.invoices_for_order(order["id"])) == 1
        finally:
            restarted.send_signal(signal.SIGTERM)
            restarted.wait(timeout=30)
