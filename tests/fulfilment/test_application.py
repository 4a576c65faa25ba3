"""Fulfilment in process, fed by the orders service, on SQLite and PostgreSQL, sending to real
local distributors (oms/distributor.py) through the shared sender: a shipped shipping raises one
purchase order per distributor at the catalogue's cost prices; each goes to its distributor with
its id as the idempotency key, is acknowledged or rejected, retried through failures and
delivered once; cancelled with the distributor after a void; edited before it goes."""

import hashlib
import json
import time

import pytest

from shared import signing
from shared.errors import InvalidTransition, NotFound, Unauthenticated, ValidationFailed
from tests.inprocess import InProcess
from tests.support import order_payload, random_ref
from tests.thirdparties import DistributorServer, MailServer, text_of

ADDRESS = {"line1": "1 Main St", "city": "Leeds", "postcode": "LS1 1AA", "country": "GB"}


@pytest.fixture
def store(module_store):
    return module_store


@pytest.fixture
def make_desk(tmp_path, store):
    desks = []

    def make(**settings):
        desk = InProcess(
            tmp_path, services=("orders", "fulfilment"), urls=store, SEND_BACKOFF_SECONDS=0,
            **settings,
        )  # fmt: skip
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


def register(desk, server: DistributorServer, **details) -> dict:
    code = random_ref("d-")
    registered = desk.fulfilment.register_distributor(
        code,
        {
            "name": f"Distributor {code}",
            "account_manager_email": f"am@{code}.example",
            "ordering": server.ordering() if server else {"channel": "email"},
            **details,
        },
    )
    if server:
        server.secret(registered["callback_secret"])
    return registered


def product(desk, distributor: str, cost: str = "4.10", **more) -> str:
    sku = random_ref("SKU-").upper()
    desk.orders.register_product(
        sku,
        {
            "name": f"Mug {sku}",
            "unit_price": "9.50",
            "currency": "EUR",
            "vat_rate": "20",
            "made_in_house": False,
            "distributors": [distributor],
            "default_distributor": distributor,
            "cost_prices": {distributor: cost},
            "weight": "0.350",
            **more,
        },
    )
    return sku


def shipped(desk, *skus: str) -> tuple[dict, list]:
    """An order of 3 of each sku (from the catalogue), accepted and shipped."""
    lines = [{"sku": sku, "quantity": 3} for sku in skus]
    payload = order_payload()
    payload.update(
        lines=lines,
        shippings=[{"planned_date": "2026-12-20", "address": ADDRESS, "lines": lines}],
    )
    order = desk.orders.place_order(payload)
    desk.orders.accept_order(order["id"])
    desk.orders.ship_shipping(order["id"], order["shippings"][0]["id"])
    return order, desk.fulfilment.purchase_orders_for_order(order["id"])


def test_a_shipped_line_is_sent_to_its_distributor_once_and_acknowledged(desk, acme):
    code = register(desk, acme)["code"]
    sku = product(desk, code, cost="4.10")
    order, [po] = shipped(desk, sku)
    assert po["status"] == "raised" and po["channel"] == "api"
    assert po["lines"][0]["cost_price"] == "4.1000" or po["lines"][0]["cost_price"] == "4.10"
    assert po["lines"][0]["cost_source"] == "catalogue"
    assert desk.send("fulfilment") == 1
    po = desk.fulfilment.get_purchase_order(po["id"])
    assert po["status"] == "acknowledged"
    assert po["acknowledgement"]["by"] == "answer"
    [taken] = acme.orders()
    assert taken["key"] == po["id"]  # the purchase order's id is the idempotency key
    assert taken["body"]["number"] == po["number"]
    assert taken["body"]["lines"] == [
        {"sku": sku, "name": f"Mug {sku}", "quantity": 3, "cost_price": po["lines"][0]["cost_price"],
         "currency": "EUR"}
    ]  # fmt: skip
    assert po["acknowledgement"]["reference"] == taken["answer"]["reference"]
    [send] = po["sends"]
    assert send["status"] == "sent" and send["attempts"][0]["answer"].startswith("HTTP 201")
    assert "credential" not in json.dumps(send)
    assert desk.send("fulfilment") == 0  # nothing is sent twice


