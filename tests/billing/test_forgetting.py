"""Billing keeps a client's details sealed as they came from orders, opens them only where it
shows them (the PDFs, the RPC answers, the documents list), keeps what an issued invoice prints
under its own retention key, and forgets the rest when the client is forgotten — in process,
with the real orders application holding the clients' keys (tests/inprocess.py)."""

import base64
import io
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from eventsourcing_sqlalchemy.datastore import transactions
from pypdf import PdfReader

from oms.documents import verify_document
from services.billing.application import BillingApplication
from services.orders.application import OrdersApplication
from services.orders.schemas import OrderIn
from shared import faults
from shared.sealing import FORGOTTEN, Keyring, is_sealed
from shared.validation import load
from tests.inprocess import InProcess
from tests.shared.test_follower import follower
from tests.support import order_payload, random_ref

ADDRESS = {"line1": "8 Corvinus Mews", "line2": "Flat Yarrowdene", "city": "Brackenhollow",
           "postcode": "BH2 5XQ", "country": "GB"}  # fmt: skip
CLIENT = {"name": "Wendeline Marchbank", "email": "wendeline@marchbank.example",
          "phone": "+447700900123", "default_address": ADDRESS}  # fmt: skip
NAME_MARKS = ("Marchbank", "marchbank")
MARKS = (*NAME_MARKS, "7700900123", "Corvinus", "Yarrowdene", "Brackenhollow", "BH2 5XQ")
GUEST = {"name": "Tamsin Oakenfold", "email": "tamsin@oakenfold.example", "phone": "+3161111"}
GUEST_ADDRESS = {"line1": "5 Hazelbrook Yard", "city": "Nettlebury", "postcode": "NB4 4NB",
                 "country": "GB"}  # fmt: skip
GUEST_MARKS = ("Oakenfold", "oakenfold", "3161111", "Hazelbrook", "Nettlebury", "NB4 4NB")


@pytest.fixture
def desk(tmp_path):
    services = InProcess(tmp_path, services=("orders", "billing"), FOLLOWER_SEGMENTS=4)
    yield services
    services.close()


def stored(desk) -> list[str]:
    """Every value of every row of billing's store, as `table: value` lines."""
    lines = []
    with desk.apps["billing"].engine.connect() as conn:
        for name in sa.inspect(conn).get_table_names():
            for row in conn.execute(sa.text(f'SELECT * FROM "{name}"')):
                for value in row:
                    if isinstance(value, bytes | memoryview):
                        value = bytes(value).decode("utf-8", "replace")
                    lines.append(f"{name}: {value}")
    return lines


def holding(lines: list[str], marks) -> list[str]:
    return [line[:120] for line in lines if any(mark in line for mark in marks)]


def text_of(answer: dict) -> str:
    content = base64.b64decode(answer["content"])
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


def by_kind(desk, order_id) -> dict:
    return {d["kind"]: d for d in desk.billing.invoices_for_order(order_id)}


def test_a_client_is_kept_sealed_shown_opened_and_its_invoices_keep_what_they_print(desk):
    code = random_ref("W").upper()
    desk.orders.register_client(code, CLIENT)
    payload = order_payload(client_code=code)
    del payload["client"], payload["shippings"][0]["address"]  # to the client's address
    orders = [desk.orders.place_order(payload) for _ in range(3)]  # in several segments
    order = orders[0]
    desk.billing.issue_pro_forma(order["id"])
    for placed in orders:
        desk.orders.accept_order(placed["id"])
    shipping = order["shippings"][0]["id"]
    fewer = [{"sku": "MUG-1", "quantity": 1}, {"sku": "CARD-9", "quantity": 100}]
    desk.orders.edit_order(order["id"], {"shippings": [{"id": shipping, "lines": fewer}]})
    documents = by_kind(desk, order["id"])
    assert set(documents) == {"pro_forma", "invoice", "credit_note"}

    # shown opened: the RPC answers, the list, the PDFs (an invoice: name and address only)
    invoice = documents["invoice"]
    assert invoice["billing"]["name"] == CLIENT["name"] and "buyer" not in invoice
    assert invoice["billing"]["address"]["city"] == "Brackenhollow"
    assert desk.billing.account_for_order(order["id"])["client"]["email"] == CLIENT["email"]
    listed = desk.billing.list_invoices({"client": "marchbank", "kinds": ["invoice"]})
    assert len(listed["invoices"]) == 3
    printed = {k: text_of(desk.billing.document(k, d["id"])) for k, d in documents.items()}
    for kind in ("invoice", "credit_note"):
        assert "Wendeline Marchbank" in printed[kind] and "8 Corvinus Mews" in printed[kind]
        assert "BH2 5XQ Brackenhollow" in printed[kind] and code in printed[kind]
        assert "marchbank.example" not in printed[kind]  # e-mail and phone follow the client
    assert "wendeline@marchbank.example" in printed["pro_forma"]
    assert "+447700900123" in printed["pro_forma"]

    # stored sealed: the events, the catalogue copy; only the list's name column is plain
    lines = stored(desk)
    assert holding(lines, MARKS) and all(
        line.startswith("billing_documents: ") for line in holding(lines, MARKS)
    )
    assert not holding(lines, MARKS[2:])  # no e-mail, phone or street anywhere
    year = datetime.now(UTC).year
    issued = issued_documents(desk, order["id"])
    retained = issued[invoice["id"]]["buyer"]
    assert is_sealed(retained["name"]) and retained["name"]["sealed"] == f"retention:billing:{year}"
    assert retained["address"]["line1"]["sealed"] == f"retention:billing:{year}"
    assert retained["address"]["country"] == "GB"
    assert issued[invoice["id"]]["billing"]["name"]["sealed"] == f"client:{code}"
    assert "buyer" not in issued[documents["pro_forma"]["id"]]  # not an invoice
    assert (f"retention:billing:{year}",) in keys_of(desk)

    desk.orders.forget_client(code)

    # the invoice and the credit note still print the buyer, to the same bytes
    for kind in ("invoice", "credit_note"):
        again = desk.billing.document(kind, documents[kind]["id"])
        assert text_of(again) == printed[kind]
        assert verify_document(desk, kind, documents[kind]["id"], None) == 0
    pro_forma = text_of(desk.billing.document("pro_forma", documents["pro_forma"]["id"]))
    assert pro_forma.count(FORGOTTEN) == 1 and not any(m in pro_forma for m in MARKS)

    # every other copy follows the client's key: the answers, the list, the stored rows
    shown = desk.billing.get_invoice(invoice["id"])
    assert shown["billing"]["name"] == shown["billing"]["email"] == FORGOTTEN
    assert shown["billing"]["address"]["line1"] == FORGOTTEN
    assert desk.billing.account_for_order(order["id"])["client"]["name"] == FORGOTTEN
    assert desk.billing.list_invoices({"client": "marchbank"})["invoices"] == []
    by_code = desk.billing.list_invoices({"client_code": code})["invoices"]
    assert len(by_code) == 5 and {i["client_name"] for i in by_code} == {FORGOTTEN}
    assert not holding(stored(desk), MARKS)
    rows = desk.apps["billing"].read_model_rows()
    assert desk.billing.rebuild_read_model()["aggregates"] == 3
    assert desk.apps["billing"].read_model_rows() == rows  # a rebuild writes the same
    assert not holding(stored(desk), MARKS)


