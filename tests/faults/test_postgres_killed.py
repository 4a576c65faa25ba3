"""PostgreSQL's postmaster is SIGKILLed in the middle of a burst and started again: the services
reconnect by themselves (no restart), and nothing is lost or doubled — `oms verify` agrees."""

import eventlet

from oms.postgres import PostgresCluster
from shared.settings import SERVICES
from tests.faults.burst import Burst, assert_verified
from tests.support import System, eventually

ORDERS = 60


def test_a_postgres_crash_mid_burst_loses_and_doubles_nothing(tmp_path, amqp_uri):
    cluster = PostgresCluster(tmp_path / "postgres")  # its own: this test kills it
    cluster.start()
    try:
        urls = {s: cluster.create_database(f"crash_{s}") for s in SERVICES}
        with System(amqp_uri, urls) as system:
            burst = Burst(system.config, orders=ORDERS, callers=8).start()
            eventually(lambda: burst.done >= ORDERS // 4, timeout=120)
            cluster.kill()
            eventlet.sleep(2)
            cluster.restart_after_crash()
            burst.wait()
            assert burst.done == ORDERS
            assert burst.failures, "the crash happened while orders were being taken"
            assert any("Unavailable" in f for f in burst.failures)  # a typed answer, not a hang
            assert_verified(amqp_uri)
    finally:
        cluster.stop()