def test_a_failing_distributor_is_retried_and_orders_once(desk, acme):
    code = register(desk, acme)["code"]
    order, [po] = shipped(desk, product(desk, code))
    acme.script("http 503", "hang 0", "lost")  # down, timed out at its end, answer lost
    desk.send("fulfilment", passes=4)
    po = desk.fulfilment.get_purchase_order(po["id"])
    outcomes = [a["outcome"] for a in po["sends"][0]["attempts"]]
    assert outcomes == ["retry", "retry", "retry", "sent"]
    assert po["status"] == "acknowledged"
    assert len(acme.requests()) == 4 and len(acme.orders()) == 1  # delivered once
    assert {r["key"] for r in acme.requests()} == {po["id"]}


def test_a_permanent_refusal_fails_the_send_and_operations_see_it(desk, acme):
    code = register(desk, acme)["code"]
    order, [po] = shipped(desk, product(desk, code))
    acme.script("http 422")
    desk.send("fulfilment")
    po = desk.fulfilment.get_purchase_order(po["id"])
    assert po["status"] == "raised" and po["sends"][0]["status"] == "failed"
    failed = desk.fulfilment.outbox("failed")
    assert [s["send_id"] for s in failed] == [f"{po['id']}:order"]
    assert failed[0]["answer"].startswith("HTTP 422")


def test_a_rejection_is_visible(desk, acme):
    code = register(desk, acme)["code"]
    order, [po] = shipped(desk, product(desk, code))
    acme.script("reject discontinued")
    desk.send("fulfilment")
    po = desk.fulfilment.get_purchase_order(po["id"])
    assert po["status"] == "rejected"
    assert po["rejection"]["reason"] == "discontinued" and po["rejection"]["by"] == "answer"
    rejected = [e for e in desk.apps["fulfilment"].events_after(0, 1000)
                if e["type"] == "fulfilment.purchase_order_rejected"]  # fmt: skip
    assert rejected[-1]["data"]["reason"] == "discontinued"


def test_a_void_cancels_a_sent_purchase_order_with_its_distributor(desk, acme):
    code = register(desk, acme)["code"]
    order, [po] = shipped(desk, product(desk, code))
    desk.send("fulfilment")
    desk.orders.void_order(order["id"], "client changed their mind")
    po = desk.fulfilment.get_purchase_order(po["id"])
    assert po["status"] == "cancelled" and po["cancellation"]["by_void"] is True
    desk.send("fulfilment")
    [cancelled] = acme.cancellations()
    assert cancelled == {"purchase_order_id": po["id"], "key": f"{po['id']}:cancellation"}
    kinds = {s["kind"]: s["status"] for s in desk.fulfilment.get_purchase_order(po["id"])["sends"]}
    assert kinds == {"order": "sent", "cancellation": "sent"}


def test_a_void_before_sending_drops_the_send(make_desk, acme):
    desk = make_desk(PO_SEND_DELAY_SECONDS=3600)
    code = register(desk, acme)["code"]
    order, [po] = shipped(desk, product(desk, code))
    assert desk.send("fulfilment") == 0  # not due for an hour
    desk.orders.void_order(order["id"], "duplicate")
    po = desk.fulfilment.get_purchase_order(po["id"])
    assert po["status"] == "cancelled"
    assert [s["status"] for s in po["sends"]] == ["dropped"]
    assert desk.fulfilment.outbox("dropped")[0]["send_id"] == f"{po['id']}:order"
    desk.fulfilment.send_purchase_order  # noqa: B018 - exists, but there is nothing to send:
    with pytest.raises(NotFound):
        desk.fulfilment.send_purchase_order(po["id"])
    assert acme.requests() == []


def test_costs_edited_before_sending_go_to_the_distributor_in_a_new_revision(make_desk, acme):
    desk = make_desk(PO_SEND_DELAY_SECONDS=3600)
    code = register(desk, acme)["code"]
    sku = product(desk, code, cost="4.10")
    order, [po] = shipped(desk, sku)
    edited = desk.fulfilment.edit_purchase_order_costs(po["id"], {sku: "3.95"}, "agreed by phone")
    assert (
        edited["lines"][0]["cost_price"] == "3.95" and edited["lines"][0]["cost_source"] == "edited"
    )
    assert edited["revisions"] == 2 and edited["costs_edited"]["reason"] == "agreed by phone"
    first = desk.fulfilment.document("purchase_order", po["id"], 1)
    second = desk.fulfilment.document("purchase_order", po["id"])
    assert first["sha256"] != second["sha256"]
    desk.fulfilment.send_purchase_order(po["id"])
    desk.send("fulfilment")
    [taken] = acme.orders()
    assert taken["body"]["lines"][0]["cost_price"] == "3.95"
    sent = [e for e in desk.apps["fulfilment"].events_after(0, 5000)
            if e["type"] == "fulfilment.purchase_order_sent" and e["subject"] == po["id"]]  # fmt: skip
    assert sent[0]["data"]["recipient"].startswith("am@")  # the PDF goes to the account manager
    assert sent[0]["data"]["document"]["sha256"] == second["sha256"]
    with pytest.raises(InvalidTransition) as refused:
        desk.fulfilment.edit_purchase_order_costs(po["id"], {sku: "3.00"})
    assert refused.value.details["rule"] == "costs_editable_before_sending"