def test_a_forgotten_guest_keeps_its_invoice_and_loses_the_rest(desk):
    payload = order_payload(client=GUEST)
    payload["shippings"][0]["address"] = GUEST_ADDRESS  # its billing address
    order = desk.orders.place_order(payload)
    other = desk.orders.place_order(order_payload())  # someone nobody forgets
    for placed in (order, other):
        desk.orders.accept_order(placed["id"])
    (invoice,) = desk.billing.invoices_for_order(order["id"])
    printed = text_of(desk.billing.document("invoice", invoice["id"]))
    assert "Tamsin Oakenfold" in printed and "5 Hazelbrook Yard" in printed
    assert not holding(stored(desk), GUEST_MARKS[2:])

    desk.orders.forget_client(f"order:{order['id']}")
    assert text_of(desk.billing.document("invoice", invoice["id"])) == printed
    assert desk.billing.get_invoice(invoice["id"])["billing"]["name"] == FORGOTTEN
    assert not holding(stored(desk), GUEST_MARKS)
    (kept,) = desk.billing.invoices_for_order(other["id"])
    assert kept["billing"]["name"] == other["client"]["name"]  # untouched
    assert desk.billing.list_invoices({"client": other["client"]["name"]})["invoices"]


def test_client_forgotten_is_heard_in_every_segment_and_drops_the_key(desk):
    code = random_ref("W").upper()
    desk.orders.register_client(code, CLIENT)
    billing = desk.apps["billing"]
    billing.keyring.seconds = 60  # kept, as a running service keeps it
    assert billing.keyring.keys([f"client:{code}"])[f"client:{code}"] is not None
    desk.orders.forget_client(code)
    page = desk.apps["orders"].events_page(0, 100)
    (heard,) = [e for e in page["events"] if e["type"] == "orders.client_forgotten"]
    assert billing.segment_key(heard) is None and billing.tracking_for("orders", heard) is None
    assert billing.keyring.keys([f"client:{code}"]) == {f"client:{code}": None}


def test_the_follower_asks_for_keys_before_its_transaction_never_inside_it(tmp_path):
    """On SQLite a transaction that waits on orders for keys holds the store's write lock, and
    any other writer of the process (the relay saving its position) then stalls it inside
    SQLite: the keys an issuing reaction opens are asked for before the follower's transaction,
    in a batch and one event at a time (a failing batch), and the opening finds them kept."""
    orders = OrdersApplication(f"sqlite:///{tmp_path}/orders.sqlite3")
    billing = BillingApplication(f"sqlite:///{tmp_path}/billing.sqlite3")
    asked, inside = [], []

    def fetch(subjects):
        asked.append(subjects)
        try:
            transactions.get()  # a transaction of the store is open in this greenthread
            inside.append(subjects)
        except LookupError:
            pass
        return orders.personal_keys(subjects)

    billing.keyring = Keyring(fetch, seconds=60)
    try:
        placed = orders.place_many([load(OrderIn, order_payload()) for _ in range(6)], "tests")
        for order in placed:
            orders.accept_order(str(order.id), "tests")
        faults.set_fault("fail_reaction", [str(placed[2].id)])  # that batch goes one by one
        follower(billing, orders, batch=10).catch_up()
        issued = [o for o in placed if billing.documents_for_order(str(o.id))[1]]
        assert len(issued) == 5 and sum(map(len, asked)) >= 5 and inside == []
    finally:
        faults.clear()
        orders.close()
        billing.close()


def issued_documents(desk, order_id) -> dict:
    """The documents as billing's `Issued` events hold them, by id."""
    billing = desk.apps["billing"]
    account = billing.account(order_id)
    events = billing.repository.event_store.get(account.id)
    return {e.document["id"]: e.document for e in events if type(e).__name__ == "Issued"}


def keys_of(desk) -> list[tuple]:
    table = desk.apps["billing"].retention.table
    with desk.apps["billing"].engine.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.select(table.c.subject))]
