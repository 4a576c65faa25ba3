"""The orders application in process, on a SQLite file: use cases and replays without a broker."""

import json
from dataclasses import replace

import pytest

from services.orders.application import OrdersApplication
from services.orders.schemas import OrderIn
from shared.validation import load
from tests.support import order_payload


@pytest.fixture
def app(tmp_path):
    application = OrdersApplication(f"sqlite:///{tmp_path}/orders.sqlite3")
    yield application
    application.close()


def test_an_order_stored_before_payment_statuses_could_be_null_still_reads_unpaid(app):
    """Version 2 `Placed` events started "unpaid" and stored no change when the invoice came."""
    order = app.place_order(load(OrderIn, order_payload()), "tests")
    assert order.payment_status is None
    (stored,) = app.recorder.select_events(order.id)
    state = json.loads(stored.state)
    state.pop("payment_status")
    state["class_version"] = 2
    old = replace(stored, state=json.dumps(state).encode())
    assert app.mapper.to_domain_event(old).mutate(None).payment_status == "unpaid"
