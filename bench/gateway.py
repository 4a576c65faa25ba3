"""`make bench`, part 4: what the HTTP gateway adds over calling a service directly over RPC.

The five services and the gateway run as in production (one process each, SQLite, a throwaway
RabbitMQ). The same calls are made both ways, interleaved one by one so both see the same
machine (each way first every other time; after each write the system is let settle, so neither
way pays for the reactions to the other's order): a read (`get_order` / `GET /v1/orders/{id}`)
and a creating write (`place_order` / `POST /v1/orders`). Reported: p50 and p99 of each way and
of the difference of each pair.
"""

import eventlet

eventlet.monkey_patch()

import argparse  # noqa: E402
import shutil  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import requests  # noqa: E402
from nameko.standalone.rpc import ClusterRpcProxy  # noqa: E402

from bench.system import Services, bench_actor, percentile  # noqa: E402
from oms.rabbitmq import RabbitNode  # noqa: E402
from shared.settings import SERVICES  # noqa: E402
from tests.support import create_vhost, order_payload  # noqa: E402

QUIET = 0.15  # seconds after a write for the reactions to it to finish


def timed(call) -> float:
    started = time.perf_counter()
    call()
    return (time.perf_counter() - started) * 1000


def wait_for_api(url: str, services: Services, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        services.check_alive()
        try:
            if requests.get(f"{url}/v1/health", timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        eventlet.sleep(0.3)
    raise RuntimeError("the gateway did not answer")


def measure(rpc, http: requests.Session, url: str, n: int) -> dict:
    order = rpc.orders.place_order(order_payload())
    path = f"{url}/v1/orders/{order['id']}"
    figures = {"read rpc": [], "read http": [], "write rpc": [], "write http": []}

    def http_read():
        assert http.get(path, timeout=10).status_code == 200

    def http_write():
        assert http.post(f"{url}/v1/orders", json=order_payload(), timeout=10).status_code == 201

    for _ in range(20):  # warm both ways up
        rpc.orders.get_order(order["id"])
        http_read()
    ways = {
        "read rpc": lambda: rpc.orders.get_order(order["id"]),
        "read http": http_read,
        "write rpc": lambda: rpc.orders.place_order(order_payload()),
        "write http": http_write,
    }
    for i in range(n):
        # each way goes first every other time, and every call starts on a quiet system (a
        # placed order sets four services reacting: a call right after it would pay for that)
        for kind in ("read", "write"):
            first, second = ("rpc", "http") if i % 2 == 0 else ("http", "rpc")
            for way in (first, second):
                figures[f"{kind} {way}"].append(timed(ways[f"{kind} {way}"]))
                eventlet.sleep(QUIET if kind == "write" else 0)
    return figures


def report(figures: dict) -> None:
    print("\n## gateway overhead over direct RPC (SQLite; sequential, interleaved)")
    print("| call | RPC p50 | HTTP p50 | overhead p50 | RPC p99 | HTTP p99 | overhead p99 |")
    print("|---|---|---|---|---|---|---|")
    for kind in ("read", "write"):
        direct, edge = figures[f"{kind} rpc"], figures[f"{kind} http"]
        extra = [h - r for h, r in zip(edge, direct, strict=True)]
        cells = [percentile(v, 50) for v in (direct, edge, extra)]
        cells += [percentile(v, 99) for v in (direct, edge, extra)]
        name = "get_order / GET /v1/orders/{id}" if kind == "read" else "place_order / POST"
        print(f"| {name} ({len(direct)}) | " + " | ".join(f"{c:.1f} ms" for c in cells) + " |")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=300, help="of each kind, each way")
    args = parser.parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="oms-bench-gw-"))
    node = RabbitNode(workdir / "rabbitmq")
    node.start()
    services = None
    try:
        create_vhost(node, "gw")
        uri = f"{node.amqp_uri}gw"
        urls = {s: f"sqlite:///{workdir}/{s}.sqlite3" for s in (*SERVICES, "gateway")}
        services = Services(uri, urls, workdir / "logs", names=(*SERVICES, "gateway"))
        services.start()
        services.wait_ready()
        url = f"http://{services.api_address}"
        wait_for_api(url, services)
        with ClusterRpcProxy({"AMQP_URI": uri}, timeout=30, context_data=bench_actor()) as rpc:
            key = rpc.gateway.create_key("bench", "admin")["key"]
            http = requests.Session()
            http.headers["Authorization"] = f"Bearer {key}"
            report(measure(rpc, http, url, args.calls))
    finally:
        if services is not None:
            services.stop()
        node.stop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
