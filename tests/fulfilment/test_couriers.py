"""Own couriers in process (orders, fulfilment and notify on SQLite, the delivery on PostgreSQL too; real local
SMTP and SMS servers): an assigned courier gets the task by e-mail and SMS with a signed link,
the client is told a courier is on the way and about when; the link marks the shipping
delivered once and the order follows; tampered, expired, superseded and foreign links open
nothing."""

import re
import time

import pytest

from services.fulfilment.delivering import run_id_for
from shared.errors import InvalidTransition, NotFound, ValidationFailed
from shared.links import CourierLinks
from tests.inprocess import InProcess
from tests.support import order_payload, random_ref
from tests.thirdparties import MailServer, SmsProvider, text_of

LINK = re.compile(r"https://shop\.example\.com/courier/(\S+)")


def make_desk(tmp_path, urls):
    with MailServer(tmp_path / "mail") as mail, SmsProvider(tmp_path / "sms") as sms:
        desk = InProcess(
            tmp_path, services=("orders", "fulfilment", "notify"), urls=urls,
            SEND_BACKOFF_SECONDS=0, NOTIFY_POLICY="auto", PUBLIC_URL="https://shop.example.com",
            COURIER_ETA_MINUTES=90, **mail.settings(), **sms.settings(),
        )  # fmt: skip
        desk.mail, desk.sms = mail, sms
        yield desk
        desk.close()


@pytest.fixture
def desk(tmp_path):
    """On SQLite files (the delivery itself is checked on PostgreSQL too, below)."""
    yield from make_desk(tmp_path, None)


@pytest.fixture
def stored_desk(tmp_path, module_store):
    yield from make_desk(tmp_path, module_store)


def courier(desk, name="Jan Kowalski") -> str:
    code = random_ref("c-")
    desk.fulfilment.register_courier(
        code, {"name": name, "email": f"{code}@couriers.example", "phone": "+48 600 100 200"}
    )
    return code


def accepted(desk) -> dict:
    payload = order_payload()
    payload["client"]["phone"] = "+44 7700 900123"
    order = desk.orders.place_order(payload)
    desk.orders.accept_order(order["id"])
    return order


def task_link(desk, code: str) -> str:
    """The token of the link in the courier's latest e-mail."""
    desk.send("notify", passes=3)
    mails = [m for m in desk.mail.messages() if m["To"] == f"{code}@couriers.example"]
    return LINK.search(text_of(mails[-1])).group(1)


def test_the_courier_gets_the_task_and_the_client_is_told_when(desk):
    code = courier(desk)
    order = accepted(desk)
    shipping = order["shippings"][0]
    run = desk.fulfilment.assign_courier(order["id"], shipping["id"], code)
    assert run["courier"]["code"] == code and run["generation"] == 1
    desk.send("notify", passes=3)
    (task,) = [m for m in desk.mail.messages() if m["To"] == f"{code}@couriers.example"]
    text = text_of(task)
    assert order["client"]["name"] in text and "+44 7700 900123" in text
    assert "12 St James's Sq" in text and "3 x MUG-1 Mug" in text
    assert LINK.search(text)
    (sms,) = [s for s in desk.sms.messages() if s["to"] == "48600100200"]
    assert "12 St James's Sq" in sms["text"] and LINK.search(sms["text"])
    (told,) = [m for m in desk.mail.messages() if m["To"] == "ada@example.com"
               and "courier is on the way" in m["Subject"]]  # fmt: skip
    assert "Jan Kowalski" in text_of(told) and f"around {run['eta'][11:16]}" in text_of(told)
    shown = desk.orders.get_order(order["id"])["shippings"][0]
    assert shown["courier"] == {"name": "Jan Kowalski", "eta": run["eta"]}
    assert desk.fulfilment.courier_runs_for_order(order["id"]) == [run]


