"""What a follower must never do, against the real services: stall behind a stretch of private
events, or apply a parked event after later events of the same aggregate."""

import pytest

from oms import cli
from services.orders.application import OrdersApplication
from services.orders.schemas import OrderIn
from shared import faults
from shared.errors import InvalidTransition, ValidationFailed
from shared.validation import load
from tests.support import System, eventually, order_payload


def place_straight_into_the_store(url: str, count: int) -> list[str]:
    app = OrdersApplication(url)
    placed = app.place_many([load(OrderIn, order_payload()) for _ in range(count)], "tests")
    app.close()
    return [str(order.id) for order in placed]


def test_a_follower_moves_past_more_private_events_than_one_pull_returns(amqp_uri, store):
    """Billing keeps a private "account opened" event for each placed order: 201 of them come
    before the first invoice in its log. Orders must still learn the payment status."""
    first, *_ = place_straight_into_the_store(store["orders"], 201)
    with System(amqp_uri, store, services=("orders", "billing")) as system, system.rpc() as rpc:
        eventually(lambda: rpc.billing.log_status()["last_position"] == 201, timeout=90)
        rpc.orders.accept_order(first)
        (invoice,) = eventually(lambda: rpc.billing.invoices_for_order(first))
        payment = {"amount": invoice["gross"], "method": "cash", "paid_on": "2026-12-01"}
        rpc.billing.record_payment(invoice["id"], dict(payment, reference="till-1"))
        eventually(lambda: rpc.orders.get_order(first)["payment_status"] == "paid")
        # nothing left for orders to see in billing's log: no lag that never goes away
        billing, orders = rpc.billing.log_status(), rpc.orders.log_status()
        assert billing["last_published"] == billing["last_position"]
        eventually(
            lambda: (
                rpc.orders.log_status()["tracking"]["billing"]
                == rpc.billing.log_status()["last_published"]
            )
        )
        assert orders["parked"] == 0


def test_a_parked_event_holds_back_later_events_of_its_aggregate_until_it_is_retried(
    amqp_uri, store
):
    """order_accepted fails and is parked; order_voided of the same order waits behind it
    instead of voiding an account that has no invoice yet; the retry replays both in order."""
    with System(amqp_uri, store, services=("orders", "billing")) as system, system.rpc() as rpc:
        order = rpc.orders.place_order(order_payload())
        faults.set_fault("fail_reaction", [f"orders.order_accepted:{order['id']}"])
        try:
            rpc.orders.accept_order(order["id"])
            (parked,) = eventually(lambda: rpc.billing.parked_events())
            assert (parked["status"], parked["event_type"]) == ("parked", "orders.order_accepted")
            rpc.orders.void_order(order["id"], "client cancelled")
            other = rpc.orders.place_order(order_payload())  # another order keeps flowing
            rpc.orders.accept_order(other["id"])
            eventually(lambda: rpc.billing.invoices_for_order(other["id"]))
        finally:
            faults.clear()
        waiting = eventually(
            lambda: [p for p in rpc.billing.parked_events() if p["status"] == "waiting"]
        )
        assert [(w["event_type"], w["behind"]) for w in waiting] == [
            ("orders.order_voided", parked["id"])
        ]
        assert rpc.billing.invoices_for_order(order["id"]) == []
        with pytest.raises(InvalidTransition) as refused:
            rpc.billing.retry_parked(waiting[0]["id"])  # it follows its parked event, not alone
        assert refused.value.details["rule"] == "waits_behind_parked"

        assert rpc.billing.retry_parked(parked["id"])["status"] == "retried"
        statuses = {p["id"]: p["status"] for p in rpc.billing.parked_events(None)}
        assert statuses == {parked["id"]: "retried", waiting[0]["id"]: "retried"}
        (invoice,) = rpc.billing.invoices_for_order(order["id"])
        assert invoice["status"] == "voided"  # issued on acceptance, then voided with the order
        eventually(lambda: rpc.orders.get_order(order["id"])["payment_status"] == "voided")


def test_discarding_a_parked_event_releases_the_ones_behind_it(amqp_uri, sqlite_store):
    with (
        System(amqp_uri, sqlite_store, services=("orders", "billing")) as system,
        system.rpc() as rpc,
    ):
        order = rpc.orders.place_order(order_payload())
        faults.set_fault("fail_reaction", [f"orders.order_accepted:{order['id']}"])
        try:
            rpc.orders.accept_order(order["id"])
            (parked,) = eventually(lambda: rpc.billing.parked_events())
            rpc.orders.void_order(order["id"], "client cancelled")
            eventually(lambda: len(rpc.billing.parked_events()) == 2)
        finally:
            faults.clear()
        with pytest.raises(ValidationFailed):
            rpc.billing.discard_parked(parked["id"], "")  # a reason is required
        argv = ["discard", "billing", str(parked["id"]), "--reason", "accepted by mistake"]
        assert cli.main(["--amqp-uri", amqp_uri, "--actor", "ops", *argv]) == 0
        (discarded,) = rpc.billing.parked_events("discarded")
        assert (discarded["id"], discarded["resolution"]) == (
            parked["id"],
            "ops: accepted by mistake",
        )
        assert rpc.billing.parked_events() == []
        assert rpc.billing.invoices_for_order(order["id"]) == []  # never invoiced
        assert rpc.billing.retry_parked(parked["id"])["status"] == "discarded"  # stays so


def test_a_follower_reaches_events_it_is_not_sent_on_its_idle_pull_even_between_heartbeats(
    amqp_uri, sqlite_store
):
    """Production's queue is sent orders' acceptances only; the notes after them it reads on its
    idle pull. Heartbeat frames (every second here) end each wait for a message without one: the
    pull is timed by the follower, so it still comes (it never did while it waited on silence)."""
    with (
        System(
            amqp_uri,
            sqlite_store,
            services=("orders", "production"),
            HEARTBEAT=2,
            FOLLOWER_POLL_SECONDS=3,
        ) as system,
        system.rpc() as rpc,
    ):
        order = rpc.orders.place_order(order_payload())
        rpc.orders.accept_order(order["id"])
        eventually(lambda: rpc.production.production_orders_for_order(order["id"]))
        rpc.orders.add_note(order["id"], {"kind": "internal", "text": "after the acceptance"})
        last = eventually(lambda: rpc.orders.log_status()["last_published"])
        eventually(lambda: rpc.production.log_status()["tracking"]["orders"] >= last, timeout=20)
