"""Every kind of document, for a real order through the services' own RPC methods (in process):
read back with pypdf and its text checked; rendered again (here and in another process) to the
same bytes, whose SHA-256 the issuing event recorded; and in English, Polish and French."""

import base64
import hashlib
import io
import json
import os
import subprocess
import sys

import pytest
import sqlalchemy as sa
from pypdf import PdfReader

from oms.documents import verify_document
from shared.documents import LAYOUT
from shared.personal import encode_keys
from shared.settings import ROOT
from tests.inprocess import InProcess
from tests.support import order_payload, order_with_every_document

SELLER = {
    "SELLER_NAME": "Drukarnia Łąka sp. z o.o.",
    "SELLER_ADDRESS": "ul. Kwiatowa 5|00-001 Warszawa|PL",
    "SELLER_VAT_ID": "PL5260001246",
    "SELLER_BANK_ACCOUNT": "PL61 1090 1014 0000 0712 1981 2874",
}


@pytest.fixture(scope="module")
def desk(tmp_path_factory):
    directory = tmp_path_factory.mktemp("documents")
    services = InProcess(
        directory,
        services=("orders", "billing", "production", "fulfilment"),
        PRODUCTION_FILES=str(directory / "files"),
        **SELLER,
    )
    yield services
    services.close()


def pdf(answer: dict) -> tuple[bytes, str]:
    content = base64.b64decode(answer["content"])
    assert content.startswith(b"%PDF-") and answer["content_type"] == "application/pdf"
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)
    return content, text


@pytest.fixture(scope="module")
def full(desk):
    return order_with_every_document(desk)


def test_the_invoice_shows_seller_buyer_lines_vat_totals_and_payment(desk, full):
    answer = desk.billing.document("invoice", full["invoice"]["id"])
    _, text = pdf(answer)
    invoice = full["invoice"]
    for shown in (
        "Invoice", invoice["number"], "Drukarnia Łąka sp. z o.o.", "VAT ID: PL5260001246",
        full["order"]["client"]["name"], "12 St James's Sq", "SW1Y 4JH London",
        "MUG-1", "Mug", "9.50 EUR", "28.50 EUR", "CARD-9", "35.00 EUR",
        "VAT 20 % on 63.50 EUR", "12.70 EUR", "Total net 63.50 EUR", "Total due 76.20 EUR",
        "Payment channel: card", "(14 days)", full["order"]["reference"],
        "rounded half-up",
    ):  # fmt: skip
        assert shown in text, shown
    assert answer["filename"] == f"invoice-{invoice['number']}.pdf"


def test_the_credit_note_and_the_supplementary_invoice_name_what_they_correct(desk, full):
    _, credit = pdf(desk.billing.document("credit_note", full["credit_note"]["id"]))
    number = full["invoice"]["number"]
    for shown in ("Credit note", f"Corrects invoice {number}", "one mug less", "1 9.50 EUR",
                  "Total 11.40 EUR", "This is not a demand for payment."):  # fmt: skip
        assert shown in credit, shown
    _, more = pdf(desk.billing.document("invoice", full["supplementary"]["id"]))
    for shown in ("Supplementary invoice", f"Corrects invoice {number}", "Total due 22.80 EUR"):
        assert shown in more, shown
    with pytest.raises(Exception) as caught:  # an invoice asked for as a credit note
        desk.billing.document("credit_note", full["invoice"]["id"])
    assert type(caught.value).__name__ == "NotFound"


def test_the_pro_forma_the_confirmation_the_purchase_order_and_the_work_sheet(desk, full):
    _, pro_forma = pdf(desk.billing.document("pro_forma", full["pro_forma"]["id"]))
    assert "Pro-forma invoice" in pro_forma and "Total 76.20 EUR" in pro_forma
    _, confirmation = pdf(desk.orders.document("confirmation", full["order"]["id"]))
    for shown in ("Order confirmation", full["order"]["reference"], "Total 87.60 EUR",
                  "4 × MUG-1, 100 × CARD-9", "Ring twice"):  # fmt: skip
        assert shown in confirmation, shown
    _, po = pdf(desk.fulfilment.document("purchase_order", full["purchase_order"]["id"]))
    for shown in (
        "Purchase order",
        full["purchase_order"]["number"],
        "acme",
        "MUG-1",
        "Deliver to",
    ):
        assert shown in po, shown
    _, sheet = pdf(desk.production.document("work_sheet", full["job"]["id"]))
    for shown in ("Work sheet", full["job"]["number"], "CARD-9", "Printed card", "100",
                  "Pantone 186 C", "front.pdf", "certified by tests"):  # fmt: skip
        assert shown in sheet, shown


