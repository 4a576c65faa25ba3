"""The three flows of the product, through the five running services, on SQLite and PostgreSQL."""

import json
import time

import pytest
from cloudevents.core.bindings.rabbitmq import RabbitMQMessage, from_rabbitmq
from cloudevents.core.formats.json import JSONFormat
from kombu import Connection, Queue, binding

from shared.errors import NotFound
from shared.relay import event_exchange
from shared.settings import SERVICES
from tests.support import eventually, order_payload, user_uri


def test_accepting_an_order_issues_one_invoice_and_plans_made_in_house_lines(module_system):
    with module_system.rpc() as rpc:
        order = rpc.orders.place_order(order_payload(), idempotency_key="flow-1")
        assert order["status"] == "new" and order["reference"].count("-") == 1
        accepted = rpc.orders.accept_order(order["id"])
        assert accepted["status"] == "accepted"

        invoices = eventually(lambda: rpc.billing.invoices_for_order(order["id"]))
        production = eventually(lambda: rpc.production.production_orders_for_order(order["id"]))

    assert len(invoices) == 1
    with module_system.rpc() as rpc:
        assert rpc.billing.get_invoice(invoices[0]["id"]) == invoices[0]
        with pytest.raises(NotFound):
            rpc.billing.get_invoice(order["id"])  # an order id is no invoice id
    assert invoices[0]["status"] == "unpaid"
    assert invoices[0]["net"] == "63.50" and invoices[0]["tax"] == "12.70"
    assert invoices[0]["total"] == "76.20" and invoices[0]["currency"] == "EUR"
    assert [(p["sku"], p["quantity"]) for p in production] == [("CARD-9", 100)]


def bought(sku, name, quantity, unit_price, distributor) -> dict:
    return {
        "sku": sku,
        "name": name,
        "quantity": quantity,
        "unit_price": unit_price,
        "currency": "EUR",
        "distributor": distributor,
        "made_in_house": False,
        "vat_rate": "20",
    }


def test_shipping_a_shipping_raises_one_purchase_order_per_distributor(module_system):
    payload = order_payload(
        lines=[
            bought("MUG-1", "Mug", 3, "9.50", "acme"),
            bought("PEN-2", "Pen", 10, "1.20", "globex"),
            bought("CAP-3", "Cap", 2, "7.00", "acme"),
        ],
        shippings=[
            {
                "planned_date": "2026-12-01",
                "address": {
                    "line1": "1 Main St",
                    "city": "Leeds",
                    "postcode": "LS1 1AA",
                    "country": "GB",
                },
                "lines": [
                    {"sku": "MUG-1", "quantity": 3},
                    {"sku": "PEN-2", "quantity": 4},
                    {"sku": "CAP-3", "quantity": 2},
                ],
            },
            {
                "planned_date": "2026-12-08",
                "address": {
                    "line1": "1 Main St",
                    "city": "Leeds",
                    "postcode": "LS1 1AA",
                    "country": "GB",
                },
                "lines": [{"sku": "PEN-2", "quantity": 6}],
            },
        ],
    )
    with module_system.rpc() as rpc:
        order = rpc.orders.place_order(payload)
        rpc.orders.accept_order(order["id"])
        first = order["shippings"][0]["id"]
        shipped = rpc.orders.ship_shipping(order["id"], first)
        assert shipped["status"] == "partially_shipped"

        pos = eventually(
            lambda: (lambda p: p if len(p) == 2 else None)(
                rpc.fulfilment.purchase_orders_for_order(order["id"])
            )
        )

    by_distributor = {p["distributor"]: p for p in pos}
    assert sorted(by_distributor) == ["acme", "globex"]
    assert {(line["sku"], line["quantity"]) for line in by_distributor["acme"]["lines"]} == {
        ("MUG-1", 3),
        ("CAP-3", 2),
    }
    assert [(line["sku"], line["quantity"]) for line in by_distributor["globex"]["lines"]] == [
        ("PEN-2", 4)
    ]
    assert all(p["shipping_id"] == first for p in pos)


def test_every_status_change_leads_to_a_notification(module_system):
    with module_system.rpc() as rpc:
        order = rpc.orders.place_order(order_payload())
        rpc.orders.accept_order(order["id"])
        rpc.orders.ship_shipping(order["id"], order["shippings"][0]["id"])
        expected = {
            "orders.order_placed",
            "orders.order_accepted",
            "orders.shipping_shipped",
            "billing.invoice_issued",
            "production.production_order_created",
            "fulfilment.purchase_order_raised",
        }

        def notified():
            types = [n["event_type"] for n in rpc.notify.notifications_for_order(order["id"])]
            return types if set(types) == expected else None

        types = eventually(notified)
        notes = rpc.notify.notifications_for_order(order["id"])
    assert len(types) == len(expected)  # one notification per status event, no duplicates
    client_facing = [n for n in notes if n["event_type"].startswith("orders.")]
    assert all(  # the tests' policy: they wait for an operator (tests/notify send them)
        n["recipient"] == "ada@example.com" and n["status"] == "waiting" for n in client_facing
    )
    accepted = next(n for n in notes if n["event_type"] == "orders.order_accepted")
    assert order["reference"] in accepted["subject"]


