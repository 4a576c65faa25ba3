"""`make run`'s program: starts the five services on SQLite in var/, stops them on Ctrl-C, and a
second run finds everything the first one stored."""

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request

from nameko.standalone.rpc import ClusterRpcProxy
from prometheus_client.parser import text_string_to_metric_families

from oms.infra import _pid_alive, free_port
from oms.rabbitmq import RabbitNode
from oms.run import holders
from shared.settings import SERVICES
from tests.support import ROOT, acting, eventually, management, order_payload

API_PORT = free_port()


def start(amqp_uri: str, var_dir, log) -> subprocess.Popen:
    env = dict(os.environ, OMS_AMQP_URI=amqp_uri, OMS_VAR_DIR=str(var_dir), PYTHONPATH=str(ROOT))
    env["OMS_API_ADDRESS"] = f"127.0.0.1:{API_PORT}"
    for name in ("OMS_SMTP_PORT", "OMS_SMS_URL", "OMS_NOTIFY_POLICY"):  # as a newcomer has it
        env.pop(name, None)
    return subprocess.Popen(
        [sys.executable, "-m", "oms.run"], env=env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT
    )


def interrupt(process: subprocess.Popen) -> int:
    process.send_signal(signal.SIGINT)
    return process.wait(timeout=60)


def answering(config) -> bool:
    try:
        with ClusterRpcProxy(config, timeout=3, context_data=acting("tests")) as rpc:
            return all(
                getattr(rpc, s).log_status()
                for s in ("orders", "billing", "production", "fulfilment", "notify")
            )
    except Exception:  # noqa: BLE001 - still starting
        return False


def readme_example(marker: str) -> str:
    """A session of the README, as it is printed there (the block holding `marker`)."""
    text = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```sh\n(.*?)```", text, flags=re.S)
    (block,) = [b for b in blocks if marker in b]
    return block


def run_session(block: str, cwd, env: dict) -> str:
    session = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", block],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert session.returncode == 0, session.stderr
    return session.stdout


def documents(text: str) -> list:
    """The JSON documents curl printed one after the other."""
    decoder, found, at = json.JSONDecoder(), [], 0
    while text[at:].strip():
        at += len(text[at:]) - len(text[at:].lstrip())
        document, at = decoder.raw_decode(text, at)
        found.append(document)
    return found


def test_run_serves_the_flows_stops_on_ctrl_c_and_reuses_its_data(amqp_uri, tmp_path):
    config = {"AMQP_URI": amqp_uri}
    log_path = tmp_path / "run.log"
    with open(log_path, "ab") as log:
        first = start(amqp_uri, tmp_path / "var", log)
        try:
            eventually(lambda: "is running" in log_path.read_text(), timeout=120)
            assert answering(config)  # "running" means every service answers
            with ClusterRpcProxy(config, timeout=15, context_data=acting("tests")) as rpc:
                order = rpc.orders.place_order(order_payload(), idempotency_key="make-run")
                rpc.orders.accept_order(order["id"])
                invoice = eventually(lambda: rpc.billing.invoices_for_order(order["id"]))
                # production takes the made-in-house line into production
                eventually(lambda: rpc.orders.get_order(order["id"])["status"] == "in_production")
                # a line from the sandbox distributor, shipped: its purchase order is sent to
                # the sandbox and acknowledged
                bought = order_payload()
                bought["lines"] = [dict(bought["lines"][0], distributor="sandbox")]
                bought["shippings"][0]["lines"] = [{"sku": "MUG-1", "quantity": 3}]
                bought = rpc.orders.place_order(bought)
                rpc.orders.accept_order(bought["id"])
                rpc.orders.ship_shipping(bought["id"], bought["shippings"][0]["id"])
                (po,) = eventually(
                    lambda: [p for p in rpc.fulfilment.purchase_orders_for_order(bought["id"])
                             if p["status"] == "acknowledged"], timeout=60,
                )  # fmt: skip
                taken = (tmp_path / "var" / "distributor" / "orders.jsonl").read_text()
                assert po["id"] in taken and po["channel"] == "api"
            # the README's curl examples, verbatim, with the admin key the first start made
            admin_key = (tmp_path / "var" / "admin-key").read_text().strip()
            env = dict(
                os.environ,
                OMS_API=f"http://127.0.0.1:{API_PORT}",
                OMS_VAR_DIR=str(tmp_path / "var"),
            )
            printed = run_session(readme_example("export OMS_API"), tmp_path, env)
            accepted, listing, log_page = documents(printed)
            assert accepted["status"] == "accepted"
            assert accepted["history"][-1]["actor"] == "admin"  # the key's name
            assert accepted["id"] in [o["id"] for o in listing["orders"]]
            assert log_page["events"][0]["type"] == "orders.order_placed"
            assert log_page["next"].startswith("/v1/events/orders?after=")
            # the e-mails the orders sent, caught under var/mail, and a tracking page from one
            (tmp_path / ".venv").symlink_to(ROOT / ".venv")
            eventually(lambda: len(list((tmp_path / "var" / "mail").glob("*.eml"))) >= 4)
            printed = run_session(readme_example("LINK=$("), tmp_path, env)
            assert f"Order {order['reference']} accepted" in printed
            assert re.search(r"<title>Order \d{4}-\d{6}</title>", printed)
            every_process_serves_its_metrics(tmp_path / "var" / "prometheus.yml")
        finally:
            assert interrupt(first) == 0
        text = log_path.read_text()
        assert "The order-management system is running" in text
        assert f"Your first admin API key (kept in var/admin-key): {admin_key}" in text
        assert f"http://127.0.0.1:{API_PORT}/docs" in text
        assert (tmp_path / "var" / "orders.sqlite3").exists()

        second = start(amqp_uri, tmp_path / "var", log)
        try:
            eventually(lambda: log_path.read_text().count("is running") == 2, timeout=120)
            assert log_path.read_text().count("Your first admin API key") == 1  # made once
            with ClusterRpcProxy(config, timeout=15, context_data=acting("tests")) as rpc:
                assert rpc.orders.get_order(order["id"])["status"] == "in_production"
                assert rpc.billing.invoices_for_order(order["id"]) == invoice
        finally:
            assert interrupt(second) == 0
    assert "stopped." in log_path.read_text()