def test_each_document_renders_again_to_the_bytes_whose_hash_its_event_recorded(desk, full):
    answers = {
        "pro_forma": desk.billing.document("pro_forma", full["pro_forma"]["id"]),
        "invoice": desk.billing.document("invoice", full["invoice"]["id"]),
        "credit_note": desk.billing.document("credit_note", full["credit_note"]["id"]),
        "confirmation": desk.orders.document("confirmation", full["order"]["id"]),
        "work_sheet": desk.production.document("work_sheet", full["job"]["id"]),
        "purchase_order": desk.fulfilment.document("purchase_order", full["purchase_order"]["id"]),
    }
    recorded = recorded_hashes(desk, full)
    for kind, answer in answers.items():
        again = getattr(desk, service_of(kind)).document(kind, answer["id"])
        assert again["content"] == answer["content"], kind  # the same bytes again
        digest = hashlib.sha256(base64.b64decode(answer["content"])).hexdigest()
        assert digest == answer["sha256"] == recorded[kind], kind
        assert answer["layout"] == answer["renderer_layout"] == LAYOUT, kind  # comparable


def service_of(kind: str) -> str:
    from shared.documents import ISSUED_BY

    return ISSUED_BY[kind]


def recorded_hashes(desk, full) -> dict:
    """The SHA-256 each issuing event holds, read from the stores' events themselves."""

    def events(service, aggregate_id):
        return list(desk.apps[service].repository.event_store.get(_uuid(aggregate_id)))

    billing = {}
    account = desk.apps["billing"].account(full["order"]["id"])
    for event in events("billing", account.id):
        if type(event).__name__ == "Issued":
            billing[event.document["id"]] = event.document["sha256"]
    confirmations = [
        e.document for e in events("orders", full["order"]["id"])
        if type(e).__name__ == "ConfirmationIssued"
    ]  # fmt: skip
    sheets = [
        e.sheet for e in events("production", full["job"]["id"])
        if type(e).__name__ == "WorkSheetIssued"
    ]  # fmt: skip
    (raised,) = events("fulfilment", full["purchase_order"]["id"])
    return {
        "pro_forma": billing[full["pro_forma"]["id"]],
        "invoice": billing[full["invoice"]["id"]],
        "credit_note": billing[full["credit_note"]["id"]],
        "confirmation": confirmations[-1]["sha256"],  # the order was edited: revision 2
        "work_sheet": sheets[-1]["sha256"],
        "purchase_order": raised.document["sha256"],
    }


def _uuid(value):
    import uuid

    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))


