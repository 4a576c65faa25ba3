"""Billing runs as two, then three replicas on PostgreSQL while orders pour in; one is SIGKILLed.
The orders stream is cut into segments by order (shared/segments.py), leased to the replicas in
billing's own database: they share it out, the third takes its part when it joins, and the killed
one's segments are taken over once its leases run out. Every accepted order ends with exactly one
invoice, the numbers have no gap and no repeat, `oms verify` finds no breach, and every replica
did some of the work (its own reaction count, scraped from its metrics)."""

import re
import time
import urllib.request
import uuid

import sqlalchemy as sa

from oms.infra import free_port
from shared.settings import SERVICES
from tests.faults.burst import Burst, assert_verified
from tests.support import System, eventually, serve_subprocess, stop_process

ORDERS = 90
SEGMENTS = 12


def test_billing_replicas_share_the_stream_and_take_over_a_killed_ones_part(
    tmp_path, amqp_uri, postgres
):
    run = uuid.uuid4().hex[:8]
    urls = {s: postgres.create_database(f"replicas_{run}_{s}") for s in SERVICES}
    leases = sa.create_engine(urls["billing"])
    others = tuple(s for s in SERVICES if s != "billing")
    replicas, metrics = {}, {}

    def start(n: int) -> None:
        metrics[n] = f"127.0.0.1:{free_port()}"
        replicas[n] = serve_subprocess(
            ["billing"], amqp_uri, urls, log_path=tmp_path / f"billing-{n}.log",
            INSTANCE=f"billing-{n}", METRICS_ADDRESS=metrics[n], FOLLOWER_SEGMENTS=str(SEGMENTS),
        )  # fmt: skip

    def holders() -> dict[str, int]:
        """Live leases on the orders stream, by replica."""
        with leases.connect() as conn:
            if not sa.inspect(conn).has_table("billing_segment_lease"):
                return {}  # no replica has started yet
            rows = conn.execute(
                sa.text(
                    "SELECT owner FROM billing_segment_lease"
                    " WHERE upstream = 'orders' AND owner IS NOT NULL AND expires > :now"
                ),
                {"now": time.time()},
            ).all()
        counts: dict[str, int] = {}
        for (owner,) in rows:
            replica = owner.split(":", 1)[0]
            counts[replica] = counts.get(replica, 0) + 1
        return counts

    try:
        with System(amqp_uri, urls, others) as system:
            start(1)
            start(2)
            eventually(lambda: holders() == {"billing-1": 6, "billing-2": 6}, timeout=60)
            burst = Burst(system.config, orders=ORDERS, callers=6, pace=0.05).start()

            eventually(lambda: burst.done >= ORDERS // 4, timeout=180)
            start(3)  # a third replica joins: each gives back what is over its share
            shared_out = {"billing-1": 4, "billing-2": 4, "billing-3": 4}
            eventually(lambda: holders() == shared_out, timeout=60)

            eventually(lambda: burst.done >= ORDERS // 2, timeout=180)
            done_by_2 = reactions(metrics[2])
            replicas[2].kill()  # SIGKILL: its leases run out, the others take its segments
            replicas[2].wait()
            eventually(lambda: holders() == {"billing-1": 6, "billing-3": 6}, timeout=60)

            burst.wait()
            assert burst.done == ORDERS
            assert_verified(amqp_uri)  # one invoice per accepted order, followers caught up
            with system.rpc() as rpc:
                invoices = [rpc.billing.invoices_for_order(o) for o in burst.accepted]
            assert [len(found) for found in invoices] == [1] * ORDERS
            numbers = sorted(int(re.findall(r"\d+", i[0]["number"])[-1]) for i in invoices)
            assert numbers == list(range(numbers[0], numbers[0] + ORDERS))  # no gap, no repeat
            assert done_by_2 > 0
            assert reactions(metrics[1]) > 0
            assert reactions(metrics[3]) > 0
    finally:
        for process in replicas.values():
            stop_process(process)
        leases.dispose()


def reactions(address: str) -> float:
    """The orders events a billing replica reacted to (its `oms_reaction_seconds` count)."""
    with urllib.request.urlopen(f"http://{address}/metrics", timeout=10) as response:
        text = response.read().decode()
    pattern = r'^oms_reaction_seconds_count\{service="billing",upstream="orders"\} (\S+)$'
    found = re.search(pattern, text, re.M)
    return float(found.group(1)) if found else 0.0
