"""Every read model of every service, rebuilt into a scratch copy and compared with its live rows
(`rebuild(name, verify=True)`: one transaction, rolled back), on SQLite and PostgreSQL: after a
day's work each is identical to a rebuild; a row lost from one shows as a difference, and a
rebuild puts it back."""

import pytest
import sqlalchemy as sa

from shared.errors import NotFound
from shared.settings import SERVICES
from tests.fulfilment.test_application import product, register, shipped
from tests.inprocess import InProcess
from tests.support import order_payload

EXPECTED = {
    "orders": ["list"],
    "billing": ["documents"],
    "fulfilment": ["by_order", "distributors", "feeds", "outbox"],
    "production": ["by_order", "queue"],
    "notify": ["by_order", "outbox", "webhooks"],
}


@pytest.fixture
def desk(tmp_path, store):
    desk = InProcess(
        tmp_path,
        urls=store,
        NOTIFY_POLICY="auto",
        WEBHOOK_ALLOW="loopback",
        SEND_BACKOFF_SECONDS=0,
        SMTP_PORT=9,  # nobody listens: e-mails wait to be retried
        SEND_TIMEOUT_SECONDS=1,
    )
    yield desk
    desk.close()


def a_days_work(desk) -> dict:
    order = desk.orders.place_order(order_payload())
    desk.orders.accept_order(order["id"])
    (invoice,) = desk.billing.invoices_for_order(order["id"])
    payment = {"amount": invoice["gross"], "method": "cash", "paid_on": "2026-12-01"}
    desk.billing.record_payment(invoice["id"], dict(payment, reference="till-7"))
    (job,) = desk.production.production_orders_for_order(order["id"])
    desk.production.hold_production_order(job["id"], "waiting for paper")
    code = register(desk, None)["code"]
    shipped(desk, product(desk, code))
    desk.notify.create_webhook({"url": "http://127.0.0.1:9/hooks", "event_types": ["*"]})
    desk.send("notify")
    desk.send("fulfilment")
    return order


def test_every_read_model_of_every_service_is_identical_to_a_rebuild(desk):
    a_days_work(desk)
    for service in SERVICES:
        calls = getattr(desk, service)
        assert calls.read_models() == EXPECTED[service]
        for name in EXPECTED[service]:
            checked = calls.rebuild(name, True)
            assert checked == {"read_model": name, "differences": []}, (service, checked)
    with pytest.raises(NotFound):
        desk.billing.rebuild("no_such_model", True)


def test_a_lost_row_shows_as_a_difference_and_a_rebuild_puts_it_back(desk):
    order = a_days_work(desk)
    billing = desk.apps["billing"]
    documents = billing.tables["documents"]
    with billing.engine.begin() as conn:
        (lost,) = conn.execute(
            sa.delete(documents)
            .where(documents.c.order_id == order["id"])
            .returning(documents.c.document_id)
        ).all()
    (difference,) = desk.billing.rebuild("documents", True)["differences"]
    assert difference["table"] == documents.name and difference["only_live"] == []
    assert [row[0] for row in difference["only_rebuilt"]] == [lost.document_id]
    assert difference["rebuilt_rows"] == difference["live_rows"] + 1
    with billing.engine.connect() as conn:  # verifying changed nothing
        assert (
            conn.execute(sa.select(sa.func.count()).select_from(documents)).scalar()
            == (difference["live_rows"])
        )

    assert desk.billing.rebuild("documents")["written_from"] >= 1
    assert desk.billing.rebuild("documents", True)["differences"] == []
