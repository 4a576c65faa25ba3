"""The follower heals from lost queues and ignores duplicates; failing reactions park and the rest flows."""

import json
import time

from kombu import Connection

from services.orders.application import order_id_for
from shared import faults
from shared.relay import event_exchange
from tests.support import System, eventually, management, order_payload, settled


def test_a_consumer_whose_queue_was_deleted_catches_up_from_the_log(rabbit, amqp_uri, store):
    vhost = amqp_uri.rsplit("/", 1)[1]
    with System(amqp_uri, store, services=("orders", "billing")) as system:
        queue = eventually(lambda: follower_queue(rabbit, vhost, "billing", "orders"))
        system.stop("billing")
        management(rabbit, "DELETE", f"queues/{vhost}/{queue}")
        with system.rpc() as rpc:
            ids = [rpc.orders.place_order(order_payload())["id"] for _ in range(5)]
            for order_id in ids:
                rpc.orders.accept_order(order_id)
            eventually(lambda: rpc.orders.log_status()["relayed_position"] == 10)
        system.start("billing")
        with system.rpc() as rpc:
            eventually(lambda: settled(rpc))
            assert [len(rpc.billing.invoices_for_order(order_id)) for order_id in ids] == [1] * 5


def test_an_event_published_again_five_times_creates_nothing_new(amqp_uri, store):
    with System(amqp_uri, store) as system, system.rpc() as rpc:
        order = rpc.orders.place_order(order_payload())
        rpc.orders.accept_order(order["id"])
        eventually(lambda: len(rpc.notify.notifications_for_order(order["id"])) == 4)
        before = snapshot(rpc, order["id"])
        events = rpc.orders.events_after(0, 100)
        with Connection(amqp_uri) as conn:
            producer = conn.Producer()
            for env in events * 5:
                name = env["type"].split(".", 1)[1]
                producer.publish(
                    env, exchange=event_exchange("orders"), routing_key=name, serializer="json"
                )
        # a later event, processed after the duplicates (each follower keeps log order)
        marker = rpc.orders.place_order(order_payload())
        rpc.orders.accept_order(marker["id"])
        eventually(lambda: rpc.billing.invoices_for_order(marker["id"]))
        eventually(lambda: len(rpc.notify.notifications_for_order(marker["id"])) == 4)
        eventually(lambda: rpc.production.production_orders_for_order(marker["id"]))
        assert snapshot(rpc, order["id"]) == before


def snapshot(rpc, order_id):
    return (
        rpc.billing.invoices_for_order(order_id),
        rpc.production.production_orders_for_order(order_id),
        sorted(n["id"] for n in rpc.notify.notifications_for_order(order_id)),
    )


def test_a_failing_reaction_is_retried_then_parked_and_later_events_keep_flowing(amqp_uri, store):
    faulty_id = str(order_id_for("will-fail"))
    faults.set_fault("fail_reaction", [faulty_id])
    try:
        with (
            System(amqp_uri, store, services=("orders", "billing")) as system,
            system.rpc() as rpc,
        ):
            rpc.orders.place_order(order_payload(), idempotency_key="will-fail")
            rpc.orders.accept_order(faulty_id)
            healthy = rpc.orders.place_order(order_payload())
            rpc.orders.accept_order(healthy["id"])

            assert len(eventually(lambda: rpc.billing.invoices_for_order(healthy["id"]))) == 1
            placed, accepted = eventually(lambda: len(p := rpc.billing.parked_events()) == 2 and p)
            assert (placed["event_type"], placed["status"], placed["attempts"]) == (
                "orders.order_placed",
                "parked",
                5,
            )
            assert "injected failure" in placed["error"]
            # the order's next event is not tried out of order: it waits behind the parked one
            assert (accepted["event_type"], accepted["status"], accepted["behind"]) == (
                "orders.order_accepted",
                "waiting",
                placed["id"],
            )
            assert {p["envelope"]["subject"] for p in (placed, accepted)} == {faulty_id}
            assert rpc.billing.invoices_for_order(faulty_id) == []

            faults.clear()
            retried = rpc.billing.retry_parked(placed["id"])
            assert retried["status"] == "retried"
            assert len(rpc.billing.invoices_for_order(faulty_id)) == 1
            assert rpc.billing.parked_events() == []
            assert rpc.billing.retry_parked(placed["id"])["status"] == "retried"  # a no-op
            assert len(rpc.billing.invoices_for_order(faulty_id)) == 1
    finally:
        faults.clear()


