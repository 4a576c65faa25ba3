"""Notify in process, fed by orders, billing and production: one notification per status event its
templates cover, to the client (or operations), and none for what concerns nobody."""

import pytest

from tests.inprocess import InProcess
from tests.support import order_payload


@pytest.fixture
def desk(tmp_path):
    services = InProcess(tmp_path, OPS_EMAIL="ops@example.com")
    yield services
    services.close()


def test_each_status_event_gets_one_notification_to_the_client(desk):
    order = desk.orders.place_order(order_payload())
    desk.orders.accept_order(order["id"])
    desk.orders.add_note(order["id"], {"kind": "internal", "text": "check stock"})
    desk.orders.add_note(order["id"], {"kind": "client", "text": "Gift wrap"})
    sent = desk.notify.notifications_for_order(order["id"])
    kinds = sorted(n["event_type"] for n in sent)
    assert kinds == sorted([
        "orders.order_placed", "orders.order_accepted", "orders.note_added",
        "billing.invoice_issued", "production.production_order_created",
    ])  # fmt: skip  # the internal note told nobody
    client = [n for n in sent if n["event_type"].startswith(("orders.", "billing."))]
    assert {n["recipient"] for n in client} == {"ada@example.com"}
    note = next(n for n in sent if n["event_type"] == "orders.note_added")
    assert "Gift wrap" in note["body"] and note["status"] == "pending"
    assert len({n["source_event"] for n in sent}) == len(sent)  # one per event


def test_a_redelivered_event_notifies_nobody_twice(desk):
    order = desk.orders.place_order(order_payload())
    placed = desk.apps["orders"].events_after(0, 10)[0]
    assert desk.apps["notify"].react(placed) == []
    assert len(desk.notify.notifications_for_order(order["id"])) == 1
