"""The store's tracking: each upstream position is recorded once, atomically with its reaction."""

from uuid import uuid4

import pytest
from eventsourcing.application import Application
from eventsourcing.persistence import IntegrityError, Tracking

from oms.serve import SERVICE_CLASSES, service_class
from services.billing.application import BillingApplication
from services.billing.domain import Account


def account() -> Account:
    order = {"order_id": "o1", "reference": "2026-000001", "client": {"name": "Ada"}}
    return Account(id=uuid4(), order=dict(order, currency="EUR", lines=[], status="new"))


def test_a_position_is_tracked_once_and_never_moves_back(store):
    app = BillingApplication(store["billing"])
    app.save_reaction(Tracking("orders", 1))
    with pytest.raises(IntegrityError):
        app.save_reaction(Tracking("orders", 1))
    app.save_reaction(Tracking("orders", 3))  # holes are fine: the upstream's log decides
    with pytest.raises(IntegrityError):
        app.save_reaction(Tracking("orders", 2))
    assert app.tracked_position("orders") == 3
    assert app.tracked_position("billing") == 0


def test_a_refused_tracking_record_saves_nothing_of_its_reaction(store):
    app = BillingApplication(store["billing"])
    app.save_reaction(Tracking("orders", 5), account())
    late = account()
    with pytest.raises(IntegrityError):
        app.save_reaction(Tracking("orders", 5), late)
    assert not app.exists(late.id)
    assert app.last_position() == 1


def test_the_relay_is_prompted_once_after_the_outermost_commit_and_only_for_stored_events(store):
    app = BillingApplication(store["billing"])
    seen = []
    app.add_listener(lambda: seen.append(app.last_position()))  # read on its own connection
    app.save(account())
    assert seen == [1]
    with app.transaction():
        app.save(account())
        app.save(account())
        assert seen == [1]  # not yet: a relay reading now would find nothing new
    assert seen == [1, 3]
    app.save_reaction(Tracking("orders", 1))  # a tracking record alone: nothing to publish
    assert seen == [1, 3]


def test_no_reaction_method_shadows_the_event_store_application():
    """A reaction named like a method of eventsourcing's Application (notify's was once `_notify`,
    which `save()` calls) would break every save outside a follower."""
    for name in SERVICE_CLASSES:
        app_class = vars(service_class(name))["app"].app_class
        clashes = {m for m in app_class.reactions.values() if hasattr(Application, m)}
        assert not clashes, (name, clashes)
        assert all(callable(getattr(app_class, m, None)) for m in app_class.reactions.values())


def test_published_events_built_from_kept_states_equal_those_built_from_the_log(tmp_path):
    """The relay builds each integration event from the aggregate's state after it: kept from the
    save when it can be, read from the log otherwise. Both must give the same envelopes, and a
    rolled-back save must keep nothing."""
    from services.orders.application import OrdersApplication
    from services.orders.schemas import OrderIn
    from shared.validation import load
    from tests.support import order_payload

    url = f"sqlite:///{tmp_path}/orders.sqlite3"
    app = OrdersApplication(url)
    order = app.place_order(load(OrderIn, order_payload()), "tests")
    app.accept_order(str(order.id), "tests")
    app.hold_order(str(order.id), "stock check", "tests")
    app.release_order(str(order.id), "checked", "tests")
    other = app.place_order(load(OrderIn, order_payload()), "tests")
    with pytest.raises(RuntimeError), app.transaction():
        changed = app.get(str(other.id))
        changed.put_on_hold("rolled back", "tests")
        app.save(changed)
        raise RuntimeError("the transaction fails after the save")
    assert (other.id, 2) not in app._states
    assert (order.id, 4) in app._states
    kept = app.events_after(0, 100)
    fresh = OrdersApplication(url)  # nothing kept: every state read from the log
    assert fresh._states == {}
    assert fresh.events_after(0, 100) == kept
    fresh.close()
    app.close()