def test_an_unknown_sku_in_a_cost_edit_is_refused_by_name(make_desk, acme):
    desk = make_desk(PO_SEND_DELAY_SECONDS=3600)
    code = register(desk, acme)["code"]
    order, [po] = shipped(desk, product(desk, code))
    with pytest.raises(ValidationFailed) as refused:
        desk.fulfilment.edit_purchase_order_costs(po["id"], {"NOPE-1": "1.00"})
    assert "costs" in refused.value.details
    with pytest.raises(ValidationFailed) as refused:
        desk.fulfilment.edit_purchase_order_costs(po["id"], {"NOPE-1": 1.0})
    assert "costs.NOPE-1.value" in refused.value.details


def test_an_email_distributor_gets_its_purchase_order_as_a_pdf_through_notify(desk):
    code = register(desk, None)["code"]
    order, [po] = shipped(desk, product(desk, code))
    assert po["channel"] == "email"
    desk.send("fulfilment")
    po = desk.fulfilment.get_purchase_order(po["id"])
    assert po["status"] == "sent"
    [attempt] = po["sends"][0]["attempts"]
    assert attempt["recipient"] == f"am@{code}.example"
    sent = [e for e in desk.apps["fulfilment"].events_after(0, 5000)
            if e["type"] == "fulfilment.purchase_order_sent" and e["subject"] == po["id"]]  # fmt: skip
    document = sent[0]["data"]["document"]
    assert document["filename"] == f"{po['number']}.pdf"
    assert document["sha256"] == desk.fulfilment.document("purchase_order", po["id"])["sha256"]


def test_the_account_manager_receives_the_pdf_by_email_from_notify(tmp_path, store):
    with MailServer(tmp_path / "mail") as mail:
        desk = InProcess(
            tmp_path, services=("orders", "fulfilment", "notify"), urls=store,
            SEND_BACKOFF_SECONDS=0, NOTIFY_POLICY="auto", **mail.settings(),
        )  # fmt: skip
        try:
            code = register(desk, None)["code"]
            sku = product(desk, code, cost="2.50")
            order, [po] = shipped(desk, sku)
            desk.send("fulfilment")
            desk.send("notify", passes=3)
            [message] = [m for m in mail.messages() if m["To"] == f"am@{code}.example"]
            issued = desk.fulfilment.document("purchase_order", po["id"])
        finally:
            desk.close()
    assert message["Subject"] == f"Purchase order {po['number']} ({order['reference']})"
    assert f"3 x {sku} Mug {sku} at 2.50" in text_of(message)
    [attachment] = list(message.iter_attachments())
    assert attachment.get_filename() == f"{po['number']}.pdf"
    assert attachment.get_content_type() == "application/pdf"
    assert hashlib.sha256(attachment.get_content()).hexdigest() == issued["sha256"]


