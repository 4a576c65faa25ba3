"""Billing through its RPC, fed by the orders service: invoices, corrections, pro-formas, voids,
payments and channels, and the payment status orders shows — against real servers."""

import base64
import io
import re
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from pypdf import PdfReader

from shared.errors import InvalidTransition, NotFound, ValidationFailed
from shared.sealing import FORGOTTEN
from tests.support import eventually, order_payload, random_ref

ADDRESS = {"line1": "1 Main St", "city": "Leeds", "postcode": "LS1 1AA", "country": "GB"}
NUMBER = re.compile(r"^INV-(\d{4})-(\d{6})$")


@pytest.fixture
def rpc(module_system):
    """An RPC proxy acting as maria, an operator: what billing records as who did it."""
    with module_system.rpc(timeout=30, actor="maria", role="operator") as proxy:
        yield proxy


def accepted_invoice(rpc, payload=None):
    """Place and accept an order; its invoice once billing has issued it."""
    order = rpc.orders.place_order(payload or order_payload())
    rpc.orders.accept_order(order["id"])
    (invoice,) = eventually(lambda: rpc.billing.invoices_for_order(order["id"]))
    return order, invoice


def documents(rpc, order_id, count):
    return eventually(
        lambda: (d := rpc.billing.invoices_for_order(order_id)) and len(d) == count and d
    )


def test_an_accepted_order_gets_one_numbered_invoice_with_vat_and_the_clients_billing_details(rpc):
    code = random_ref("C")
    rpc.orders.register_client(
        code,
        {
            "name": "Acme Ltd",
            "email": "buy@acme.example",
            "phone": "+44 1",
            "default_address": ADDRESS,
        },
    )
    payload = order_payload(client_code=code)
    del payload["client"]
    payload["shippings"][0].pop("address")  # the client's address
    order, invoice = accepted_invoice(rpc, payload)

    year = datetime.now(UTC).year
    assert NUMBER.match(invoice["number"]) and invoice["number"].startswith(f"INV-{year}-")
    assert invoice["issued_by"] == "maria"  # who accepted the order
    assert (invoice["kind"], invoice["status"], invoice["order_reference"]) == (
        "invoice",
        "unpaid",
        order["reference"],
    )
    assert invoice["billing"] == {
        "code": code,
        "name": "Acme Ltd",
        "email": "buy@acme.example",
        "phone": "+44 1",
        "address": dict(ADDRESS, line2=None),
    }
    assert [
        (li["sku"], li["quantity"], li["unit_price"], li["vat_rate"], li["net"])
        for li in invoice["lines"]
    ] == [
        ("MUG-1", 3, "9.50", "20", "28.50"),
        ("CARD-9", 100, "0.35", "20", "35.00"),
    ]
    assert invoice["vat"] == [{"rate": "20", "net": "63.50", "tax": "12.70"}]
    assert (invoice["net"], invoice["tax"], invoice["gross"], invoice["due"]) == (
        "63.50",
        "12.70",
        "76.20",
        "76.20",
    )
    issued = datetime.fromisoformat(invoice["issued_on"])
    assert datetime.fromisoformat(invoice["due_on"]) - issued == timedelta(days=14)
    assert "rounded half-up" in invoice["rounding"]
    assert rpc.billing.get_invoice(invoice["id"]) == invoice

    # the client moves; the invoice keeps the details it was issued with, a later document has the new
    rpc.orders.update_client(code, {"default_address": dict(ADDRESS, city="York")})
    shipping = order["shippings"][0]["id"]
    rpc.orders.edit_order(
        order["id"],
        {
            "shippings": [
                {
                    "id": shipping,
                    "lines": [{"sku": "MUG-1", "quantity": 4}, {"sku": "CARD-9", "quantity": 100}],
                }
            ]
        },
    )
    _, supplementary = documents(rpc, order["id"], 2)
    assert rpc.billing.get_invoice(invoice["id"])["billing"]["address"]["city"] == "Leeds"
    assert supplementary["billing"]["address"]["city"] == "York"
    assert supplementary["kind"] == "supplementary" and supplementary["corrects"] == invoice["id"]
    assert [(li["sku"], li["quantity"]) for li in supplementary["lines"]] == [("MUG-1", 1)]
    assert supplementary["gross"] == "11.40"
    assert int(NUMBER.match(supplementary["number"])[2]) > int(NUMBER.match(invoice["number"])[2])


