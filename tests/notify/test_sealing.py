"""A client's details in notify, in process (orders and notify on SQLite files, notify's keyring
asking the orders application for keys; a real local SMTP server and SMS provider): notify keeps
them sealed as orders published them — in its events, its outbox, its journal — and opens them
only to send a message or to answer an RPC; once the client is forgotten nothing more is sent to
it and what notify shows of it reads "forgotten client". Events published before sealing hold
plain details: the journal scrubs a forgotten client's. (A running system: test_forgetting.py.)"""

import json
import uuid

import pytest
import sqlalchemy as sa

from services.notify.sealed import Blanks, fill
from services.notify.sending import NOT_SENT
from services.notify.templates import Templates
from shared.errors import InvalidTransition
from shared.sealing import FORGOTTEN, is_sealed, new_key, seal
from tests.inprocess import InProcess
from tests.support import order_payload, random_ref
from tests.thirdparties import MailServer, SmsProvider, html_of, text_of

STREET, EMAIL, PHONE = "12 St James's Sq", "ada@example.com", "7946 0000"


@pytest.fixture
def mail(tmp_path):
    with MailServer(tmp_path / "mail") as server:
        yield server


@pytest.fixture
def phone(tmp_path):
    with SmsProvider(tmp_path / "sms") as provider:
        yield provider


@pytest.fixture
def desk(tmp_path, mail, phone):
    desk = InProcess(
        tmp_path,
        services=("orders", "notify"),
        OPS_EMAIL="ops@example.com",
        SEND_BACKOFF_SECONDS=0,
        NOTIFY_POLICY="auto",
        NOTIFY_POLICIES="orders.order_accepted=manual",
        PUBLIC_URL="https://shop.example.com",
        **mail.settings(),
        **phone.settings(),
    )
    yield desk
    desk.close()


def holding(engine: sa.Engine, *needles) -> dict:
    """{table: the needles found in it}, over every row of every table of a store."""
    found = {}
    with engine.connect() as conn:
        for table in sa.inspect(engine).get_table_names():
            rows = conn.execute(sa.text(f'SELECT * FROM "{table}"'))
            text = " ".join(_text(value) for row in rows for value in row)
            if hits := [n for n in needles if n in text]:
                found[table] = hits
    return found


def _text(value) -> str:
    if isinstance(value, bytes | memoryview):
        return bytes(value).decode("utf-8", "replace")
    return str(value)


def of(desk, order_id, event_type):
    notes = desk.notify.notifications_for_order(order_id)
    return next(n for n in notes if n["event_type"] == event_type)


def test_notify_keeps_a_clients_details_sealed_and_sends_them_plain(desk, mail, phone):
    payload = order_payload()
    name = payload["client"]["name"]
    order = desk.orders.place_order(payload)
    desk.send("notify")
    placed = of(desk, order["id"], "orders.order_placed")
    desk.notify.resend_notification(placed["id"], recipient="grace@example.com")
    desk.send("notify")
    desk.notify.resend_notification(placed["id"], channel="sms")
    desk.send("notify")

    first, again = mail.messages()  # sent: opened
    assert (first["To"], again["To"]) == (EMAIL, "grace@example.com")
    assert f"Hello {name}," in text_of(first) and f"Hello {name}," in html_of(first)
    (text,) = phone.messages()
    assert text["to"] == "442079460000"
    shown = of(desk, order["id"], "orders.order_placed")  # an RPC answer: opened
    assert shown["recipient"] == EMAIL and shown["phone"] == "+44 20 7946 0000"
    assert shown["body"].startswith(f"Hello {name},")
    assert shown["client_subject"] == f"order:{order['id']}"
    attempts = [s["attempts"][0] for s in shown["sends"]]
    assert [a["recipient"] for a in attempts] == [EMAIL, "grace@example.com", "+44 20 7946 0000"]
    assert text_of(first).strip() == attempts[0]["content"]["text"].strip()
    assert attempts[2]["content"] == {"text": text["text"]}

    notify = desk.apps["notify"]  # kept: sealed, in every table
    assert holding(notify.engine, name, EMAIL, "grace@example.com", PHONE, STREET) == {}
    assert holding(notify.engine, f"order:{order['id']}")  # (it is there, under its subject)
    published = {e["type"]: e["data"] for e in notify.events_after(0, 100)}
    queued, sent = published["notify.notification_queued"], published["notify.notification_sent"]
    assert is_sealed(queued["recipient"]) and is_sealed(sent["recipient"])
    assert queued["client_subject"] == f"order:{order['id']}"


