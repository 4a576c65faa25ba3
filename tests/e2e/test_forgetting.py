"""Forgetting a client, through the whole running system (the five services and the gateway, a
real RabbitMQ, SQLite or PostgreSQL stores, a real SMTP server, SMS provider and distributor).

A catalogue client and a guest order, are invoiced, made, shipped to a distributor and told of
every step; an integrator's queue keeps every message. Their details reach who must have them
(the client's mailbox, the distributor's delivery address, the invoice). Then both are
forgotten, and every table of every store (events, read models rebuilt from the log, outboxes,
parked events, replays), every message still queued and every log line is scanned for any of
their details: none is left, while their orders, totals, statuses and history are intact, the
log replays, and another client is untouched."""

import json

import pytest
import sqlalchemy as sa
from kombu import Connection, Queue, binding

from oms.serve import SERVICE_CLASSES
from shared.relay import event_exchange
from shared.sealing import FORGOTTEN
from shared.settings import SERVICES
from tests.conftest import fresh_store, fresh_vhost
from tests.faults.burst import assert_verified
from tests.support import System, eventually, order_payload, random_ref, user_uri
from tests.thirdparties import DistributorServer, MailServer, SmsProvider

ADDRESS = {"line1": "17 Quillfeather Lane", "line2": "Flat Zephyrine", "city": "Thistlecombe",
           "postcode": "TC9 4ZZ", "country": "GB"}  # fmt: skip
CLIENT = {"name": "Orla Quillfeather", "email": "orla@quillfeather.example",
          "phone": "+447700900417", "default_address": ADDRESS}  # fmt: skip
GUEST = {"name": "Pim Vandergast", "email": "pim@vandergast.example", "phone": "+31612345678"}
GUEST_ADDRESS = {"line1": "3 Brambleworth Row", "city": "Oxhollow", "postcode": "OX7 7QQ",
                 "country": "GB"}  # fmt: skip
MARKS = ("Quillfeather", "quillfeather", "7700900417", "Zephyrine", "Thistlecombe", "TC9 4ZZ",
         "Vandergast", "vandergast", "612345678", "Brambleworth", "Oxhollow", "OX7 7QQ")  # fmt: skip


def found(text: str) -> list[str]:
    return [mark for mark in MARKS if mark in text]


def stored_text(urls: dict) -> dict[str, str]:
    """Every row of every table of every store, as text, per store."""
    texts = {}
    for service, url in urls.items():
        engine = sa.create_engine(url)
        parts = []
        with engine.connect() as conn:
            for name in sa.inspect(conn).get_table_names():
                for row in conn.execute(sa.text(f'SELECT * FROM "{name}"')):
                    for value in row:
                        if isinstance(value, bytes | memoryview):
                            value = bytes(value).decode("utf-8", "replace")
                        parts.append(f"{name}: {value}")
        engine.dispose()
        texts[service] = "\n".join(parts)
    return texts


def leftovers(urls: dict) -> dict[str, list[str]]:
    """{store: [(table) lines holding a detail of the forgotten clients]}."""
    return {
        service: [line[:200] for line in text.splitlines() if found(line)]
        for service, text in stored_text(urls).items()
        if found(text)
    }


@pytest.fixture(params=["sqlite", "postgres"])
def system(request, rabbit, tmp_path):
    with (
        MailServer(tmp_path / "mail") as mail,
        SmsProvider(tmp_path / "sms") as phone,
        DistributorServer(tmp_path / "acme") as acme,
        fresh_vhost(rabbit) as uri,
        fresh_store(request.param, tmp_path, request) as urls,
    ):
        settings = {**mail.settings(), **phone.settings(), "PUBLIC_URL": "https://shop.example"}
        with System(
            uri, urls, services=(*SERVICE_CLASSES, "gateway"), NOTIFY_POLICY="auto",
            SEND_BACKOFF_SECONDS=0.3, **settings,
        ) as running:  # fmt: skip
            running.mail, running.phone, running.acme, running.urls = mail, phone, acme, urls
            yield running


