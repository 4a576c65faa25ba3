"""When invoices are issued: on acceptance (exactly one, whatever the deliveries) or on dispatch."""

from kombu import Connection

from shared.relay import event_exchange
from tests.support import System, eventually, order_payload, settled


def test_duplicate_and_out_of_order_deliveries_and_restarts_leave_one_invoice_per_order(
    amqp_uri, store
):
    with System(amqp_uri, store, services=("orders", "billing")) as system:
        with system.rpc() as rpc:
            ids = [rpc.orders.place_order(order_payload())["id"] for _ in range(4)]
            for order_id in ids:
                rpc.orders.accept_order(order_id)
            eventually(lambda: settled(rpc))
            before = {i: rpc.billing.invoices_for_order(i) for i in ids}
            events = rpc.orders.events_after(0, 100)
            with Connection(amqp_uri) as conn:
                producer = conn.Producer()
                for env in [*reversed(events), *events, *reversed(events)]:
                    producer.publish(
                        env,
                        exchange=event_exchange("orders"),
                        routing_key=env["type"].split(".")[1],
                        serializer="json",
                    )
        system.restart()
        with system.rpc() as rpc:
            late = rpc.orders.place_order(order_payload())  # processed after everything republished
            rpc.orders.accept_order(late["id"])
            eventually(lambda: rpc.billing.invoices_for_order(late["id"]))
            eventually(lambda: settled(rpc))
            assert {i: rpc.billing.invoices_for_order(i) for i in ids} == before
            assert all(len(docs) == 1 for docs in before.values())


def test_invoicing_on_dispatch_invoices_each_shipping_for_what_it_took(amqp_uri, sqlite_store):
    with System(
        amqp_uri, sqlite_store, services=("orders", "billing"), INVOICE_ON="dispatch"
    ) as system:
        with system.rpc() as rpc:
            payload = order_payload()
            first = dict(payload["shippings"][0], lines=[{"sku": "MUG-1", "quantity": 3}])
            second = dict(payload["shippings"][0], lines=[{"sku": "CARD-9", "quantity": 100}])
            order = rpc.orders.place_order(dict(payload, shippings=[first, second]))
            rpc.orders.accept_order(order["id"])
            eventually(lambda: settled(rpc))
            assert (
                rpc.billing.invoices_for_order(order["id"]) == []
            )  # accepted, nothing shipped yet
            s1, s2 = [s["id"] for s in order["shippings"]]
            rpc.orders.ship_shipping(order["id"], s1)
            (invoice,) = eventually(lambda: rpc.billing.invoices_for_order(order["id"]))
            assert (invoice["shipping_id"], invoice["gross"]) == (s1, "34.20")
            assert [(li["sku"], li["quantity"]) for li in invoice["lines"]] == [("MUG-1", 3)]
            eventually(lambda: rpc.orders.get_order(order["id"])["payment_status"] == "unpaid")
            rpc.billing.record_payment(
                invoice["id"], {"amount": "34.20", "method": "card", "reference": "c1"}
            )
            rpc.orders.ship_shipping(order["id"], s2)
            _, later = eventually(
                lambda: (d := rpc.billing.invoices_for_order(order["id"])) and len(d) == 2 and d
            )
            assert (later["shipping_id"], later["gross"]) == (s2, "42.00")
            eventually(
                lambda: rpc.orders.get_order(order["id"])["payment_status"] == "partially_paid"
            )