def test_a_forgotten_client_is_sent_nothing_more_and_shown_as_forgotten(desk, mail):
    code = random_ref("C")
    details = {"name": f"Grace {code}", "email": "grace@example.com", "phone": "+1 202 555 0100"}
    desk.orders.register_client(code, details)
    payload = order_payload()
    del payload["client"]
    payload["client_code"] = code
    first = desk.orders.place_order(payload)
    desk.orders.accept_order(first["id"])  # manual: it waits for an operator
    desk.send("notify")
    second = desk.orders.place_order(payload)  # its message is pending when the client goes
    desk.orders.forget_client(code)
    desk.send("notify")
    assert len(mail.messages()) == 1  # the first order's only

    placed = of(desk, first["id"], "orders.order_placed")
    assert placed["recipient"] == FORGOTTEN and placed["body"].startswith(f"Hello {FORGOTTEN},")
    assert placed["sends"][0]["attempts"][0]["content"] == FORGOTTEN
    pending = of(desk, second["id"], "orders.order_placed")
    assert pending["status"] == "failed" and pending["recipient"] == FORGOTTEN
    (attempt,) = pending["sends"][0]["attempts"]
    assert attempt["answer"] == NOT_SENT and attempt["content"] == {}
    waiting = of(desk, first["id"], "orders.order_accepted")
    with pytest.raises(InvalidTransition, match="forgotten"):
        desk.notify.send_notification(waiting["id"])
    with pytest.raises(InvalidTransition, match="forgotten"):
        desk.notify.resend_notification(placed["id"], recipient="other@example.com")
    with pytest.raises(InvalidTransition, match="forgotten"):
        desk.notify.message_client(first["id"], "email", "Hello", "Are you there?")

    desk.orders.hold_order(first["id"], "waiting for artwork")  # a new message, to nobody
    desk.send("notify")
    held = of(desk, first["id"], "orders.order_held")
    assert held["status"] == "failed"
    assert held["sends"][0]["attempts"][0]["answer"] == NOT_SENT
    assert len(mail.messages()) == 1  # nothing more went out

    notify = desk.apps["notify"]
    assert desk.notify.rebuild_read_model()["sends"] == 3
    assert holding(notify.engine, details["name"], details["email"], "555 0100", STREET) == {}


def test_a_sealed_value_is_written_as_a_blank_and_filled_only_where_it_is_sent():
    name = "Zoë <Ops> & Co"
    sealed = seal(new_key(), "client:ZOE", name)
    blanks = Blanks({"reference": "2026-000042", "reason": "no stock", "client": {"name": sealed}})
    rendered = Templates().render("orders.order_declined", blanks.data, "en", None)
    written = rendered.subject + rendered.text + rendered.html + rendered.sms
    assert "Zoë" not in written and "Ops" not in written
    kept = blanks.kept(rendered.subject, rendered.text, rendered.html, rendered.sms)
    assert list(kept.values()) == [sealed]
    opened = {number: name for number in kept}
    assert fill(rendered.text, opened).startswith("Hello Zoë <Ops> & Co,")
    html = fill(rendered.html, opened, html=True)
    assert "Zoë &lt;Ops&gt; &amp; Co" in html and "<Ops>" not in html


def courier_assigned(order: dict, placed: dict) -> dict:
    """fulfilment.courier_assigned as fulfilment publishes it: the client and the address
    sealed as orders published them."""
    shipping = placed["shippings"][0]
    data = {
        "run_id": str(uuid.uuid4()),
        "order_id": order["id"],
        "order_reference": order["reference"],
        "shipping_id": shipping["id"],
        "courier": {"name": "Jan", "email": "jan@couriers.example", "phone": "+48 600 100 200"},
        "client": placed["client"],
        "address": shipping["address"],
        "lines": [{"sku": "MUG-1", "name": "Mug", "quantity": 3}],
        "planned_date": "2026-12-01",
        "eta": "2026-12-01T14:30:00+00:00",
        "generation": 1,
        "expires": 1893456000,
        "delivered": None,
        "version": 1,
    }
    return envelope("fulfilment.courier_assigned", 1, order["id"], data)