def test_an_edit_that_removes_goods_issues_a_credit_note_and_never_changes_the_invoice(rpc):
    order, invoice = accepted_invoice(rpc)
    shipping = order["shippings"][0]["id"]
    rpc.orders.edit_order(
        order["id"],
        {
            "shippings": [{"id": shipping, "lines": [{"sku": "MUG-1", "quantity": 1}]}],
            "reason": "fewer",
        },
    )
    _, credit = documents(rpc, order["id"], 2)
    assert (credit["kind"], credit["status"], credit["corrects"], credit["reason"]) == (
        "credit_note",
        "issued",
        invoice["id"],
        "fewer",
    )
    assert re.match(r"^CN-\d{4}-\d{6}$", credit["number"])
    assert [(li["sku"], li["quantity"]) for li in credit["lines"]] == [
        ("MUG-1", 2),
        ("CARD-9", 100),
    ]
    assert credit["gross"] == "64.80"  # (19.00 + 35.00) + 20%
    now = rpc.billing.get_invoice(invoice["id"])
    assert (now["gross"], now["lines"]) == (invoice["gross"], invoice["lines"])
    assert now["due"] == "11.40"


def test_payments_partial_full_and_over_each_show_on_the_order(rpc):
    order, invoice = accepted_invoice(rpc)
    eventually(lambda: rpc.orders.get_order(order["id"])["payment_status"] == "unpaid")
    steps = [("50.00", "partially_paid"), ("26.20", "paid"), ("5.00", "overpaid")]
    for n, (amount, status) in enumerate(steps):
        shown = rpc.billing.record_payment(
            invoice["id"],
            {
                "amount": amount,
                "method": "bank_transfer",
                "reference": f"TRF-{n}",
                "paid_on": "2026-11-20",
            },
        )
        assert (shown["status"], shown["order_payment_status"]) == (status, status)
        eventually(
            lambda status=status: rpc.orders.get_order(order["id"])["payment_status"] == status
        )
    assert rpc.billing.get_invoice(invoice["id"])["paid"] == "81.20"
    account = rpc.billing.account_for_order(order["id"])
    assert account["refund_due"] == "5.00"
    payments = account["documents"][0]["payments"]
    assert [(p["amount"], p["actor"], p["source"]) for p in payments] == [
        ("50.00", "maria", "operator"),
        ("26.20", "maria", "operator"),
        ("5.00", "maria", "operator"),
    ]
    # the same transfer entered twice counts once
    again = rpc.billing.record_payment(
        invoice["id"], {"amount": "50.00", "method": "bank_transfer", "reference": "TRF-0"}
    )
    assert again["paid"] == "81.20"
    history = eventually(
        lambda: [
            (n["event_type"], n["subject"])
            for n in rpc.notify.notifications_for_order(order["id"])
            if n["event_type"] == "billing.payment_recorded"
        ]
    )
    assert len(history) == 3


def test_paying_a_voided_invoice_is_refused_and_money_already_received_is_a_refund_due(rpc):
    order, invoice = accepted_invoice(rpc)
    rpc.billing.record_payment(
        invoice["id"], {"amount": "10.00", "method": "cash", "reference": "till 4"}
    )
    voided = rpc.billing.void_invoice(invoice["id"], "issued to the wrong client")
    assert (voided["status"], voided["voided"]["reason"], voided["voided"]["actor"]) == (
        "voided",
        "issued to the wrong client",
        "maria",
    )
    assert voided["voided"]["refund_due"] == "10.00"
    with pytest.raises(InvalidTransition) as refused:
        rpc.billing.record_payment(
            invoice["id"], {"amount": "66.20", "method": "cash", "reference": "till 5"}
        )
    assert refused.value.details["rule"] == "invoice_voided"
    account = rpc.billing.account_for_order(order["id"])
    assert (account["payment_status"], account["refund_due"]) == ("voided", "10.00")
    eventually(lambda: rpc.orders.get_order(order["id"])["payment_status"] == "voided")


