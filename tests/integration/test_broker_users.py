"""Least privilege on the broker (oms/broker_users.py): each service and client role logs in as its
own user, what it must do works, and what it must not is refused with ACCESS_REFUSED (403)."""

import os
import subprocess
import uuid

import pytest
from amqp import Message
from amqp.exceptions import AccessRefused
from kombu import Connection
from nameko.standalone.rpc import ClusterRpcProxy

from oms.infra import RABBIT_BIN
from shared import actors
from shared.settings import SERVICES
from tests.support import eventually, management, order_payload, user_uri

RPC = "nameko-rpc"


def channel_of(uri: str):
    conn = Connection(uri)
    conn.connect()
    return conn, conn.channel()


def refused(uri: str, action) -> AccessRefused:
    """The broker's refusal of `action(channel)` done as the user of `uri` (a publish is
    asynchronous: a synchronous call after it brings the refusal back)."""
    conn, channel = channel_of(uri)
    try:
        with pytest.raises(AccessRefused) as caught:
            action(channel)
            channel.exchange_declare(RPC, "topic", passive=True)
        assert caught.value.code == 403 and "ACCESS_REFUSED" in str(caught.value)
        return caught.value
    finally:
        conn.release()


def allowed(uri: str, action) -> None:
    conn, channel = channel_of(uri)
    try:
        action(channel)
        channel.exchange_declare(RPC, "topic", passive=True)  # still open: nothing refused
    finally:
        conn.release()


def publish(exchange: str, key: str):
    return lambda channel: channel.basic_publish(Message("{}"), exchange=exchange, routing_key=key)


def rpc_as(uri: str, role: str):
    context = actors.rpc_context(os.environ["OMS_ACTOR_SECRET"], "shop", role)
    return ClusterRpcProxy({"AMQP_URI": uri}, timeout=30, context_data=context)


@pytest.fixture(scope="module")
def uri(sqlite_system):
    """The vhost the module's services run on: `uri(user)` is its URI for that user."""
    return lambda user: user_uri(sqlite_system.amqp_uri, user)


def test_the_flow_runs_with_every_service_on_its_own_user(sqlite_system, rabbit, uri):
    with rpc_as(uri("storefront"), "storefront") as shop:
        order = shop.orders.place_order(order_payload())
        assert shop.orders.get_order(order["id"])["status"] == "new"
    with rpc_as(uri("backoffice"), "operator") as desk:
        desk.orders.accept_order(order["id"])
        (invoice,) = eventually(lambda: desk.billing.invoices_for_order(order["id"]))
        assert invoice["kind"] == "invoice"
        eventually(lambda: desk.orders.get_order(order["id"])["status"] == "in_production")
    vhost = sqlite_system.amqp_uri.rsplit("/", 1)[1]

    def users():  # the management API lists connections a few seconds late
        return {c["user"] for c in management(rabbit, "GET", f"vhosts/{vhost}/connections")}

    assert eventually(lambda: users() >= set(SERVICES))
    assert "guest" not in users()


def test_a_storefront_may_call_only_the_storefront_methods(uri):
    storefront = uri("storefront")
    for key in ("billing.pay_invoice", "billing.record_payment", "orders.accept_order"):
        error = refused(storefront, publish(RPC, key))
        assert f"access to topic '{key}'" in str(error)
    # (what it may call, it calls: the flow above)


def test_a_storefront_cannot_bind_a_queue_to_read_others_requests(uri):
    def snoop(channel):
        name = f"rpc.reply-shop-{uuid.uuid4()}"
        channel.queue_declare(name, auto_delete=True)
        channel.queue_bind(name, RPC, "orders.*")

    assert "access to topic 'orders.*'" in str(refused(uri("storefront"), snoop))


def test_a_service_publishes_only_to_its_own_events_exchange(uri):
    billing = uri("billing")
    assert "exchange 'orders.events'" in str(refused(billing, publish("orders.events", "x")))
    allowed(billing, publish("billing.events", "invoice_issued"))  # its own (no queue: dropped)
    refused(billing, publish("billing.events", "orders.order_accepted"))  # not an event name
    refused(billing, lambda channel: channel.exchange_delete("orders.events"))
    refused(billing, publish("", "rpc-orders"))  # the default exchange, straight to a queue


def test_a_service_cannot_read_another_services_queue(uri):
    notify = uri("notify")
    consume = lambda channel: channel.basic_consume("rpc-orders", callback=print)  # noqa: E731
    assert "queue 'rpc-orders'" in str(refused(notify, consume))
    refused(notify, lambda channel: channel.queue_declare("billing.from.orders", durable=True))
    refused(notify, lambda channel: channel.queue_purge("billing.from.orders"))


def test_an_integrator_binds_its_own_queues_to_the_events_and_publishes_nowhere(uri):
    integrator = uri("integrator")

    def own_queue(channel):
        name = f"integrator.erp-{uuid.uuid4().hex[:6]}"
        channel.exchange_declare("orders.events", "topic", durable=True, passive=True)
        channel.queue_declare(name, auto_delete=True)
        channel.queue_bind(name, "orders.events", "order_accepted")
        channel.basic_consume(name, callback=print)

    allowed(integrator, own_queue)
    refused(integrator, lambda channel: channel.queue_declare("erp.orders", auto_delete=True))
    refused(integrator, lambda channel: channel.exchange_declare("orders.events", "topic",
                                                                 durable=True))  # fmt: skip
    for exchange, key in (("orders.events", "order_accepted"), (RPC, "orders.get_order"),
                          ("", "integrator.erp")):  # fmt: skip
        refused(integrator, publish(exchange, key))


def test_an_integrator_cannot_call_rpc(uri):
    with pytest.raises(AccessRefused), rpc_as(uri("integrator"), "storefront") as rpc:
        rpc.orders.get_order("x")


def test_the_operators_cli_calls_anything_and_tails_the_events(uri):
    with rpc_as(uri("oms"), "admin") as rpc:
        assert rpc.orders.log_status()["last_position"] >= 0

    def tail(channel):
        name = f"oms-tail-{uuid.uuid4().hex[:8]}"
        channel.queue_declare(name, exclusive=True, auto_delete=True)
        for service in SERVICES:
            channel.exchange_declare(f"{service}.events", "topic", durable=True, passive=True)
            channel.queue_bind(name, f"{service}.events", "#")

    allowed(uri("oms"), tail)
    refused(uri("oms"), publish("orders.events", "order_accepted"))


def test_the_node_lets_guest_log_in_over_loopback_only(rabbit):
    """RabbitMQ's default, kept: guest is refused on any connection not over loopback (the test
    node listens on loopback only, so this reads the node's effective setting)."""
    command = [str(RABBIT_BIN / "rabbitmqctl"), "-n", rabbit.name, "eval",
               "application:get_env(rabbit, loopback_users)."]  # fmt: skip
    answer = subprocess.run(command, env=rabbit._env(), capture_output=True, text=True, timeout=60)
    assert answer.stdout.strip() == '{ok,[<<"guest">>]}', answer
