"""Every reaction of billing to the orders service, and of orders to billing, in process on SQLite
files (the running system's versions, on both stores, are in test_service.py)."""

import pytest

from tests.inprocess import InProcess
from tests.support import order_payload

ADDRESS = {"line1": "1 Main St", "city": "Leeds", "postcode": "LS1 1AA", "country": "GB"}


@pytest.fixture
def desk(tmp_path):
    services = InProcess(tmp_path, services=("orders", "billing"))
    yield services
    services.close()


def kinds(desk, order_id) -> list[tuple[str, str]]:
    return [(d["kind"], d["status"]) for d in desk.billing.invoices_for_order(order_id)]


def test_a_placed_order_opens_its_account_and_an_accepted_one_is_invoiced_once(desk):
    order = desk.orders.place_order(order_payload())
    assert desk.billing.account_for_order(order["id"])["documents"] == []
    assert desk.billing.issue_pro_forma(order["id"])["kind"] == "pro_forma"
    desk.orders.accept_order(order["id"])
    desk.orders.accept_order(order["id"])  # again: a no-op
    assert kinds(desk, order["id"]) == [("pro_forma", "issued"), ("invoice", "unpaid")]
    assert desk.orders.get_order(order["id"])["payment_status"] == "unpaid"


def test_a_declined_order_gets_no_invoice_and_no_more_pro_formas(desk):
    order = desk.orders.place_order(order_payload())
    desk.orders.decline_order(order["id"], "out of stock")
    assert kinds(desk, order["id"]) == []
    with pytest.raises(Exception, match="order_not_new"):
        desk.billing.issue_pro_forma(order["id"])


def test_voiding_the_order_voids_its_invoice_and_orders_shows_it(desk):
    order = desk.orders.place_order(order_payload())
    desk.orders.accept_order(order["id"])
    desk.orders.void_order(order["id"], "client cancelled")
    assert kinds(desk, order["id"]) == [("invoice", "voided")]
    assert desk.orders.get_order(order["id"])["payment_status"] == "voided"


def test_an_edit_after_invoicing_is_corrected_by_a_credit_note(desk):
    order = desk.orders.place_order(order_payload())
    desk.orders.accept_order(order["id"])
    shipping = order["shippings"][0]["id"]
    lines = [{"sku": "MUG-1", "quantity": 1}, {"sku": "CARD-9", "quantity": 100}]
    desk.orders.edit_order(order["id"], {"shippings": [{"id": shipping, "lines": lines}]})
    (invoice, credit) = desk.billing.invoices_for_order(order["id"])
    assert (credit["kind"], credit["gross"], credit["corrects"]) == (
        "credit_note",
        "22.80",
        invoice["id"],
    )


def test_on_dispatch_each_shipping_is_invoiced_as_it_ships(tmp_path):
    desk = InProcess(tmp_path, services=("orders", "billing"), INVOICE_ON="dispatch")
    try:
        payload = order_payload()
        payload["shippings"] = [
            {"planned_date": "2026-12-01", "address": ADDRESS,
             "lines": [{"sku": "MUG-1", "quantity": 3}]},
            {"planned_date": "2026-12-08", "address": ADDRESS,
             "lines": [{"sku": "CARD-9", "quantity": 100}]},
        ]  # fmt: skip
        order = desk.orders.place_order(payload)
        desk.orders.accept_order(order["id"])
        assert kinds(desk, order["id"]) == []
        for shipping in order["shippings"]:
            desk.orders.ship_shipping(order["id"], shipping["id"])
        shipped = desk.billing.invoices_for_order(order["id"])
        assert [d["shipping_id"] for d in shipped] == [s["id"] for s in order["shippings"]]
    finally:
        desk.close()


def test_a_catalogue_client_is_billed_with_its_details_as_the_catalogue_has_them(desk):
    client = {"name": "Acme Ltd", "email": "buy@acme.example", "phone": "1",
              "default_address": ADDRESS}  # fmt: skip
    desk.orders.register_client("ACME", client)
    desk.orders.update_client("ACME", {"name": "Acme Holdings"})
    payload = order_payload(client_code="ACME")
    del payload["client"]
    order = desk.orders.place_order(payload)
    desk.orders.accept_order(order["id"])
    (invoice,) = desk.billing.invoices_for_order(order["id"])
    assert (invoice["billing"]["name"], invoice["billing"]["code"]) == ("Acme Holdings", "ACME")


def test_orders_follows_payments_and_the_payment_channel(desk):
    order = desk.orders.place_order(order_payload())
    desk.orders.accept_order(order["id"])
    (invoice,) = desk.billing.invoices_for_order(order["id"])
    payment = {"amount": "10.00", "method": "cash", "reference": "till 1", "paid_on": "2026-12-01"}
    desk.billing.record_payment(invoice["id"], payment)
    assert desk.orders.get_order(order["id"])["payment_status"] == "partially_paid"
    desk.billing.record_payment(invoice["id"], dict(payment, amount="66.20", reference="till 2"))
    desk.billing.change_payment_channel(order["id"], "bank_transfer", "pays the rest by transfer")
    shown = desk.orders.get_order(order["id"])
    assert (shown["payment_status"], shown["payment_method"]) == ("paid", "bank_transfer")


def test_rebuilding_the_documents_list_from_the_log_gives_the_same_rows(desk):
    """Invoices, a pro forma, a voided invoice, a credit note and a payment: the documents list
    written as they came equals the one a rebuild writes from one replay of billing's log."""
    orders = [desk.orders.place_order(order_payload()) for _ in range(4)]
    desk.billing.issue_pro_forma(orders[0]["id"])
    for order in orders[:3]:
        desk.orders.accept_order(order["id"])
    desk.orders.void_order(orders[1]["id"], "client cancelled")
    shipping = orders[2]["shippings"][0]["id"]
    lines = [{"sku": "MUG-1", "quantity": 1}, {"sku": "CARD-9", "quantity": 100}]
    desk.orders.edit_order(orders[2]["id"], {"shippings": [{"id": shipping, "lines": lines}]})
    (invoice,) = [
        d for d in desk.billing.invoices_for_order(orders[0]["id"]) if d["kind"] == "invoice"
    ]
    payment = {"amount": "5.00", "method": "cash", "paid_on": "2026-12-01", "reference": "till-9"}
    desk.billing.record_payment(invoice["id"], payment)
    billing = desk.apps["billing"]
    before = billing.read_model_rows()
    assert {row["kind"] for row in before} == {"pro_forma", "invoice", "credit_note"}
    assert desk.billing.rebuild_read_model() == {"aggregates": 4}
    assert billing.read_model_rows() == before
