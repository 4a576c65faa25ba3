"""The relay: one leads per service (an advisory lock on PostgreSQL, a file lock on SQLite), it
checks its lead before every batch, its position only moves forward and survives restarts, and it
never skips a notification id that commits late."""

from uuid import uuid4

import eventlet
import sqlalchemy as sa
from kombu import Connection, Queue

from services.billing.application import BillingApplication
from services.billing.domain import Account
from services.orders.application import OrdersApplication
from services.orders.catalogue import Client
from services.orders.schemas import OrderIn
from shared.cloudevents import read_vector
from shared.relay import Relay, event_exchange
from shared.validation import load
from tests.support import order_payload


def test_only_one_relay_per_service_holds_the_lead(store, amqp_uri):
    app = OrdersApplication(store["orders"])
    first, second = Relay(app, amqp_uri), Relay(app, amqp_uri)
    assert first._leader.acquire()
    assert not second._leader.acquire()  # another process (or relay) on the same store waits
    assert second.relay_pending() == 0
    first.release()
    assert second._leader.acquire()
    second.release()


def test_the_relay_position_never_moves_back(store, amqp_uri):
    relay = Relay(OrdersApplication(store["orders"]), amqp_uri)
    relay.save_position(7, 6)
    relay.save_position(3, 3)  # a relay that lost the lead finishing an old batch
    assert relay.position() == 7
    assert relay.app.relay_state() == (7, 6)
    relay.save_position(9)
    assert relay.app.relay_state() == (9, 6)


def client(n: int) -> Client:
    details = {"name": f"Client {n}", "email": "c@example.com", "phone": "+44 20 7946 0000"}
    return Client(id=uuid4(), code=f"C{n}-{uuid4().hex[:6]}", details=details, actor="tests")


def test_a_relay_that_lost_its_lock_stops_before_its_next_batch(postgres, amqp_uri):
    """Its lock's session is killed mid-run; another relay takes over and publishes everything.
    The first must publish nothing more and must not drag the position back."""
    app = OrdersApplication(postgres.create_database(f"relay_{uuid4().hex[:8]}"))
    for n in range(6):
        app.save(client(n))
    first, second = Relay(app, amqp_uri, batch=1), Relay(app, amqp_uri, batch=1)
    assert first._leader.acquire()
    by_first, send = [], first.publish

    def publish(env):
        by_first.append((env["sequence"], first.position()))
        if len(by_first) == 1:
            with app.engine.connect() as conn:
                pid = first._leader._conn.execute(sa.text("SELECT pg_backend_pid()")).scalar()
                conn.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            assert second.relay_pending() == 6
        send(env)

    first.publish = publish
    first.relay_pending()
    assert by_first == [(1, 0)]  # then it saw it no longer leads
    assert first.position() == 6
    first.release()
    second.release()


def test_the_relay_never_skips_an_id_that_commits_after_a_later_one_was_taken(postgres, amqp_uri):
    """Notification ids commit in id order only because the eventsourcing-sqlalchemy recorder
    takes `LOCK TABLE … IN EXCLUSIVE MODE` before inserting (a private method of the library).
    An upgrade that drops it would let id 2 commit while id 1 is still open, and a relay reading
    then would move past id 1 for good: this test would see [2] instead of [1, 2]."""
    app = OrdersApplication(postgres.create_database(f"relay_{uuid4().hex[:8]}"))
    relay = Relay(app, amqp_uri)
    holding, letting_go = eventlet.event.Event(), eventlet.event.Event()

    def slow():
        with app.transaction():
            app.save(client(1))  # takes notification id 1, not committed yet
            holding.send()
            letting_go.wait()

    with Connection(amqp_uri) as conn:
        queue = Queue("integrator", exchange=event_exchange("orders"), routing_key="#")
        queue(conn.default_channel).declare()
        first = eventlet.spawn(slow)
        holding.wait()
        second = eventlet.spawn(app.save, client(2))
        eventlet.sleep(0.5)  # the second save had every chance to commit
        relay.relay_pending()  # a relay pass while id 1 is still open
        letting_go.send()
        first.wait()
        second.wait()
        relay.relay_pending()
        received = []
        with conn.Consumer(queue, callbacks=[lambda body, msg: (received.append(body), msg.ack())]):
            try:
                while len(received) < 2:
                    conn.drain_events(timeout=3)
            except TimeoutError:
                pass  # what came is all there is
    relay.release()
    assert [e["sequence"] for e in received] == [1, 2]