def test_another_process_renders_the_same_bytes_from_the_same_events(desk, full):
    """A fresh interpreter with another hash seed reads billing's store and renders the invoice
    (opened with the clients' keys orders gives it, and billing's own): nothing in a document
    depends on the process that made it."""
    store = desk.apps["billing"].engine.url.render_as_string(hide_password=False)
    keys = json.dumps(encode_keys(desk.apps["orders"].personal_keys(None)))
    script = (
        "import base64, json, sys\n"
        "from services.billing.application import BillingApplication\n"
        "from services.billing import documents\n"
        "from shared.sealing import Keyring\n"
        "app = BillingApplication(sys.argv[1])\n"
        "keys = {s: k and base64.b64decode(k) for s, k in json.loads(sys.argv[3]).items()}\n"
        "app.keyring = Keyring(lambda subjects: {s: keys[s] for s in subjects if s in keys})\n"
        "account = app.account_of_document(sys.argv[2])\n"
        "doc = app.printable(account.document(sys.argv[2]))\n"
        "print(json.dumps(documents.fingerprint(doc)))\n"
    )
    env = dict(os.environ, PYTHONHASHSEED="12345")
    out = subprocess.run(
        [sys.executable, "-c", script, store, full["invoice"]["id"], keys],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    assert json.loads(out.stdout.strip().splitlines()[-1]) == full["invoice"]["sha256"]


@pytest.mark.parametrize(
    "language, words",
    [
        ("en", ("Invoice", "Total due 76.20 EUR", "Issue date", "Order confirmation")),
        ("pl", ("Faktura VAT", "Do zapłaty 76,20 EUR", "Data wystawienia", "Nabywca",
                "Potwierdzenie zamówienia", "Forma płatności: karta")),
        ("fr", ("Facture", "Net à payer 76,20 EUR", "Date d'émission", "Acheteur",
                "Confirmation de commande", "Mode de paiement : carte")),
    ],
)  # fmt: skip
def test_documents_are_written_in_the_clients_language(desk, language, words):
    payload = order_payload()
    payload["client"]["language"] = language
    order = desk.orders.place_order(payload)
    desk.orders.accept_order(order["id"])
    (invoice,) = desk.billing.invoices_for_order(order["id"])
    _, text = pdf(desk.billing.document("invoice", invoice["id"]))
    _, confirmation = pdf(desk.orders.document("confirmation", order["id"]))
    text += confirmation
    for word in words:
        assert word in text, (language, word)


def test_a_changed_order_gets_a_new_confirmation_revision_and_the_old_one_stays(desk):
    order = desk.orders.place_order(order_payload())
    desk.orders.accept_order(order["id"])
    first = desk.orders.document("confirmation", order["id"])
    assert desk.orders.document("confirmation", order["id"])["sha256"] == first["sha256"]
    shipping = desk.orders.get_order(order["id"])["shippings"][0]["id"]
    contents = [{"sku": "MUG-1", "quantity": 1}, {"sku": "CARD-9", "quantity": 100}]
    desk.orders.edit_order(order["id"], {"shippings": [{"id": shipping, "lines": contents}]})
    second = desk.orders.document("confirmation", order["id"])
    assert second["number"] == f"{order['reference']}/2" and second["sha256"] != first["sha256"]
    assert desk.orders.document("confirmation", order["id"], 1) == first
    unconfirmed = desk.orders.place_order(order_payload())
    with pytest.raises(Exception) as caught:
        desk.orders.document("confirmation", unconfirmed["id"])
    assert type(caught.value).__name__ == "InvalidTransition"


def test_a_record_changed_after_issue_no_longer_verifies(desk, capsys):
    """The point of the recorded hash: if the stored record of an issued invoice is altered (here
    the order's reference it prints, straight in billing's event table: the buyer's details are
    sealed there), rendering it again no longer gives the bytes the event's SHA-256 names, and
    `oms document verify` says so (exit 1)."""
    order = desk.orders.place_order(order_payload())
    desk.orders.accept_order(order["id"])
    (invoice,) = desk.billing.invoices_for_order(order["id"])
    assert verify_document(desk, "invoice", invoice["id"], None) == 0
    assert capsys.readouterr().out.startswith("ok")
    reference = order["reference"]
    with desk.apps["billing"].engine.begin() as conn:
        conn.execute(
            sa.text(
                "UPDATE billingapplication_events"
                " SET state = CAST(REPLACE(CAST(state AS TEXT), :a, :b) AS BLOB)"
                " WHERE topic LIKE '%Account.Issued'"
            ),
            {"a": f'"{reference}"', "b": f'"{reference}-X"'},
        )
    answer = desk.billing.document("invoice", invoice["id"])
    assert hashlib.sha256(base64.b64decode(answer["content"])).hexdigest() != answer["sha256"]
    assert verify_document(desk, "invoice", invoice["id"], None) == 1
    assert capsys.readouterr().out.startswith(f"MISMATCH      invoice {invoice['number']}")
