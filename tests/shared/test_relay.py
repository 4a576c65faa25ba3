"""The relay: one active per service on PostgreSQL, and its position survives restarts."""

from uuid import uuid4

from kombu import Connection, Queue

from services.billing.application import BillingApplication
from services.billing.domain import Account
from services.orders.application import OrdersApplication
from services.orders.schemas import OrderIn
from shared.relay import Relay, event_exchange
from shared.validation import load
from tests.support import order_payload


def test_only_one_relay_per_service_holds_the_lead_on_postgresql(store, amqp_uri):
    app = OrdersApplication(store["orders"])
    first, second = Relay(app, amqp_uri), Relay(app, amqp_uri)
    assert first._leader.acquire()
    assert second._leader.acquire() is (
        app.dialect == "sqlite"
    )  # SQLite: one process owns the file
    first._leader.release()
    assert second._leader.acquire()
    second._leader.release()


def test_the_relay_publishes_in_log_order_and_resumes_from_its_durable_position(store, amqp_uri):
    app = OrdersApplication(store["orders"])
    with Connection(amqp_uri) as conn:
        queue = Queue("integrator", exchange=event_exchange("orders"), routing_key="#")
        queue(conn.default_channel).declare()
        for _ in range(3):
            app.place_order(load(OrderIn(), order_payload()), "tests")
        assert Relay(app, amqp_uri).relay_pending() == 3
        app.place_order(load(OrderIn(), order_payload()), "tests")
        restarted = Relay(app, amqp_uri)
        assert restarted.position() == 3
        assert restarted.relay_pending() == 1
        received = []
        with conn.Consumer(queue, callbacks=[lambda body, msg: (received.append(body), msg.ack())]):
            while len(received) < 4:
                conn.drain_events(timeout=5)
    assert [e["sequence"] for e in received] == [1, 2, 3, 4]
    assert {e["type"] for e in received} == {"orders.order_placed"}


def test_a_log_of_events_that_are_not_published_moves_the_relay_on(store, amqp_uri):
    """Billing keeps private events (an account opened for a placed order): nothing to publish,
    and the relay's position still reaches the end of the log."""
    app = BillingApplication(store["billing"])
    for n in range(3):
        order = {"order_id": f"o{n}", "reference": f"2026-00000{n}", "client": {"name": "Ada"}}
        app.save(Account(id=uuid4(), order=dict(order, currency="EUR", lines=[], status="new")))
    relay = Relay(app, amqp_uri)
    assert relay.relay_pending() == 0
    assert relay.position() == app.last_position() == 3
