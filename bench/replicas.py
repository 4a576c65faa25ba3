"""`make bench`, part 9: billing's replicas sharing the orders stream (shared/segments.py).

A backlog of N orders placed and accepted (2N orders events: N accounts opened, N invoices issued)
waits in orders' PostgreSQL store, its service running; then k billing processes start on a fresh
billing database and catch it up. Measured, for one replica with the stream not cut
(`OMS_FOLLOWER_SEGMENTS=1`, as before segments existed), and for 1, 2 and 3 replicas with 12
segments: the seconds from starting the processes to the last invoice stored (their start-up, ~2
s, included; leases of 3 s, so a joining replica gets its share within a second), invoices per
second, and each replica's share of the reactions (from its /metrics) and CPU seconds. Every
replica pulls the whole stream and does its own segments, so pulls grow with replicas while
reactions are split; orders' CPU (answering the pulls) and how many cores the whole machine was
busy are given beside. The figures are from one run on this 2-core machine, where orders, the
broker, PostgreSQL and the replicas share the cores.

    python -m bench.replicas [--orders 600]
"""

import eventlet

eventlet.monkey_patch()

import argparse  # noqa: E402
import json  # noqa: E402
import re  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import urllib.request  # noqa: E402
from pathlib import Path  # noqa: E402

import sqlalchemy as sa  # noqa: E402

from bench.system import ROOT, Services, cpu_seconds, machine_busy_seconds  # noqa: E402
from oms.infra import free_port  # noqa: E402
from oms.postgres import PostgresCluster  # noqa: E402
from oms.rabbitmq import RabbitNode  # noqa: E402
from services.orders.application import OrdersApplication  # noqa: E402
from services.orders.schemas import OrderIn  # noqa: E402
from shared import context  # noqa: E402
from shared.validation import load  # noqa: E402
from tests.support import order_payload  # noqa: E402

RUNS = (("1 replica, stream not cut", 1, 1), *((f"{k} × 12 segments", k, 12) for k in (1, 2, 3)))


def backlog(url: str, n: int) -> None:
    orders = OrdersApplication(url)
    with context.bound(actor="bench", role="admin"):
        placed = orders.place_many([load(OrderIn, order_payload()) for _ in range(n)], "bench")
        for order in placed:
            orders.accept_order(str(order.id), "bench")
    orders.close()


def catch_up(services: Services, url: str, replicas: int, segments: int, n: int, logs: Path):
    """Start `replicas` billing processes on the empty store at `url`; time them to N invoices."""
    env = services._env()
    env.update(OMS_BILLING_DATABASE_URL=url, OMS_FOLLOWER_SEGMENTS=str(segments))
    env.update(OMS_FOLLOWER_LEASE_SECONDS="3", OMS_LOG_LEVEL="WARNING")
    procs, metrics = [], []
    orders_pid = services.procs["orders"].pid
    orders_cpu, busy = cpu_seconds(orders_pid, with_children=False), machine_busy_seconds()
    started = time.monotonic()
    for i in range(replicas):
        metrics.append(f"127.0.0.1:{free_port()}")
        own = dict(env, OMS_INSTANCE=f"billing-{i + 1}", OMS_METRICS_ADDRESS=metrics[-1])
        own["OMS_HTTP_ADDRESS"] = f"127.0.0.1:{free_port()}"
        with open(logs / f"billing-{segments}-{replicas}-{i + 1}.log", "ab") as log:
            procs.append(subprocess.Popen([sys.executable, "-m", "oms.serve", "billing"],
                                          env=own, cwd=ROOT, stdout=log, stderr=log))  # fmt: skip
    engine = sa.create_engine(url)
    try:
        while invoices(engine) < n:
            if any(p.poll() is not None for p in procs):
                raise RuntimeError("a billing replica exited")
            if time.monotonic() - started > 600:
                raise RuntimeError(f"{invoices(engine)}/{n} invoices after 600 s")
            eventlet.sleep(0.1)
        seconds = time.monotonic() - started
        shares = [reactions(address) for address in metrics]
        cpu = [cpu_seconds(p.pid, with_children=False) for p in procs]
        orders_cpu = cpu_seconds(orders_pid, with_children=False) - orders_cpu
        busy = (machine_busy_seconds() - busy) / seconds  # of 2 cores here
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(30)
        engine.dispose()
    return {"seconds": round(seconds, 2), "invoices_per_s": round(n / seconds, 1),
            "reactions_by_replica": shares, "cpu_s_by_replica": [round(c, 1) for c in cpu],
            "orders_cpu_s": round(orders_cpu, 1), "machine_busy_cores": round(busy, 2)}  # fmt: skip


def invoices(engine) -> int:
    with engine.connect() as conn:
        if not sa.inspect(conn).has_table("billing_documents"):
            return 0
        query = "SELECT count(*) FROM billing_documents WHERE kind = 'invoice'"
        return conn.execute(sa.text(query)).scalar_one()


def reactions(address: str) -> int:
    with urllib.request.urlopen(f"http://{address}/metrics", timeout=10) as response:
        text = response.read().decode()
    found = re.search(r'^oms_reaction_seconds_count\{service="billing",upstream="orders"\} (\S+)$',
                      text, re.M)  # fmt: skip
    return int(float(found.group(1))) if found else 0


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--orders", type=int, default=600)
    n = parser.parse_args(argv).orders
    with tempfile.TemporaryDirectory(prefix="oms-bench-replicas-") as tmp:
        work = Path(tmp)
        rabbit, postgres = RabbitNode(work / "rabbitmq"), PostgresCluster(work / "postgres")
        rabbit.start()
        postgres.start()
        services = None
        try:
            urls = {"orders": postgres.create_database("orders")}
            backlog(urls["orders"], n)
            services = Services(rabbit.amqp_uri, urls, work / "logs", names=("orders",))
            services.start()
            results = {}
            for i, (name, replicas, segments) in enumerate(RUNS):
                url = postgres.create_database(f"billing_{i}")
                results[name] = catch_up(services, url, replicas, segments, n, work / "logs")
                print(f"{name:<28} {json.dumps(results[name])}", flush=True)
        finally:
            if services is not None:
                services.stop()
            postgres.stop()
            rabbit.kill()
            rabbit.stop()
    print(json.dumps({"orders": n, "postgres": PostgresCluster.SETTINGS, "runs": results}))


if __name__ == "__main__":
    main()
