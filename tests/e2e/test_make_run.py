"""`make run`'s program: starts the five services on SQLite in var/, stops them on Ctrl-C, and a
second run finds everything the first one stored."""

import os
import signal
import subprocess
import sys

from nameko.standalone.rpc import ClusterRpcProxy

from tests.support import ROOT, eventually, order_payload


def start(amqp_uri: str, var_dir, log) -> subprocess.Popen:
    env = dict(os.environ, OMS_AMQP_URI=amqp_uri, OMS_VAR_DIR=str(var_dir), PYTHONPATH=str(ROOT))
    return subprocess.Popen(
        [sys.executable, "-m", "oms.run"], env=env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT
    )


def interrupt(process: subprocess.Popen) -> int:
    process.send_signal(signal.SIGINT)
    return process.wait(timeout=60)


def answering(config) -> bool:
    try:
        with ClusterRpcProxy(config, timeout=3, context_data={"actor": "tests"}) as rpc:
            return all(
                getattr(rpc, s).log_status()
                for s in ("orders", "billing", "production", "fulfilment", "notify")
            )
    except Exception:  # noqa: BLE001 - still starting
        return False


def test_run_serves_the_flows_stops_on_ctrl_c_and_reuses_its_data(amqp_uri, tmp_path):
    config = {"AMQP_URI": amqp_uri}
    log_path = tmp_path / "run.log"
    with open(log_path, "ab") as log:
        first = start(amqp_uri, tmp_path / "var", log)
        try:
            eventually(lambda: answering(config), timeout=90)
            with ClusterRpcProxy(config, timeout=15, context_data={"actor": "tests"}) as rpc:
                order = rpc.orders.place_order(order_payload(), idempotency_key="make-run")
                rpc.orders.accept_order(order["id"])
                invoice = eventually(lambda: rpc.billing.invoices_for_order(order["id"]))
                # production takes the made-in-house line into production
                eventually(lambda: rpc.orders.get_order(order["id"])["status"] == "in_production")
        finally:
            assert interrupt(first) == 0
        assert "The order-management system is running" in log_path.read_text()
        assert (tmp_path / "var" / "orders.sqlite3").exists()

        second = start(amqp_uri, tmp_path / "var", log)
        try:
            eventually(lambda: answering(config), timeout=90)
            with ClusterRpcProxy(config, timeout=15, context_data={"actor": "tests"}) as rpc:
                assert rpc.orders.get_order(order["id"])["status"] == "in_production"
                assert rpc.billing.invoices_for_order(order["id"]) == invoice
        finally:
            assert interrupt(second) == 0
    assert "stopped." in log_path.read_text()
