"""Forgetting a client, through orders and fulfilment running for real (over RabbitMQ, each as
its own broker user, on SQLite): fulfilment asks orders for the client's key over RPC, sends the
purchase order with the client's street and shows it to the courier, keeps none of it in plain
in its store (its database file searched byte by byte), and shows "forgotten client" once
orders has forgotten the client."""

import base64
import io
import time
from pathlib import Path

import pytest
from pypdf import PdfReader

from shared.links import CourierLinks
from shared.sealing import FORGOTTEN
from shared.settings import Settings
from tests.conftest import fresh_sqlite, fresh_vhost
from tests.support import System, eventually, random_ref
from tests.thirdparties import DistributorServer


@pytest.fixture
def system(rabbit, tmp_path):
    with fresh_vhost(rabbit) as uri:
        running = System(uri, fresh_sqlite(tmp_path), services=("orders", "fulfilment"))
        running.config.update(SEND_BACKOFF_SECONDS=0.3, PO_SEND_DELAY_SECONDS=0)
        with running:
            yield running


def stored_bytes(system) -> bytes:
    """Fulfilment's SQLite database as it lies on disk (its write-ahead log too)."""
    path = Path(system.database_urls["fulfilment"].removeprefix("sqlite:///"))
    return b"".join(p.read_bytes() for p in (path, path.with_name(path.name + "-wal"))
                    if p.exists())  # fmt: skip


def pdf_text(answer: dict) -> str:
    pdf = base64.b64decode(answer["content"])
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def test_fulfilment_opens_a_client_with_keys_from_orders_and_forgets_it(system, tmp_path):
    ref = random_ref()
    code, distributor, courier, sku = f"C{ref}", f"d-{ref}", f"c-{ref}", f"SKU-{ref}".upper()
    name, email, street = f"Zofia Quillfeather {ref}", f"zofia.{ref}@example.org", f"{ref} Row"
    address = {"line1": street, "city": "Leeds", "postcode": "LS2 7EW", "country": "GB"}
    with DistributorServer(tmp_path / "acme") as acme, system.rpc(timeout=30) as rpc:
        registered = rpc.fulfilment.register_distributor(distributor, {
            "name": "Acme", "account_manager_email": "am@acme.example",
            "ordering": acme.ordering()})  # fmt: skip
        acme.secret(registered["callback_secret"])
        rpc.fulfilment.register_courier(
            courier,
            {"name": "Jan Kowalski", "email": "jan@couriers.example", "phone": "+48 600 100 200"},
        )
        phone = rpc.orders.register_client(code, {
            "name": name, "email": email, "phone": "+44 113 496 0321",
            "default_address": address})["phone"]  # fmt: skip
        rpc.orders.register_product(
            sku,
            {
                "name": "Mug",
                "unit_price": "9.50",
                "currency": "EUR",
                "vat_rate": "20",
                "made_in_house": False,
                "distributors": [distributor],
                "default_distributor": distributor,
                "cost_prices": {distributor: "4.10"},
            },
        )
        orders = []
        for _ in range(2):
            lines = [{"sku": sku, "quantity": 3}]
            order = rpc.orders.place_order({
                "client_code": code, "channel": "phone", "lines": lines,
                "shippings": [{"planned_date": "2026-12-20", "address": address, "lines": lines}],
                "payment_method": "bank_transfer"})  # fmt: skip
            rpc.orders.accept_order(order["id"])
            orders.append(order)
        bought, carried = orders
        rpc.orders.ship_shipping(bought["id"], bought["shippings"][0]["id"])
        (po,) = eventually(lambda: rpc.fulfilment.purchase_orders_for_order(bought["id"]))
        eventually(lambda: rpc.fulfilment.get_purchase_order(po["id"])["status"] == "acknowledged")
        [taken] = acme.orders()
        assert taken["body"]["deliver_to"]["line1"] == street  # sent opened
        assert street in pdf_text(rpc.fulfilment.document("purchase_order", po["id"]))
        run = rpc.fulfilment.assign_courier(carried["id"], carried["shippings"][0]["id"], courier)
        links = CourierLinks(Settings.load(system.config))
        token = links.url(run["id"], 1, int(time.time()) + 3600).rsplit("/", 1)[1]
        assert rpc.fulfilment.courier_task(token)["client"] == {"name": name, "phone": phone}
        stored = stored_bytes(system)
        assert f"client:{code}".encode() in stored  # what was searched holds the client's data
        for plain in (name, email, street, phone):
            assert plain.encode() not in stored

        rpc.orders.forget_client(code)
        eventually(
            lambda: FORGOTTEN in pdf_text(rpc.fulfilment.document("purchase_order", po["id"]))
        )
        assert street not in pdf_text(rpc.fulfilment.document("purchase_order", po["id"]))
        task = rpc.fulfilment.courier_task(token)
        assert task["client"] == {"name": FORGOTTEN, "phone": FORGOTTEN}
        assert task["address"]["line1"] == FORGOTTEN
        rpc.fulfilment.rebuild_read_model()
        stored = stored_bytes(system)
        for plain in (name, email, street, phone):
            assert plain.encode() not in stored