def test_a_signed_callback_acknowledges_once_and_forgeries_are_refused(make_desk, acme):
    desk = make_desk()
    registered = register(
        desk,
        acme,
    )
    code, secret = registered["code"], registered["callback_secret"]
    order, [po] = shipped(desk, product(desk, code))
    acme.script("later")
    desk.send("fulfilment")
    assert desk.fulfilment.get_purchase_order(po["id"])["status"] == "sent"

    def call(body: dict, key=secret, at=None, to=code):
        raw = json.dumps(body)
        stamp = int(at or time.time())
        return desk.fulfilment.distributor_callback(
            to, str(stamp), signing.sign(key, stamp, raw.encode()), raw
        )

    ack = {"purchase_order_id": po["id"], "status": "acknowledged", "reference": "D-9"}
    with pytest.raises(Unauthenticated):
        call(ack, key="guessed")
    with pytest.raises(Unauthenticated):
        call(ack, at=time.time() - 3600)  # stale
    other = register(desk, acme)
    with pytest.raises(Unauthenticated):
        call(ack, to=other["code"])  # signed with this one's secret, sent as the other's
    with pytest.raises(NotFound):  # the other's own secret cannot touch this one's order
        call(ack, key=other["callback_secret"], to=other["code"])
    with pytest.raises(ValidationFailed):
        call({"purchase_order_id": po["id"], "status": "maybe"})
    assert call(ack)["result"] == "recorded"
    assert call(ack)["result"] == "known"  # applied once
    po = desk.fulfilment.get_purchase_order(po["id"])
    assert po["status"] == "acknowledged" and po["acknowledgement"] == {
        "reference": "D-9", "by": "callback", "at": po["acknowledgement"]["at"]}  # fmt: skip


def test_goods_are_received_and_the_purchase_order_closed(desk, acme):
    code = register(desk, acme)["code"]
    sku = product(desk, code)
    order, [po] = shipped(desk, sku)
    desk.send("fulfilment")
    with pytest.raises(ValidationFailed) as refused:
        desk.fulfilment.receive_purchase_order(po["id"], [{"sku": sku, "quantity": 4}])
    assert refused.value.details["rule"] == "received_exceeds_ordered"
    assert desk.fulfilment.receive_purchase_order(
        po["id"], [{"sku": sku, "quantity": 2}])["status"] == "partially_received"  # fmt: skip
    assert desk.fulfilment.receive_purchase_order(
        po["id"], [{"sku": sku, "quantity": 1}])["status"] == "received"  # fmt: skip
    with pytest.raises(InvalidTransition):
        desk.fulfilment.cancel_purchase_order(po["id"], "too late")
    assert desk.fulfilment.close_purchase_order(po["id"])["status"] == "closed"


def test_an_operator_cancels_a_purchase_order(desk, acme):
    code = register(desk, acme)["code"]
    order, [po] = shipped(desk, product(desk, code))
    desk.send("fulfilment")
    cancelled = desk.fulfilment.cancel_purchase_order(po["id"], "found cheaper")
    assert cancelled["status"] == "cancelled" and cancelled["cancellation"]["by_void"] is False
    desk.send("fulfilment")
    assert [c["purchase_order_id"] for c in acme.cancellations()] == [po["id"]]
    with pytest.raises(ValidationFailed):
        desk.fulfilment.cancel_purchase_order(po["id"], "")


def test_distributors_are_registered_listed_and_changed_without_showing_credentials(desk, acme):
    registered = register(desk, acme, delivery={"bands": [{"up_to_kg": "5", "charge": "7.50"}]})
    code = registered["code"]
    assert registered["callback_secret"].startswith("dcs_")
    again = desk.fulfilment.register_distributor(code, {
        "name": f"Distributor {code}", "account_manager_email": f"am@{code}.example",
        "ordering": acme.ordering(), "delivery": {"bands": [{"up_to_kg": "5", "charge": "7.50"}]},
    })  # fmt: skip
    assert again["callback_secret"] == registered["callback_secret"]  # a retry: the same one
    desk.fulfilment.update_distributor(code, {"ordering": acme.ordering(credential="s3cret")})
    shown = desk.fulfilment.get_distributor(code)
    assert shown["ordering"]["credential_set"] is True
    assert "s3cret" not in json.dumps(desk.fulfilment.list_distributors())
    assert shown["delivery"] == {"bands": [{"up_to_kg": "5", "charge": "7.50"}]}
    with pytest.raises(NotFound):
        desk.fulfilment.get_distributor("nobody-" + random_ref())


BAD_DISTRIBUTORS = (
    ({"ordering": {"channel": "api"}}, "ordering.url"),
    ({"ordering": {"channel": "fax"}}, "ordering.channel"),
    ({"account_manager_email": "not an address"}, "account_manager_email"),
    ({"delivery": {"flat": "5", "bands": []}}, "delivery.bands"),
    ({"delivery": {"flat": 5}}, "delivery.flat"),
    (
        {
            "delivery": {
                "bands": [{"up_to_kg": "5", "charge": "1"}, {"up_to_kg": "2", "charge": "1"}]
            }
        },
        "delivery.bands",
    ),  # fmt: skip
    ({"delivers_to": ["gb"]}, "delivers_to.0"),
    ({"feed": {"format": "xml", "source": "x"}}, "feed.format"),
    ({"colour": "red"}, "colour"),
)