def test_voiding_the_order_voids_its_invoice(rpc):
    order, invoice = accepted_invoice(rpc)
    rpc.orders.void_order(order["id"], "client cancelled")
    voided = eventually(
        lambda: (i := rpc.billing.get_invoice(invoice["id"]))["status"] == "voided" and i
    )
    assert voided["voided"]["reason"] == "order voided: client cancelled"
    assert voided["voided"]["refund_due"] == "0.00"
    assert len(rpc.billing.invoices_for_order(order["id"])) == 1


def test_a_pro_forma_is_issued_for_a_placed_order_until_it_is_accepted(rpc):
    order = rpc.orders.place_order(order_payload())
    pro_forma = eventually(lambda: _pro_forma(rpc, order["id"]))
    assert re.match(r"^PF-\d{4}-\d{6}$", pro_forma["number"])
    assert pro_forma["issued_by"] == "maria"
    assert (pro_forma["kind"], pro_forma["status"], pro_forma["gross"], pro_forma["due_on"]) == (
        "pro_forma",
        "issued",
        "76.20",
        None,
    )
    assert rpc.billing.issue_pro_forma(order["id"]) == pro_forma  # unchanged order: the same one
    with pytest.raises(InvalidTransition) as refused:
        rpc.billing.record_payment(
            pro_forma["id"], {"amount": "1.00", "method": "cash", "reference": "x"}
        )
    assert refused.value.details["rule"] == "not_payable"
    rpc.orders.accept_order(order["id"])
    documents(rpc, order["id"], 2)
    with pytest.raises(InvalidTransition) as refused:
        rpc.billing.issue_pro_forma(order["id"])
    assert refused.value.details["rule"] == "order_not_new"


def _pro_forma(rpc, order_id):
    try:
        return rpc.billing.issue_pro_forma(order_id)
    except NotFound:
        return None  # billing has not seen the order yet


def test_changing_the_payment_channel_records_who_and_why_and_the_order_shows_it(rpc):
    order = rpc.orders.place_order(order_payload(payment_method="online_gateway"))
    eventually(lambda: _account(rpc, order["id"]))
    account = rpc.billing.change_payment_channel(order["id"], "cash", "pays at pick-up")
    assert account["channel"] == "cash"
    assert account["channel_changes"] == [
        {
            "channel": "cash",
            "previous": "online_gateway",
            "reason": "pays at pick-up",
            "actor": "maria",
        }
    ]
    eventually(lambda: rpc.orders.get_order(order["id"])["payment_method"] == "cash")


def _account(rpc, order_id):
    try:
        return rpc.billing.account_for_order(order_id)
    except NotFound:
        return None


def test_invoices_are_listed_by_status_client_dates_and_overdue_in_pages(rpc):
    name = f"Lister {random_ref()}"
    orders = [
        rpc.orders.place_order(
            order_payload(client={"name": name, "email": "l@example.com", "phone": "1"})
        )
        for _ in range(5)
    ]
    for order in orders:
        rpc.orders.accept_order(order["id"])
    invoices = [documents(rpc, o["id"], 1)[0] for o in orders]
    rpc.billing.record_payment(
        invoices[0]["id"], {"amount": "76.20", "method": "card", "reference": "c1"}
    )
    rpc.billing.record_payment(
        invoices[1]["id"], {"amount": "1.00", "method": "card", "reference": "c2"}
    )

    mine = {"client": name.lower().split()[1], "sort": "number", "direction": "asc"}
    listed = rpc.billing.list_invoices(mine)
    assert [i["id"] for i in listed["invoices"]] == [i["id"] for i in invoices]
    assert listed["counts"] == {"paid": 1, "partially_paid": 1, "unpaid": 3}
    unpaid = rpc.billing.list_invoices(dict(mine, statuses=["unpaid"]))
    assert [i["id"] for i in unpaid["invoices"]] == [i["id"] for i in invoices[2:]]

    pages, cursor = [], None
    while True:
        page = rpc.billing.list_invoices(dict(mine, direction="desc", limit=2, cursor=cursor))
        pages.append([i["number"] for i in page["invoices"]])
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert pages == [
        [invoices[4]["number"], invoices[3]["number"]],
        [invoices[2]["number"], invoices[1]["number"]],
        [invoices[0]["number"]],
    ]

    today = datetime.now(UTC).date()
    in_a_month = (today + timedelta(days=30)).isoformat()
    overdue = rpc.billing.list_invoices(dict(mine, overdue=True, overdue_on=in_a_month))
    assert sorted(i["id"] for i in overdue["invoices"]) == sorted(i["id"] for i in invoices[1:])
    assert rpc.billing.list_invoices(dict(mine, overdue=True))["invoices"] == []  # due in 14 days
    tomorrow = (today + timedelta(days=1)).isoformat()
    assert rpc.billing.list_invoices(dict(mine, issued_from=tomorrow))["invoices"] == []
    dated = rpc.billing.list_invoices(
        dict(mine, issued_from=today.isoformat(), issued_to=today.isoformat())
    )
    assert len(dated["invoices"]) == 5
    by_gross = rpc.billing.list_invoices(dict(mine, sort="gross", kinds=["invoice"]))
    assert len(by_gross["invoices"]) == 5
    first = rpc.billing.list_invoices(dict(mine, limit=2))
    with pytest.raises(ValidationFailed) as refused:  # a cursor belongs to the query it came from
        rpc.billing.list_invoices(dict(mine, statuses=["paid"], cursor=first["next_cursor"]))
    assert "cursor" in refused.value.details


