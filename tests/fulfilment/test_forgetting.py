"""A client's personal data in fulfilment, in process with a real orders (its keys fed to
fulfilment's keyring as `orders.personal_keys` answers them), on SQLite and PostgreSQL: what
fulfilment stores holds no plaintext of the client (searched in its raw rows), what it sends
and shows has it (the distributor's request, the purchase order's PDF, the courier's page), and
once orders forgets the client all of it shows "forgotten client" — also after a rebuild — and
nothing more is sent for it."""

import base64
import hashlib
import io
import json
import time

import pytest
import sqlalchemy as sa
from pypdf import PdfReader

from shared.errors import InvalidTransition
from shared.links import CourierLinks
from shared.sealing import FORGOTTEN, is_sealed, open_with
from tests.inprocess import InProcess
from tests.support import random_ref
from tests.thirdparties import DistributorServer


@pytest.fixture
def make_desk(tmp_path, module_store):
    desks = []

    def make(**settings):
        desk = InProcess(tmp_path, services=("orders", "fulfilment"), urls=module_store,
                         SEND_BACKOFF_SECONDS=0, **settings)  # fmt: skip
        desks.append(desk)
        return desk

    yield make
    for desk in desks:
        desk.close()


@pytest.fixture
def desk(make_desk):
    return make_desk()


@pytest.fixture
def acme(tmp_path):
    with DistributorServer(tmp_path / "acme") as server:
        yield server


class Client:
    """A catalogue client with details found nowhere else (searched for in the raw rows)."""

    def __init__(self, desk):
        ref = random_ref()
        self.code = f"C{ref}"
        self.name, self.email = f"Zofia Quillfeather {ref}", f"zofia.{ref}@example.org"
        self.phone, self.street = "+44 113 496 0321", f"{ref} Marigold Row"
        self.address = {"line1": self.street, "city": "Leeds", "postcode": "LS2 7EW",
                        "country": "GB"}  # fmt: skip
        registered = desk.orders.register_client(self.code, {
            "name": self.name, "email": self.email, "phone": self.phone,
            "default_address": self.address})  # fmt: skip
        self.phone = registered["phone"]  # as orders keeps it

    @property
    def plaintext(self) -> tuple:
        return self.name, self.email, self.street, self.phone

    def order(self, desk, sku: str) -> dict:
        """An order of 3 of `sku` to the client's street, accepted."""
        lines = [{"sku": sku, "quantity": 3}]
        order = desk.orders.place_order({
            "client_code": self.code, "channel": "phone", "lines": lines,
            "shippings": [{"planned_date": "2026-12-20", "address": self.address,
                           "lines": lines}],
            "payment_method": "bank_transfer"})  # fmt: skip
        desk.orders.accept_order(order["id"])
        return order


def distributor(desk, server: DistributorServer | None) -> str:
    code = random_ref("d-")
    ordering = server.ordering() if server else {"channel": "email"}
    registered = desk.fulfilment.register_distributor(code, {
        "name": f"Distributor {code}", "account_manager_email": f"am@{code}.example",
        "ordering": ordering})  # fmt: skip
    if server:
        server.secret(registered["callback_secret"])
    return code


def product(desk, code: str) -> str:
    sku = random_ref("SKU-").upper()
    desk.orders.register_product(sku, {
        "name": f"Mug {sku}", "unit_price": "9.50", "currency": "EUR", "vat_rate": "20",
        "made_in_house": False, "distributors": [code], "default_distributor": code,
        "cost_prices": {code: "4.10"}})  # fmt: skip
    return sku


def shipped(desk, client: Client, server) -> tuple[dict, dict]:
    sku = product(desk, distributor(desk, server))
    order = client.order(desk, sku)
    desk.orders.ship_shipping(order["id"], order["shippings"][0]["id"])
    (po,) = desk.fulfilment.purchase_orders_for_order(order["id"])
    return order, po


def raw_rows(desk) -> str:
    """Every row of every table of fulfilment's store (its events included), as text."""
    engine = desk.apps["fulfilment"].engine
    found = []
    with engine.connect() as conn:
        for table in sa.inspect(engine).get_table_names():
            for row in conn.exec_driver_sql(f'SELECT * FROM "{table}"'):
                found += [bytes(v).decode("utf-8", "replace") if isinstance(v, (bytes, memoryview))
                          else str(v) for v in row]  # fmt: skip
    assert "fulfilment_outbox" in sa.inspect(engine).get_table_names()  # the right store
    return "\n".join(found)


def assert_nowhere(text: str, client: Client) -> None:
    assert f"client:{client.code}" in text  # it was searched where the client's data is
    for plain in client.plaintext:
        assert plain not in text


def pdf_text(content: str) -> str:
    pdf = base64.b64decode(content)
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def published(desk, kind: str, subject: str) -> list[dict]:
    return [e["data"] for e in desk.apps["fulfilment"].events_after(0, 100000)
            if e["type"] == f"fulfilment.{kind}" and e["subject"] == subject]  # fmt: skip