def test_declining_a_new_order_notifies_the_client_and_bills_nothing(module_system):
    with module_system.rpc() as rpc:
        order = rpc.orders.place_order(order_payload())
        declined = rpc.orders.decline_order(order["id"], "out of stock")
        assert declined["status"] == "declined" and declined["reason"] == "out of stock"
        eventually(
            lambda: any(
                n["event_type"] == "orders.order_declined"
                for n in rpc.notify.notifications_for_order(order["id"])
            )
        )
        assert rpc.billing.invoices_for_order(order["id"]) == []


def test_every_effect_carries_the_correlation_id_of_the_command_that_caused_it(module_system):
    with module_system.rpc(correlation_id="checkout-77") as rpc:
        order = rpc.orders.place_order(order_payload())
        rpc.orders.accept_order(order["id"])
        invoice = eventually(lambda: rpc.billing.invoices_for_order(order["id"]))[0]
        orders_log = rpc.orders.events_after(0, 1000)
        billing_log = rpc.billing.events_after(0, 1000)

    accepted = next(
        e
        for e in orders_log
        if e["type"] == "orders.order_accepted" and e["subject"] == order["id"]
    )
    issued = next(e for e in billing_log if e["data"].get("invoice_id") == invoice["id"])
    assert accepted["correlationid"] == issued["correlationid"] == "checkout-77"
    assert accepted["causationid"].startswith("rpc:")
    assert issued["causationid"] == accepted["id"]


def test_an_integrators_plain_kombu_consumer_reads_every_message_with_the_cloudevents_sdk(
    module_system,
):
    """The messages follow the CloudEvents RabbitMQ binding in structured mode: the SDK parses
    each one as it comes off the queue (body and content type, nothing of ours in between). It
    logs in as the integrator broker user: its own `integrator.*` queue, exchanges passively."""
    messages = []
    with Connection(user_uri(module_system.amqp_uri, "integrator")) as conn:
        queue = Queue(
            "integrator.cloudevents",
            bindings=[binding(event_exchange(s, passive=True), routing_key="#") for s in SERVICES],
            exclusive=True,
        )
        with conn.Consumer(queue, on_message=lambda m: (messages.append(m), m.ack())):
            with module_system.rpc() as rpc:
                order = rpc.orders.place_order(order_payload())
                rpc.orders.accept_order(order["id"])
                (invoice,) = eventually(lambda: rpc.billing.invoices_for_order(order["id"]))
                payment = {"amount": invoice["gross"], "method": "cash", "paid_on": "2026-12-01"}
                rpc.billing.record_payment(invoice["id"], dict(payment, reference="ce-1"))
                rpc.orders.ship_shipping(order["id"], order["shippings"][0]["id"])
                eventually(lambda: rpc.orders.get_order(order["id"])["payment_status"] == "paid")
            quiet_since = time.monotonic()
            while time.monotonic() - quiet_since < 1.5:
                try:
                    conn.drain_events(timeout=0.5)
                    quiet_since = time.monotonic()
                except TimeoutError:
                    pass

    assert messages
    for message in messages:
        raw = message.body  # py-amqp decodes a body sent with a content encoding: bytes again
        raw = raw.encode() if isinstance(raw, str) else raw
        event = from_rabbitmq(
            RabbitMQMessage(message.headers, message.content_type, raw), JSONFormat()
        )
        body = json.loads(raw)
        assert message.content_type == "application/cloudevents+json"
        assert event.get_id() == body["id"] == message.properties["message_id"]
        assert event.get_type() == body["type"] and event.get_source() == body["source"]
        assert event.get_subject() == body["subject"] and event.get_data() == body["data"]
        assert event.get_extension("sequence") == body["sequence"]
        assert isinstance(event.get_extension("previousbytype"), str)  # no object extension
    ours = {json.loads(m.body)["type"] for m in messages if order["id"] in str(m.body)}
    assert {
        "orders.order_placed",
        "orders.order_accepted",
        "billing.invoice_issued",
        "billing.payment_recorded",
        "production.production_order_created",
        "fulfilment.purchase_order_raised",
    } <= ours
