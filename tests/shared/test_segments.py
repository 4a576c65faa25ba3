"""Segments and their leases, in process on SQLite: where each segment of a stream stands (a cut
refined from a coarser one starts where it stood; a merge is refused), how two replicas share the
leases out and fence each other off, and two followers on one store doing each event once."""

import time
from types import SimpleNamespace

import pytest
from eventsourcing.persistence import Tracking

from services.billing.application import BillingApplication
from services.orders.application import OrdersApplication
from services.orders.schemas import OrderIn
from shared import segments
from shared.follower import Follower
from shared.leases import LeaseLost, Leases, holders
from shared.settings import Settings, SettingsError
from shared.validation import load
from tests.support import order_payload


@pytest.fixture
def billing(tmp_path):
    app = BillingApplication(f"sqlite:///{tmp_path}/billing.sqlite3")
    yield app
    app.close()


def track(app, name: str, position: int) -> None:
    app.save_reaction(Tracking(name, position))


def test_an_aggregate_always_falls_in_the_same_segment_and_they_all_get_some():
    keys = [f"order-{n}" for n in range(600)]
    assert [segments.segment_of(k, 12) for k in keys] == [segments.segment_of(k, 12) for k in keys]
    counts = [sum(segments.segment_of(k, 12) == s for k in keys) for s in range(12)]
    assert min(counts) > 25  # 50 each on average


def test_a_stream_followed_whole_before_is_cut_where_it_stood(billing):
    track(billing, "orders", 40)
    assert segments.positions(billing, "orders", 12) == dict.fromkeys(range(12), 40)
    track(billing, "orders@3/12", 55)
    assert segments.positions(billing, "orders", 12)[3] == 55
    assert billing.tracked_position("orders") == 40  # the segment furthest behind


def test_a_cut_refined_into_a_multiple_starts_each_segment_where_its_coarse_one_stood(billing):
    for segment in range(4):
        track(billing, f"orders@{segment}/4", 10 + segment)
    refined = segments.positions(billing, "orders", 8)
    assert refined == {s: 10 + s % 4 for s in range(8)}


def test_segments_are_never_merged_nor_cut_into_a_count_that_is_no_multiple(billing):
    track(billing, "orders@1/12", 5)
    with pytest.raises(SettingsError, match="followed in 12 segments.*not into 8"):
        segments.positions(billing, "orders", 8)
    with pytest.raises(SettingsError, match="not into 1 "):
        segments.positions(billing, "orders", 1)


def test_two_replicas_share_the_segments_out_and_a_third_gets_its_part(billing):
    first, second, third = (Leases(billing, "orders", 12, 30, f"r{n}") for n in (1, 2, 3))
    rebalance(first)
    assert first.held == set(range(12))
    rebalance(second)  # nothing free yet: the first gives back half at its next renewal
    rebalance(first)
    rebalance(second)
    assert len(first.held) == len(second.held) == 6 and not first.held & second.held
    for _ in range(2):
        for replica in (third, first, second):
            rebalance(replica)
    assert [len(r.held) for r in (first, second, third)] == [4, 4, 4]
    assert holders(billing, "orders")["replicas"] == {
        "r1": sorted(first.held),
        "r2": sorted(second.held),
        "r3": sorted(third.held),
    }


def test_a_replica_that_lost_a_lease_cannot_save_work_tracked_in_it(billing):
    first = Leases(billing, "orders", 12, 1, "r1")
    rebalance(first)
    time.sleep(1.1)  # first stalls past its lease; another replica takes segment 0 over
    second = Leases(billing, "orders", 12, 30, "r2")
    second.renew()
    assert 0 in second.claim(12)
    with billing.transaction() as session, pytest.raises(LeaseLost):
        first.fence(session, {0})
    lost, _ = first.renew()
    assert 0 in lost


def test_two_followers_on_one_store_do_each_event_once_between_them(tmp_path):
    orders = OrdersApplication(f"sqlite:///{tmp_path}/orders.sqlite3")
    billing = BillingApplication(f"sqlite:///{tmp_path}/billing.sqlite3")
    try:
        placed = orders.place_many([load(OrderIn, order_payload()) for _ in range(30)], "tests")
        one, two = follower(billing, orders, "r1"), follower(billing, orders, "r2")
        one._renew_leases(catch_up=False)  # all twelve
        two._renew_leases(catch_up=False)  # none free yet
        one._renew_leases(catch_up=False)  # gives six back
        two._renew_leases(catch_up=False)  # takes them
        done = {}
        for name, replica in (("r1", one), ("r2", two)):
            before = billing_accounts(billing)
            replica.catch_up()
            done[name] = billing_accounts(billing) - before
        assert done["r1"] and done["r2"] and not done["r1"] & done["r2"]
        assert len(done["r1"] | done["r2"]) == len(placed)
        one.save_tracking()
        two.save_tracking()
        assert billing.tracked_position("orders") == orders.last_position()
    finally:
        orders.close()
        billing.close()


def rebalance(leases: Leases) -> None:
    """What a follower does at each renewal: give back what is over its share, or claim up to it."""
    _, share = leases.renew()
    excess = len(leases.held) - share
    if excess > 0:
        leases.release(sorted(leases.held)[-excess:])
    else:
        leases.claim(-excess)


def follower(billing, orders, instance: str) -> Follower:
    settings = Settings.load({"INSTANCE": instance, "FOLLOWER_LEASE_SECONDS": 30})
    following = Follower(billing, "orders", settings)
    following._rpc = SimpleNamespace(orders=orders)  # the pull, without the RPC hop
    return following


def billing_accounts(billing) -> set:
    """The aggregates billing's log holds events of (one account per order it opened)."""
    return {n.originator_id for n in billing.recorder.select_notifications(1, 10_000)}