def test_a_purchase_order_is_sent_opened_stored_sealed_and_forgotten_with_its_client(desk, acme):
    client = Client(desk)
    order, po = shipped(desk, client, acme)
    assert desk.send("fulfilment") == 1
    [taken] = acme.orders()  # what the distributor was sent names the street
    assert taken["body"]["deliver_to"]["line1"] == client.street
    document = desk.fulfilment.document("purchase_order", po["id"])
    assert client.street in pdf_text(document["content"])
    pdf = base64.b64decode(document["content"])  # the bytes whose hash the reaction recorded
    assert hashlib.sha256(pdf).hexdigest() == document["sha256"]
    [attempt] = desk.fulfilment.get_purchase_order(po["id"])["sends"][0]["attempts"]
    assert attempt["content"]["body"] == taken["body"]  # shown as it was sent
    [raised] = published(desk, "purchase_order_raised", po["id"])
    assert raised["subject"] == f"client:{client.code}"
    assert_nowhere(raw_rows(desk), client)
    assert_nowhere(json.dumps(desk.apps["fulfilment"].events_after(0, 100000)), client)

    desk.orders.forget_client(client.code)
    text = pdf_text(desk.fulfilment.document("purchase_order", po["id"])["content"])
    assert FORGOTTEN in text and client.street not in text
    [attempt] = desk.fulfilment.get_purchase_order(po["id"])["sends"][0]["attempts"]
    assert attempt["content"]["body"] == FORGOTTEN  # the request as sent: sealed whole
    assert attempt["content"]["idempotency_key"] == po["id"] and attempt["outcome"] == "sent"
    assert desk.fulfilment.get_purchase_order(po["id"])["status"] == "acknowledged"  # it stands
    desk.fulfilment.rebuild_read_model()
    assert_nowhere(raw_rows(desk), client)


def test_the_pdf_an_account_manager_is_handed_travels_sealed_with_the_clients_key(desk):
    """The attempt records the PDF it hands on sealed; its event carries it as recorded (the
    same on every read of the log), and notify opens it to mail it."""
    client = Client(desk)
    order, po = shipped(desk, client, None)
    desk.send("fulfilment")
    [sent] = published(desk, "purchase_order_sent", po["id"])
    assert published(desk, "purchase_order_sent", po["id"]) == [sent]
    content = sent["document"]["content"]
    assert is_sealed(content) and content["sealed"] == sent["subject"] == f"client:{client.code}"
    key = desk.apps["orders"].personal_keys([sent["subject"]])[sent["subject"]]
    assert client.street in pdf_text(open_with(key, content))  # what notify mails
    [attempt] = desk.fulfilment.get_purchase_order(po["id"])["sends"][0]["attempts"]
    assert set(attempt["content"]) == {"document_sha256", "kind"}  # the PDF is `document`'s
    desk.orders.forget_client(client.code)
    assert desk.apps["orders"].personal_keys([sent["subject"]]) == {sent["subject"]: None}
    assert open_with(None, content) == FORGOTTEN  # what it opens to now, wherever it went
    text = pdf_text(desk.fulfilment.document("purchase_order", po["id"])["content"])
    assert FORGOTTEN in text and client.street not in text


def test_a_purchase_order_of_a_forgotten_client_is_never_sent(make_desk, acme):
    desk = make_desk(PO_SEND_DELAY_SECONDS=3600)
    client = Client(desk)
    order, po = shipped(desk, client, acme)
    desk.orders.forget_client(client.code)
    desk.fulfilment.send_purchase_order(po["id"])
    assert desk.send("fulfilment") == 0  # settled without a try
    assert acme.requests() == []
    [failed] = desk.fulfilment.outbox("failed")
    assert failed["answer"].startswith("not sent: the client was forgotten")
    assert desk.fulfilment.get_purchase_order(po["id"])["sends"][0]["status"] == "failed"


def test_a_courier_sees_the_client_whom_fulfilment_keeps_sealed_until_forgotten(desk):
    client = Client(desk)
    courier = random_ref("c-")
    desk.fulfilment.register_courier(courier, {
        "name": "Jan Kowalski", "email": f"{courier}@couriers.example",
        "phone": "+48 600 100 200"})  # fmt: skip
    sku = product(desk, distributor(desk, None))
    order, other = client.order(desk, sku), client.order(desk, sku)
    run = desk.fulfilment.assign_courier(order["id"], order["shippings"][0]["id"], courier)
    assert run["address"]["line1"] == client.street
    token = CourierLinks(desk.settings).url(run["id"], 1, int(time.time()) + 3600)
    token = token.rsplit("/", 1)[1]
    task = desk.fulfilment.courier_task(token)  # what the courier's page shows
    assert task["client"] == {"name": client.name, "phone": client.phone}
    assert task["address"]["line1"] == client.street
    [assigned] = published(desk, "courier_assigned", run["id"])
    assert assigned["subject"] == assigned["client"]["subject"] == f"client:{client.code}"
    assert is_sealed(assigned["client"]["name"]) and is_sealed(assigned["address"]["line1"])
    assert_nowhere(raw_rows(desk), client)
    assert_nowhere(json.dumps(desk.apps["fulfilment"].events_after(0, 100000)), client)

    desk.orders.forget_client(client.code)
    task = desk.fulfilment.courier_task(token)
    assert task["client"] == {"name": FORGOTTEN, "phone": FORGOTTEN}
    assert task["address"]["line1"] == FORGOTTEN and task["address"]["country"] == "GB"
    assert desk.fulfilment.courier_delivered(token)["marked_now"] is True  # the run stands
    with pytest.raises(InvalidTransition) as refused:  # no courier is sent to nobody
        desk.fulfilment.assign_courier(other["id"], other["shippings"][0]["id"], courier)
    assert refused.value.details["rule"] == "client_forgotten"
    desk.fulfilment.rebuild_read_model()
    assert_nowhere(raw_rows(desk), client)