def scrape(target: str) -> dict:
    """{(name, labels…): value} of every sample a Prometheus endpoint serves."""
    text = urllib.request.urlopen(f"http://{target}/metrics", timeout=10).read().decode()
    return {
        (sample.name, *sorted(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def every_process_serves_its_metrics(config_path) -> None:
    """Each service process and the gateway answer Prometheus on the address the scrape
    configuration names, each with its own work counted."""
    targets = re.findall(r'"(127\.0\.0\.1:\d+)"', config_path.read_text())
    scraped = [scrape(t) for t in targets]
    assert len(scraped) == 6  # five services and the gateway (the broker was not ours here)

    def value(name, **labels):
        wanted = sorted(labels.items())
        return sum(
            v for samples in scraped for (n, *ls), v in samples.items()
            if n == name and all(item in ls for item in wanted)
        )  # fmt: skip

    for service in ("orders", "billing", "production", "fulfilment", "notify"):
        assert value("oms_events_stored_total", service=service) > 0, service
        assert value("oms_log_position", service=service) > 0, service
        assert value("oms_relay_lag", service=service) == 0 or service == "notify"
    assert value("oms_events_published_total", service="orders") > 0
    assert value("oms_events_consumed_total", service="billing", upstream="orders") > 0
    assert value("oms_reaction_seconds_count", service="billing", upstream="orders") > 0
    assert value("oms_rpc_seconds_count", service="orders", method="place_order") >= 2
    assert value("oms_sends_total", service="fulfilment", channel="api", outcome="sent") >= 1
    assert value("oms_http_seconds_count", operation="acceptOrder", status="200") >= 1
    assert any(n == "oms_follower_lag" for samples in scraped for (n, *_) in samples)


def alive(pid: int) -> bool:
    return _pid_alive(pid)


def test_run_refuses_a_second_run_and_stops_within_seconds_with_the_broker_dead(tmp_path):
    """The run starts its own broker. Killed with SIGKILL, it leaves its services and broker
    running: a second run on the same var/ refuses while they live; once they are gone a third
    run adopts the broker. With the broker then killed, Ctrl-C and a SIGTERM during the stop end
    everything — services, broker and its epmd — well before nameko's reconnect loops would."""
    var, log_path = tmp_path / "var", tmp_path / "run.log"
    uri = f"pyamqp://guest:guest@127.0.0.1:{free_port()}/"
    try:
        run_kill_and_refuse(var, log_path, uri)
    finally:  # whatever failed, nothing this test started outlives it
        for pid in holders(var / "run.lock"):
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        if (var / "rabbitmq" / "node.json").exists():
            RabbitNode(var / "rabbitmq").stop()


def run_kill_and_refuse(var, log_path, uri) -> None:
    with open(log_path, "ab") as log:
        first = start(uri, var, log)
        eventually(lambda: "is running" in log_path.read_text(), timeout=180)
        node = RabbitNode(var / "rabbitmq")
        assert node.is_running()
        # on its own broker every service logs in as its own user (the management API lists
        # connections a few seconds late)
        logins = lambda: {c["user"] for c in management(node, "GET", "connections")}  # noqa: E731
        eventually(lambda: logins() == {*SERVICES, "gateway"}, timeout=30)
        # its own broker serves RabbitMQ's Prometheus metrics, named in the scrape configuration
        assert any(
            name.startswith("rabbitmq_") for name, *_ in scrape(f"127.0.0.1:{node.prometheus_port}")
        )
        assert f"127.0.0.1:{node.prometheus_port}" in (var / "prometheus.yml").read_text()
        first.kill()
        first.wait()
        orphans = holders(var / "run.lock")
        # the services, the gateway and the mail, SMS, distributor and webhook receiver
        # stand-ins hold var/ though their run is gone
        assert len(orphans) == 10

        refused = start(uri, var, log)
        assert refused.wait(timeout=60) == 1
        assert "is in use by another `make run`" in log_path.read_text()
        for pid in orphans:
            os.kill(pid, signal.SIGKILL)
        eventually(lambda: not any(alive(p) for p in orphans))

        third = start(uri, var, log)
        eventually(lambda: log_path.read_text().count("is running") == 2, timeout=180)
        services = holders(var / "run.lock")
        services.remove(third.pid)
        assert len(services) == 10
        node.kill()  # the broker dies under the running system
        third.send_signal(signal.SIGINT)
        time.sleep(1)
        third.send_signal(signal.SIGTERM)  # impatient: must hurry the stop, not orphan anything
        assert third.wait(timeout=45) == 0
    assert not any(alive(p) for p in services)
    assert not node.is_running()
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", node.epmd_port)) != 0  # its epmd is gone too
    assert "stopped." in log_path.read_text()