def envelope(kind: str, sequence: int, order_id: str, data: dict) -> dict:
    service = kind.split(".")[0]
    return {
        "specversion": "1.0",
        "id": f"{service}:{sequence}",
        "source": f"oms/{service}",
        "type": kind,
        "dataversion": 1,
        "time": "2026-11-30T10:00:00+00:00",
        "subject": order_id,
        "datacontenttype": "application/json",
        "sequence": sequence,
        "correlationid": f"{service}:{sequence}",
        "causationid": f"{service}:{sequence}",
        "data": data,
    }


def test_a_courier_is_told_whom_to_deliver_to_only_in_the_message_it_gets(desk, mail, phone):
    payload = order_payload()
    name = payload["client"]["name"]
    order = desk.orders.place_order(payload)
    placed = desk.apps["orders"].events_after(0, 1)[0]["data"]
    notify = desk.apps["notify"]
    notify.handle(courier_assigned(order, placed), None)
    desk.send("notify")
    to_courier = next(m for m in mail.messages() if m["To"] == "jan@couriers.example")
    assert to_courier["Subject"] == f"Delivery of order {order['reference']} to London"
    assert f"{name}, phone +44 20 7946 0000" in text_of(to_courier)
    assert f"{STREET}, SW1Y 4JH London, GB" in text_of(to_courier)
    (sms,) = [t for t in phone.messages() if t["to"] == "48600100200"]
    assert sms["text"].startswith(f"Deliver {order['reference']} to {name} (+44 20 7946 0000)")
    assert holding(notify.engine, name, EMAIL, PHONE, STREET, "SW1Y") == {}
    published = [e["data"] for e in notify.events_after(0, 100)]
    subjects = {d["subject"] for d in published if d["recipient"] == "jan@couriers.example"}
    assert f"Delivery of order {order['reference']} to …" in subjects  # integrators: no city


def legacy(kind: str, sequence: int, order_id: str, code: str, **data) -> dict:
    """An event as published before sealing: the client's details and address plain."""
    address = {"line1": "1 Old Street", "line2": None, "city": "London", "postcode": "EC1V 9HL"}
    client = {"code": code, "name": "Old Timer", "email": "old@example.com", "phone": "+4479"}
    shipping = {"id": "s1", "address": dict(address, country="GB"), "lines": [], "status": "new"}
    data = {"order_id": order_id, "client": client, "shippings": [shipping], **data}
    return envelope(kind, sequence, order_id, data)


def test_a_forgotten_clients_details_published_before_sealing_are_scrubbed(desk, mail):
    notify, code, order_id = desk.apps["notify"], random_ref("OLD"), str(uuid.uuid4())
    reference = {"reference": "2026-000900", "status": "new", "total": "9.50", "currency": "EUR"}
    notify.handle(legacy("orders.order_placed", 9001, order_id, code, **reference), None)
    assert "notify_journal" in holding(notify.engine, "Old Timer", "1 Old Street")
    forgotten = {"subject": f"client:{code}", "code": code, "actor": "root"}
    notify.handle(envelope("orders.client_forgotten", 9002, f"client:{code}", forgotten), None)
    invoice = {"order_reference": "2026-000900", "number": "FV/1", "total": "9.50"}
    notify.handle(
        legacy("billing.invoice_issued", 9003, order_id, code, currency="EUR", **invoice), None
    )

    needles = ("Old Timer", "old@example.com", "+4479", "1 Old Street", "EC1V")
    # only the message written before forgetting keeps them, in its events: it was written
    # from plain details, with no key to seal them (it is never sent; no read model has them)
    kept = holding(notify.engine, *needles)
    assert kept == {"notifyapplication_events": ["Old Timer", "old@example.com", "+4479"]}
    journaled = [json.loads(notify.journal.envelope(notify.engine, p)) for p in (1, 3)]
    for entry in journaled:
        assert entry["data"]["client"]["name"] == FORGOTTEN
        assert entry["data"]["client"]["code"] == code  # only the details go
        assert entry["data"]["shippings"][0]["address"]["country"] == "GB"
    desk.send("notify")  # the message written before forgetting, and the one after
    assert mail.messages() == []
    notes = desk.notify.notifications_for_order(order_id)
    assert [n["sends"][0]["attempts"][0]["answer"] for n in notes] == [NOT_SENT, NOT_SENT]
