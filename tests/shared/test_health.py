"""The probes' endpoints (shared/health.py), asked over real HTTP on the process's one server beside
`/metrics`: ready while a started service's store answers, live while its loops beat."""

import json
import shutil
import socket
import urllib.error
import urllib.request

import eventlet
import pytest

from services.orders.application import OrdersApplication
from shared import health
from shared.watchdog import Watched
from tests.support import System, eventually


@pytest.fixture(scope="module")
def server():
    return f"http://{health.serve('127.0.0.1:0')}"  # the process's server (port 0: a free one)


def get(url: str) -> tuple[int, dict | str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as answer:
            status, body = answer.status, answer.read().decode()
    except urllib.error.HTTPError as error:
        status, body = error.code, error.read().decode()
    is_json = body.startswith("{")
    return status, json.loads(body) if is_json else body


@pytest.fixture
def registered():
    owners = []

    def register(owner, checks=None, loops=()):
        owners.append(owner)
        health.register(owner, checks, loops)

    yield register
    for owner in owners:
        health.forget(owner)


def test_a_started_service_whose_store_answers_is_ready_and_live(server, registered, tmp_path):
    app = OrdersApplication(f"sqlite:///{tmp_path}/orders.sqlite3")
    beating = Watched("follower orders-test <- billing", stuck_after=60)
    registered("orders-test", {"store": health.store_answers(app.engine)}, [beating])

    status, body = get(f"{server}/readyz")
    assert status == 200 and "orders-test.store" in body["checks"]
    status, body = get(f"{server}/livez")
    assert status == 200 and body["silent_seconds"]["follower orders-test <- billing"] < 60
    status, text = get(f"{server}/metrics")  # the metrics are still served, by the same server
    assert status == 200 and "oms_events_stored_total" in text
    assert get(f"{server}/nothing")[0] == 404


def test_a_loop_that_stops_beating_makes_the_process_not_live(server, registered):
    silent = Watched("follower stuck <- orders", stuck_after=0.05)  # nobody beats it
    registered("stuck-test", loops=[silent])
    eventlet.sleep(0.2)

    status, body = get(f"{server}/livez")
    assert status == 503 and body["status"] == "silent"
    assert [s["loop"] for s in body["silent"]] == ["follower stuck <- orders"]
    assert body["silent"][0]["silent_seconds"] > body["silent"][0]["limit_seconds"] == 0.05

    silent.beat()  # it moves again (the watchdog restarted its work)
    assert get(f"{server}/livez")[0] == 200


def test_a_store_that_does_not_answer_makes_the_service_not_ready(server, registered, tmp_path):
    (tmp_path / "db").mkdir()
    app = OrdersApplication(f"sqlite:///{tmp_path}/db/orders.sqlite3")
    registered("unreachable-test", {"store": health.store_answers(app.engine)})
    assert get(f"{server}/readyz")[0] == 200

    app.engine.dispose()  # no connection is kept open, and the database goes away
    shutil.rmtree(tmp_path / "db")

    status, body = get(f"{server}/readyz")
    assert status == 503 and body["status"] == "not ready"
    assert "OperationalError" in body["failing"]["unreachable-test.store"]


def test_the_gateway_is_ready_while_its_http_server_accepts_connections(server, registered):
    listening = socket.socket()
    listening.bind(("127.0.0.1", 0))
    listening.listen()
    address = f"0.0.0.0:{listening.getsockname()[1]}"  # asked on loopback
    registered("gateway-test", {"http": health.accepts_connections(address)})
    assert get(f"{server}/readyz")[0] == 200

    listening.close()
    status, body = get(f"{server}/readyz")
    assert status == 503 and "gateway-test.http" in body["failing"]


def test_a_process_where_nothing_has_started_is_not_ready(server, monkeypatch):
    monkeypatch.setattr(health, "_checks", {})
    monkeypatch.setattr(health, "_loops", {})
    status, body = get(f"{server}/readyz")
    assert status == 503 and body["failing"] == {"process": "no service has started yet"}
    assert get(f"{server}/livez")[0] == 200  # alive all the same: nothing is stuck


def test_a_running_service_registers_its_store_and_its_followers_and_forgets_them_when_stopped(
    server, amqp_uri, tmp_path
):
    urls = {"billing": f"sqlite:///{tmp_path}/billing.sqlite3"}
    with System(amqp_uri, urls, services=("billing",)):
        status, body = eventually(lambda: (r := get(f"{server}/readyz"))[0] == 200 and r)
        assert "billing.store" in body["checks"]
        status, body = get(f"{server}/livez")
        assert status == 200 and "follower billing <- orders" in body["silent_seconds"]
    status, body = get(f"{server}/livez")
    assert "follower billing <- orders" not in body["silent_seconds"]
    assert "billing.store" not in get(f"{server}/readyz")[1].get("checks", [])