def test_a_bad_distributor_is_refused_field_by_field(tmp_path):
    desk = InProcess(tmp_path, services=("fulfilment",))  # validation: no store needed twice
    try:
        base = {"name": "X", "account_manager_email": "am@x.example",
                "ordering": {"channel": "email"}}  # fmt: skip
        for details, field in BAD_DISTRIBUTORS:
            with pytest.raises(ValidationFailed) as refused:
                desk.fulfilment.register_distributor(random_ref("d-"), {**base, **details})
            assert field in refused.value.details, (details, refused.value.details)
        assert desk.fulfilment.list_distributors() == []  # nothing stored
    finally:
        desk.close()


def test_a_line_of_an_unregistered_distributor_is_raised_and_not_sent(desk):
    order = desk.orders.place_order(order_payload())  # MUG-1 from "acme", never registered
    desk.orders.accept_order(order["id"])
    desk.orders.ship_shipping(order["id"], order["shippings"][0]["id"])
    [po] = desk.fulfilment.purchase_orders_for_order(order["id"])
    assert po["channel"] is None and po["sends"] == [] and po["lines"][0]["cost_price"] is None
    with pytest.raises(ValidationFailed) as refused:
        desk.fulfilment.send_purchase_order(po["id"])
    assert refused.value.details["rule"] == "unknown_distributor"


def test_a_replayed_shipment_raises_nothing_new(desk):
    order = desk.orders.place_order(order_payload())
    desk.orders.accept_order(order["id"])
    desk.orders.ship_shipping(order["id"], order["shippings"][0]["id"])
    shipped_event = next(
        e
        for e in desk.apps["orders"].events_after(0, 100000)
        if e["type"] == "orders.shipping_shipped" and e["data"]["order_id"] == order["id"]
    )
    assert desk.apps["fulfilment"].react(shipped_event) == []


def test_a_shipping_raises_one_purchase_order_per_distributor_and_none_for_house_lines(desk, acme):
    first, second = register(desk, acme)["code"], register(desk, acme)["code"]
    mug, pen = product(desk, first), product(desk, second)
    lines = [{"sku": mug, "quantity": 3}, {"sku": pen, "quantity": 5}]
    payload = order_payload()
    card = payload["lines"][1]  # made in house
    payload.update(
        lines=[*lines, card],
        shippings=[{"planned_date": "2026-12-20", "address": ADDRESS,
                    "lines": [*lines, {"sku": "CARD-9", "quantity": 100}]}],
    )  # fmt: skip
    order = desk.orders.place_order(payload)
    desk.orders.accept_order(order["id"])
    assert desk.fulfilment.purchase_orders_for_order(order["id"]) == []  # nothing shipped yet
    desk.orders.ship_shipping(order["id"], order["shippings"][0]["id"])
    raised = desk.fulfilment.purchase_orders_for_order(order["id"])
    assert sorted((p["distributor"], [x["sku"] for x in p["lines"]]) for p in raised) == sorted(
        [(first, [mug]), (second, [pen])]
    )
    assert sorted(p["number"] for p in raised) == [
        f"PO-{order['reference']}-1", f"PO-{order['reference']}-2"]  # fmt: skip


def test_a_purchase_order_goes_the_way_its_distributor_takes_orders_when_it_is_sent(
    make_desk, acme
):
    """Raised while the distributor took orders over its API; it has moved to e-mail since: the
    purchase order goes to its account manager (the attempt says how it went)."""
    desk = make_desk(PO_SEND_DELAY_SECONDS=3600)
    code = register(desk, acme)["code"]
    order, [po] = shipped(desk, product(desk, code))
    desk.fulfilment.update_distributor(code, {"ordering": {"channel": "email"}})
    desk.fulfilment.send_purchase_order(po["id"])
    desk.send("fulfilment")
    po = desk.fulfilment.get_purchase_order(po["id"])
    (attempt,) = po["sends"][0]["attempts"]
    assert po["status"] == "sent" and attempt["recipient"] == f"am@{code}.example"
    assert attempt["answer"] == f"handed to notify for am@{code}.example"
    assert acme.requests() == []  # nothing went to the old API