def test_all_services_restarted_answer_every_query_as_before(amqp_uri, store):
    # notifications wait for an operator: no send attempt changes them between the two looks
    with System(amqp_uri, store, NOTIFY_POLICY="manual") as system:
        with system.rpc() as rpc:
            first = rpc.orders.place_order(order_payload())
            rpc.orders.accept_order(first["id"])
            rpc.orders.ship_shipping(first["id"], first["shippings"][0]["id"])
            declined = rpc.orders.place_order(order_payload())
            rpc.orders.decline_order(declined["id"], "duplicate order")
            eventually(lambda: len(rpc.notify.notifications_for_order(first["id"])) == 6)
            eventually(lambda: len(rpc.notify.notifications_for_order(declined["id"])) == 2)
            # every reaction done (orders also follows production, billing and fulfilment back)
            before = steady(rpc, [first["id"], declined["id"]])
        system.restart()
        with system.rpc() as rpc:
            assert answers(rpc, [first["id"], declined["id"]]) == before
            third = rpc.orders.place_order(order_payload())
            rpc.orders.accept_order(third["id"])
            assert eventually(lambda: rpc.billing.invoices_for_order(third["id"]))


def steady(rpc, order_ids, rounds: int = 60):
    """The answers once two looks a second apart agree (nothing is still reacting)."""
    previous = None
    for _ in range(rounds):
        now = answers(rpc, order_ids)
        if now == previous:
            return now
        previous = now
        time.sleep(1)
    raise AssertionError(f"still changing after {rounds} s")


def answers(rpc, order_ids):
    per_order = {
        order_id: (
            rpc.orders.get_order(order_id),
            rpc.billing.invoices_for_order(order_id),
            rpc.production.production_orders_for_order(order_id),
            rpc.fulfilment.purchase_orders_for_order(order_id),
            sorted(rpc.notify.notifications_for_order(order_id), key=lambda n: n["id"]),
        )
        for order_id in order_ids
    }
    logs = {
        name: json.dumps(getattr(rpc, name).events_after(0, 1000), sort_keys=True)
        for name in ("orders", "billing", "production", "fulfilment", "notify")
    }
    return per_order, logs


def follower_queue(rabbit, vhost: str, consumer: str, upstream: str) -> str | None:
    """The queue this process's replica of `consumer` hears `upstream` in (named after it)."""
    prefix = f"{consumer}.from.{upstream}."
    names = [q["name"] for q in management(rabbit, "GET", f"queues/{vhost}")]
    return next((name for name in names if name.startswith(prefix)), None)


def unbind(rabbit, vhost: str, queue: str, exchange: str) -> bool:
    """Cut the queue off its exchange (messages published meanwhile are lost to it)."""
    bindings = management(rabbit, "GET", f"exchanges/{vhost}/{exchange}/bindings/source")
    mine = [b for b in bindings if b["destination"] == queue]
    for binding in mine:
        props = binding["properties_key"]
        management(rabbit, "DELETE", f"bindings/{vhost}/e/{exchange}/q/{queue}/{props}")
    return bool(mine)


def test_a_message_lost_in_the_middle_is_pulled_from_the_log_when_the_next_one_shows_the_gap(
    rabbit, amqp_uri, store, monkeypatch
):
    monkeypatch.setenv(
        "OMS_FOLLOWER_POLL_SECONDS", "600"
    )  # no idle pulls: only the gap can heal it
    vhost = amqp_uri.rsplit("/", 1)[1]
    with (
        System(amqp_uri, store, services=("orders", "billing")) as system,
        system.rpc() as rpc,
    ):
        warm = rpc.orders.place_order(order_payload())
        eventually(lambda: rpc.billing.log_status()["tracking"]["orders"] == 1)
        queue = follower_queue(rabbit, vhost, "billing", "orders")
        assert unbind(rabbit, vhost, queue, "orders.events")
        lost = rpc.orders.place_order(order_payload())
        rpc.orders.accept_order(lost["id"])
        eventually(lambda: rpc.orders.log_status()["relayed_position"] == 3)
        assert rpc.billing.log_status()["tracking"]["orders"] == 1  # billing never saw them

        management(
            rabbit,
            "POST",
            f"bindings/{vhost}/e/orders.events/q/{queue}",
            {"routing_key": "#"},
        )
        rpc.orders.accept_order(warm["id"])
        assert len(eventually(lambda: rpc.billing.invoices_for_order(lost["id"]))) == 1
        assert len(eventually(lambda: rpc.billing.invoices_for_order(warm["id"]))) == 1


def test_a_lost_last_message_is_pulled_from_the_log_when_the_follower_is_idle(
    rabbit, amqp_uri, store
):
    vhost = amqp_uri.rsplit("/", 1)[1]
    with (
        System(amqp_uri, store, services=("orders", "billing")) as system,
        system.rpc() as rpc,
    ):
        queue = eventually(lambda: follower_queue(rabbit, vhost, "billing", "orders"))
        eventually(lambda: unbind(rabbit, vhost, queue, "orders.events"))
        order = rpc.orders.place_order(order_payload())
        rpc.orders.accept_order(order["id"])
        assert len(eventually(lambda: rpc.billing.invoices_for_order(order["id"]))) == 1