def test_the_link_marks_the_shipping_delivered_once_and_the_order_follows(stored_desk):
    desk = stored_desk
    code = courier(desk)
    order = accepted(desk)
    payload_card = order["lines"][1]["sku"]  # made in house: shipped with the courier too
    shipping = order["shippings"][0]
    desk.fulfilment.assign_courier(order["id"], shipping["id"], code)
    token = task_link(desk, code)
    shown = desk.fulfilment.courier_task(token)
    assert shown["client"] == {"name": order["client"]["name"], "phone": "+44 7700 900123"}
    assert "email" not in shown["client"] and shown["delivered"] is None
    first = desk.fulfilment.courier_delivered(token)
    assert first["marked_now"] is True and first["delivered"]["by"] == f"courier {code}"
    again = desk.fulfilment.courier_delivered(token)
    assert again["marked_now"] is False and again["delivered"] == first["delivered"]
    after = desk.orders.get_order(order["id"])
    assert after["status"] == "delivered" and after["shippings"][0]["status"] == "shipped"
    assert {x["sku"]: x["delivered"] for x in after["lines"]} == {"MUG-1": 3, payload_card: 100}
    assert desk.fulfilment.purchase_orders_for_order(order["id"]) == []  # delivered from stock
    with pytest.raises(InvalidTransition):  # delivered: no other courier takes it over
        desk.fulfilment.assign_courier(order["id"], shipping["id"], courier(desk, "Other"))


def test_tampered_expired_superseded_and_foreign_links_open_nothing(desk):
    code, other = courier(desk), courier(desk, "Piotr Nowak")
    order, second = accepted(desk), accepted(desk)
    desk.fulfilment.assign_courier(order["id"], order["shippings"][0]["id"], code)
    desk.fulfilment.assign_courier(second["id"], second["shippings"][0]["id"], code)
    token = task_link(desk, code)
    kid, run, generation, expires, mac = token.split(".")
    tampered = f"{kid}.{run}.{generation}.{int(expires) + 86400}.{mac}"  # a longer life
    with pytest.raises(NotFound):
        desk.fulfilment.courier_delivered(tampered)
    foreign_run = (
        CourierLinks(desk.settings)
        .url(str(run_id_for(order["shippings"][0]["id"])), 1, int(expires))
        .rsplit("/", 1)[1]
        .split(".")[1]
    )
    with pytest.raises(NotFound):  # this link's MAC with the other shipping's run
        desk.fulfilment.courier_delivered(f"{kid}.{foreign_run}.{generation}.{expires}.{mac}")
    links = CourierLinks(desk.settings)
    run_id = str(run_id_for(second["shippings"][0]["id"]))
    expired = links.url(run_id, 1, int(time.time()) - 60).rsplit("/", 1)[1]
    with pytest.raises(InvalidTransition) as refused:
        desk.fulfilment.courier_delivered(expired)  # genuinely signed, but out of date
    assert refused.value.details["rule"] == "link_expired"
    desk.fulfilment.assign_courier(second["id"], second["shippings"][0]["id"], other)
    with pytest.raises(NotFound):  # taken over: the first courier's link is dead
        desk.fulfilment.courier_task(token)
    fresh = task_link(desk, other)
    assert desk.fulfilment.courier_delivered(fresh)["marked_now"] is True
    for bad in ("", "x" * 400, 7, None):
        with pytest.raises(NotFound):
            desk.fulfilment.courier_task(bad)
    assert desk.orders.get_order(order["id"])["status"] != "delivered"  # untouched by all this


def test_couriers_are_registered_with_international_numbers_and_assigned_by_rules(desk):
    with pytest.raises(ValidationFailed) as refused:
        desk.fulfilment.register_courier(random_ref("c-"), {
            "name": "Jan", "email": "jan@couriers.example", "phone": "600 100 200"})  # fmt: skip
    assert "phone" in refused.value.details
    code = courier(desk)
    assert code in {c["code"] for c in desk.fulfilment.list_couriers()}
    new = desk.orders.place_order(order_payload())
    with pytest.raises(InvalidTransition) as refused:
        desk.fulfilment.assign_courier(new["id"], new["shippings"][0]["id"], code)
    assert refused.value.details["rule"] == "courier_requires_open_accepted_order"
    order = accepted(desk)
    with pytest.raises(ValidationFailed) as refused:
        desk.fulfilment.assign_courier(order["id"], order["shippings"][0]["id"], "nobody-x")
    assert refused.value.details["rule"] == "unknown_courier"
    with pytest.raises(NotFound):
        desk.fulfilment.assign_courier(order["id"], order["id"], code)  # no such shipping
    run = desk.fulfilment.assign_courier(order["id"], order["shippings"][0]["id"], code)
    again = desk.fulfilment.assign_courier(order["id"], order["shippings"][0]["id"], code)
    assert again == run  # a retried assignment changes nothing