def test_the_relay_publishes_in_log_order_and_resumes_from_its_durable_position(store, amqp_uri):
    app = OrdersApplication(store["orders"])
    with Connection(amqp_uri) as conn:
        queue = Queue("integrator", exchange=event_exchange("orders"), routing_key="#")
        queue(conn.default_channel).declare()
        for _ in range(3):
            app.place_order(load(OrderIn(), order_payload()), "tests")
        relay = Relay(app, amqp_uri)
        assert relay.relay_pending() == 3
        relay.release()
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
    assert app.status()["last_published"] == 0  # nothing for any follower to see
    relay.release()


class QuietUpdates(OrdersApplication):
    """Orders whose client updates stay private, as billing's opened accounts do."""

    published = {k: v for k, v in OrdersApplication.published.items() if k is not Client.Updated}


def test_each_envelope_names_the_event_published_before_it_across_batches_and_restarts(
    store, amqp_uri
):
    """Private events between two published ones are no gap to a follower: the later envelope
    says which event came before it. The chain holds across batches and a restarted relay."""
    app = QuietUpdates(store["orders"])
    with Connection(amqp_uri) as conn:
        queue = Queue("integrator", exchange=event_exchange("orders"), routing_key="#")
        queue(conn.default_channel).declare()
        first = client(1)
        app.save(first)  # 1 published
        for n in range(3):  # 2, 3, 4 private
            first.update({"name": f"Ada {n}"}, "tests")
            app.save(first)
        app.save(client(2))  # 5 published
        relay = Relay(app, amqp_uri, batch=2)
        assert relay.relay_pending() == 2
        relay.release()
        first.update({"name": "Ada again"}, "tests")
        app.save(first)  # 6 private
        app.save(client(3))  # 7 published
        restarted = Relay(app, amqp_uri, batch=2)
        assert restarted.relay_pending() == 1
        restarted.release()
        received = []
        with conn.Consumer(queue, callbacks=[lambda body, msg: (received.append(body), msg.ack())]):
            while len(received) < 3:
                conn.drain_events(timeout=5)
    assert [(e["previoussequence"], e["sequence"]) for e in received] == [(0, 1), (1, 5), (5, 7)]
    assert [read_vector(e["previousbytype"]) for e in received] == [
        {},
        {"client_registered": 1},
        {"client_registered": 5},
    ]


def test_a_relay_taking_over_a_log_relayed_before_it_kept_names_reads_them_from_the_log(
    store, amqp_uri
):
    app = OrdersApplication(store["orders"])
    with Connection(amqp_uri) as conn:
        queue = Queue("integrator", exchange=event_exchange("orders"), routing_key="#")
        queue(conn.default_channel).declare()
        app.save(client(1))
        app.place_order(load(OrderIn(), order_payload()), "tests")
        Relay(app, amqp_uri).save_position(2, 2)  # as an older relay left it: no names
        app.save(client(3))
        relay = Relay(app, amqp_uri)
        assert relay.relay_pending() == 1
        relay.release()
        received = []
        with conn.Consumer(queue, callbacks=[lambda body, msg: (received.append(body), msg.ack())]):
            conn.drain_events(timeout=5)
    (env,) = received
    assert env["previoussequence"] == 2
    assert env["previousbytype"] == '{"client_registered":1,"order_placed":2}'
    assert app.relay_vector() == {"client_registered": 3, "order_placed": 2}
