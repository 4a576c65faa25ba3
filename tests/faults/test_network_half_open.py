"""The network between the services and RabbitMQ goes bad — latency, then half-open (nothing moves,
nothing closes), then every connection reset — while storefronts keep ordering. Heartbeats detect
the dead connections and the services reconnect; callers get errors, not hangs; requests the
broker redelivers take effect once — `oms verify` agrees."""

import time

import eventlet

from shared.settings import SERVICES
from tests.faults.burst import Burst, assert_verified
from tests.faults.proxy import FaultProxy
from tests.support import System, eventually, wait_until_answers

ORDERS = 40


def test_a_half_open_network_to_the_broker_is_detected_and_nothing_doubles(
    rabbit, amqp_uri, sqlite_store, tmp_path
):
    vhost = amqp_uri.rsplit("/", 1)[1]
    proxy = FaultProxy(rabbit.amqp_port, tmp_path / "proxy")
    try:
        with System(proxy.uri + vhost, sqlite_store, HEARTBEAT=2) as system:
            direct = dict(system.config, AMQP_URI=amqp_uri)  # the storefronts' network is fine
            burst = Burst(direct, orders=ORDERS, callers=4, pace=0.2).start()
            eventually(lambda: burst.done >= 10, timeout=60)

            proxy.set("latency", 0.2)
            eventlet.sleep(3)
            proxy.set("blackhole")
            cut = time.time()
            eventlet.sleep(12)  # several heartbeats: long enough for both ends to give up
            proxy.set("pass")
            # the services noticed their connections were dead and opened new ones
            eventually(lambda: [t for t in proxy.opened() if t > cut], timeout=60)
            eventually(lambda: burst.done >= 25, timeout=120)
            proxy.reset()
            for service in SERVICES:  # each one's RPC consumer came back after the resets
                wait_until_answers(system, service)
            burst.wait()

            assert burst.done == ORDERS
            assert any("RpcTimeout" in f for f in burst.failures)  # an error, not a hang
            assert_verified(amqp_uri)
    finally:
        proxy.close()