def test_a_forgotten_client_keeps_its_invoice_and_nothing_else_of_it_in_billing(module_system):
    """Billing opens a client's details with keys it asks orders for over RPC; once orders
    forgets the client, billing's answers, list and tables no longer hold them, while the invoice
    still prints the buyer's name and address, to the bytes whose hash it recorded."""
    code = random_ref("F").upper()
    address = dict(ADDRESS, line1="3 Farrowmere Close")
    client = {"name": "Ysolde Farrowmere", "email": "ysolde@farrowmere.example",
              "phone": "+447700900555", "default_address": address}  # fmt: skip
    marks = ("Farrowmere", "farrowmere", "7700900555")
    with module_system.rpc(timeout=30) as rpc:  # an admin: forgetting and rebuilding are theirs
        rpc.orders.register_client(code, client)
        payload = order_payload(client_code=code)
        del payload["client"], payload["shippings"][0]["address"]
        order = rpc.orders.place_order(payload)
        pro_forma = eventually(lambda: _pro_forma(rpc, order["id"]))
        rpc.orders.accept_order(order["id"])
        _, invoice = documents(rpc, order["id"], 2)
        assert invoice["billing"]["name"] == "Ysolde Farrowmere"
        printed = rpc.billing.document("invoice", invoice["id"])
        assert "3 Farrowmere Close" in _text(printed) and "Ysolde" in _text(printed)
        assert "ysolde@farrowmere.example" in _text(
            rpc.billing.document("pro_forma", pro_forma["id"])
        )
        plain = _stored(module_system, marks)
        assert plain and all(line.startswith("billing_documents:") for line in plain)

        rpc.orders.forget_client(code)
        eventually(lambda: rpc.billing.get_invoice(invoice["id"])["billing"]["name"] == FORGOTTEN)
        again = rpc.billing.document("invoice", invoice["id"])
        assert again["content"] == printed["content"] and again["sha256"] == printed["sha256"]
        later = _text(rpc.billing.document("pro_forma", pro_forma["id"]))
        assert FORGOTTEN in later and "Farrowmere" not in later
        listed = rpc.billing.list_invoices({"client_code": code})["invoices"]
        assert {i["client_name"] for i in listed} == {FORGOTTEN}
        assert _stored(module_system, marks) == []
        rpc.billing.rebuild_read_model()
        assert _stored(module_system, marks) == []


def _text(answer: dict) -> str:
    content = base64.b64decode(answer["content"])
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


def _stored(system, marks) -> list[str]:
    """The `table: value` of billing's store holding any of `marks`."""
    engine = sa.create_engine(system.database_urls["billing"])
    found = []
    try:
        with engine.connect() as conn:
            for name in sa.inspect(conn).get_table_names():
                for row in conn.execute(sa.text(f'SELECT * FROM "{name}"')):
                    for value in row:
                        if isinstance(value, bytes | memoryview):
                            value = bytes(value).decode("utf-8", "replace")
                        if any(mark in str(value) for mark in marks):
                            found.append(f"{name}: {str(value)[:100]}")
    finally:
        engine.dispose()
    return found