def test_a_forgotten_client_leaves_no_trace_and_its_orders_stay(system, capfd):
    integrator = Queue(
        "integrator.everything",
        bindings=[binding(event_exchange(s, passive=True), routing_key="#") for s in SERVICES],
        durable=True,
    )
    with Connection(user_uri(system.amqp_uri, "integrator")) as conn:
        integrator(conn.default_channel).declare()  # keeps every message until the end

    code, sku, acme = random_ref("Q").upper(), random_ref("MUG-").upper(), random_ref("acme-")
    with system.rpc(timeout=30) as rpc:
        registered = rpc.fulfilment.register_distributor(
            acme, {"name": "Acme", "account_manager_email": "am@acme.example",
                   "ordering": system.acme.ordering()},
        )  # fmt: skip
        system.acme.secret(registered["callback_secret"])
        rpc.orders.register_product(
            sku, {"name": "Mug", "unit_price": "9.50", "currency": "EUR", "vat_rate": "20",
                  "made_in_house": False, "distributors": [acme], "default_distributor": acme,
                  "cost_prices": {acme: "4.10"}},
        )  # fmt: skip
        rpc.orders.register_client(code, CLIENT)
        lines = [{"sku": sku, "quantity": 2}, order_payload()["lines"][1]]  # bought, made
        known = dict(order_payload(client_code=code), lines=lines)
        del known["client"]
        known["shippings"] = [{"planned_date": "2026-12-20", "lines": _quantities(lines)}]
        guest = dict(order_payload(client=GUEST), lines=lines)
        guest["shippings"] = [
            {"planned_date": "2026-12-20", "address": GUEST_ADDRESS, "lines": _quantities(lines)}
        ]
        other = dict(order_payload(), lines=lines)  # a client nobody forgets
        other["shippings"] = [dict(other["shippings"][0], lines=_quantities(lines))]
        orders = [rpc.orders.place_order(p) for p in (known, guest, other)]
        for order in orders:
            rpc.orders.accept_order(order["id"])
            rpc.orders.ship_shipping(order["id"], order["shippings"][0]["id"])
        for order in orders:
            eventually(lambda o=order: _everything_done(rpc, o), timeout=120)
        before = {o["id"]: rpc.orders.get_order(o["id"]) for o in orders}
        invoices = {o["id"]: rpc.billing.invoices_for_order(o["id"]) for o in orders}
        printed = {
            d["id"]: (answer["content"], answer["sha256"])
            for documents in invoices.values()
            for d in documents
            for answer in [rpc.billing.document("invoice", d["id"])]
        }

    # their details reached who must have them, and the stores show them (the scan sees them)
    mail = "\n".join(str(m) for m in system.mail.messages())
    assert "orla@quillfeather.example" in mail and "pim@vandergast.example" in mail
    delivered = json.dumps(system.acme.orders())
    assert "Quillfeather Lane" in delivered and "Brambleworth Row" in delivered
    assert leftovers(system.urls).get("orders")  # the desk's list shows them, until forgotten

    with system.rpc(timeout=30) as rpc:
        rpc.orders.forget_client(code)
        rpc.orders.forget_client(f"order:{orders[1]['id']}")
        for service in SERVICES:  # wait until every service heard it, then rebuild from the logs
            eventually(lambda s=service: _heard_all(rpc, s), timeout=60)
            for name in getattr(rpc, service).read_models():
                getattr(rpc, service).rebuild(name)

        for order in orders[:2]:
            after = rpc.orders.get_order(order["id"])
            assert after["client"]["name"] == FORGOTTEN
            assert after["shippings"][0]["address"]["line1"] == FORGOTTEN
            was = before[order["id"]]
            assert (after["status"], after["total"], after["payment_status"]) == (
                was["status"], was["total"], was["payment_status"],
            )  # fmt: skip
            assert [h["event"] for h in after["history"]] == [h["event"] for h in was["history"]]
            # billing's documents stay; only the details they show follow the client's key...
            shown = rpc.billing.invoices_for_order(order["id"])
            assert [_unnamed(d) for d in shown] == [_unnamed(d) for d in invoices[order["id"]]]
            assert {d["billing"]["name"] for d in shown} == {FORGOTTEN}
            for invoice in invoices[order["id"]]:  # ...but an invoice prints what it printed
                again = rpc.billing.document("invoice", invoice["id"])
                assert (again["content"], again["sha256"]) == printed[invoice["id"]]
        assert rpc.orders.get_order(orders[2]["id"]) == before[orders[2]["id"]]

    queued = []
    with Connection(user_uri(system.amqp_uri, "integrator")) as conn:
        channel = conn.default_channel
        while (message := channel.basic_get(integrator.name)) is not None:
            queued.append(message.body if isinstance(message.body, str) else message.body.decode())
        integrator(channel).delete()
    assert queued and not found("\n".join(queued))  # what travelled was sealed from the start
    assert "orders.client_forgotten" in "\n".join(queued)

    assert_verified(system.amqp_uri)  # the logs replay into the same state: no breach
    assert not leftovers(system.urls)
    logs = capfd.readouterr()
    assert not found(logs.out + logs.err)


def _unnamed(document: dict) -> dict:
    """A billing document as shown, without the client's details (they follow its key)."""
    return {k: v for k, v in document.items() if k != "billing"}


def _heard_all(rpc, service: str) -> bool:
    """`service` has processed everything its upstreams published."""
    status = getattr(rpc, service).log_status()
    for upstream, position in status["tracking"].items():
        upstream_status = getattr(rpc, upstream).log_status()
        if position < upstream_status["relayed_position"]:
            return False
    return True


def _quantities(lines: list) -> list:
    return [{"sku": line["sku"], "quantity": line["quantity"]} for line in lines]


def _everything_done(rpc, order) -> bool:
    """Invoiced, its purchase order acknowledged by the distributor, the client told."""
    invoiced = rpc.billing.invoices_for_order(order["id"])
    bought = rpc.fulfilment.purchase_orders_for_order(order["id"])
    told = rpc.notify.notifications_for_order(order["id"])
    return (
        bool(invoiced)
        and bool(bought)
        and all(p["status"] == "acknowledged" for p in bought)
        and bool(told)
        and all(n["status"] == "sent" for n in told)
    )
