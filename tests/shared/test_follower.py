"""The follower's batches, in process: what an upstream's log holds is saved in transactions of up
to `follower_batch` events with one tracking record each, and a batch whose reaction fails is done
again one event at a time, so only that event parks. The upstream's `events_page` is called on
its application (the RPC hop is tested against the running system)."""

import time
from types import SimpleNamespace

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from services.billing.application import BillingApplication
from services.fulfilment.application import FulfilmentApplication
from services.orders.application import OrdersApplication
from services.orders.schemas import OrderIn
from shared import faults
from shared.follower import Follower, _follows_on
from shared.integration_log import last_sent
from shared.settings import Settings
from shared.validation import load
from tests.support import order_payload


@pytest.fixture
def apps(tmp_path):
    orders = OrdersApplication(f"sqlite:///{tmp_path}/orders.sqlite3")
    billing = BillingApplication(f"sqlite:///{tmp_path}/billing.sqlite3")
    yield orders, billing
    faults.clear()
    orders.close()
    billing.close()


@pytest.fixture
def commits():
    """Commits of ORM sessions (the store's transactions), per engine."""
    seen = []

    def count(session):
        seen.append(session.get_bind())

    sa.event.listen(Session, "after_commit", count)
    yield seen
    sa.event.remove(Session, "after_commit", count)


def follower(billing, orders, batch: int) -> Follower:
    settings = Settings.load({"FOLLOWER_BATCH": batch, "REACTION_BACKOFF_SECONDS": 0.01})
    follower = Follower(billing, "orders", settings)
    follower._rpc = SimpleNamespace(orders=orders)  # the pull, without the RPC hop
    follower._renew_leases(catch_up=False)  # the only replica: it holds every segment
    return follower


def test_a_backlog_is_saved_in_batches_of_one_transaction_each(apps, commits):
    orders, billing = apps
    placed = orders.place_many([load(OrderIn, order_payload()) for _ in range(12)], "tests")
    following = follower(billing, orders, batch=5)
    commits.clear()
    following.catch_up()
    # 5 + 5 + 2 accounts opened, not 12 transactions (plus none for the tracking alone)
    assert [bind for bind in commits if bind is billing.engine] == [billing.engine] * 3
    following.save_tracking()  # the segments no order fell in, at a quiet moment
    assert billing.tracked_position("orders") == orders.last_position()
    assert all(billing.account(str(order.id)) for order in placed)


def test_a_failing_reaction_in_a_batch_parks_that_event_alone(apps):
    orders, billing = apps
    placed = orders.place_many([load(OrderIn, order_payload()) for _ in range(6)], "tests")
    failing = str(placed[2].id)
    faults.set_fault("fail_reaction", [failing])
    following = follower(billing, orders, batch=10)
    following.catch_up()
    following.save_tracking()
    assert billing.parking.summary()["parked"] == 1
    assert [e["subject"] for e in billing.parking.entries("parked")] == [failing]
    for order in placed[:2] + placed[3:]:
        assert billing.account(str(order.id))
    assert billing.tracked_position("orders") == orders.last_position()


@pytest.mark.parametrize(
    "envelope, reached, follows",
    [
        ({"sequence": 8}, 7, True),
        ({"sequence": 9}, 7, False),  # an older relay: only the next one follows on
        ({"sequence": 9, "previoussequence": 7}, 7, True),  # 8 was private
        ({"sequence": 9, "previoussequence": 5}, 7, True),
        ({"sequence": 9, "previoussequence": 8}, 7, False),  # 8 was published and missed
    ],
)
def test_what_follows_on_from_a_position(envelope, reached, follows):
    assert _follows_on(envelope, reached) is follows


@pytest.mark.parametrize(
    "before, follows",
    [
        ({"order_accepted": 7, "order_placed": 5, "order_held": 8}, True),  # held: not bound
        ({"order_accepted": 6}, True),
        ({}, True),  # neither was ever published before
        ({"order_accepted": 8, "order_placed": 5}, False),  # an acceptance at 8 was missed
    ],
)
def test_a_follower_bound_to_some_names_misses_nothing_it_was_not_sent(before, follows):
    env = {"sequence": 9, "previoussequence": 8, "previousbytype": before}
    assert _follows_on(env, 7, ["order_accepted", "order_placed"]) is follows


def test_events_nothing_reacts_to_cost_no_transaction_until_a_quiet_moment(tmp_path, commits):
    """Fulfilment follows orders but reacts to shipments only: placing orders gives it nothing
    to save, and its tracking record waits for a quiet moment (the follower's `save_tracking`)."""
    orders = OrdersApplication(f"sqlite:///{tmp_path}/orders.sqlite3")
    fulfilment = FulfilmentApplication(f"sqlite:///{tmp_path}/fulfilment.sqlite3")
    try:
        orders.place_many([load(OrderIn, order_payload()) for _ in range(12)], "tests")
        quiet = follower(fulfilment, orders, batch=5)
        commits.clear()
        quiet.catch_up()
        assert [bind for bind in commits if bind is fulfilment.engine] == []
        assert fulfilment.tracked_position("orders") == 0
        quiet.save_tracking()
        assert fulfilment.tracked_position("orders") == orders.last_position() == 12
    finally:
        orders.close()
        fulfilment.close()


def test_what_a_follower_must_reach_is_the_end_of_the_log_while_the_relay_has_not_saved_it():
    """`oms verify` and `oms status` measure followers against this: a relay's saved names are
    stale while its position is behind the log (a full disk, or the 0.25 s between saves)."""
    upstream = {
        "last_position": 75,
        "relayed_position": 75,
        "last_published": 75,
        "published_by_type": {"invoice_issued": 72, "invoice_voided": 40},
    }
    assert last_sent(upstream, ["invoice_issued"]) == 72
    assert last_sent(upstream, ["invoice_voided"]) == 40
    behind = dict(upstream, relayed_position=15, published_by_type={"invoice_issued": 15})
    assert last_sent(behind, ["invoice_issued"]) == 75


def test_a_segment_claimed_in_the_middle_of_a_page_loses_none_of_its_events(apps):
    """A replica that claims a segment while it catches up (another replica gone) reads that
    segment's events from where it stood, those early in the page included: the rest of the page
    must not carry the new segment's position past events it never saw."""
    orders, billing = apps
    placed = orders.place_many([load(OrderIn, order_payload()) for _ in range(24)], "tests")
    settings = Settings.load({"FOLLOWER_BATCH": 12, "FOLLOWER_LEASE_SECONDS": 1})
    first, second = (Follower(billing, "orders", settings) for _ in range(2))
    for following in (first, second):
        following._rpc = SimpleNamespace(orders=orders)
    count = billing.segments("orders")
    first._renew_leases(catch_up=False)  # alone: every segment
    second._renew_leases(catch_up=False)  # the share is half now, none is free yet
    first._renew_leases(catch_up=False)  # gives half back; the second never takes them
    assert len(first.leases.held) == count // 2 and not second.leases.held
    time.sleep(1.1)  # the second is gone: the first may take every segment
    first.leases.due = lambda: True  # renews between the batches of the page it reads
    first.catch_up()
    first.save_tracking()
    assert len(first.leases.held) == count
    assert all(billing.account(str(order.id)) for order in placed)
