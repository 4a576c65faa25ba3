"""Oversized messages: 20 MB is refused by the broker at the door, on the RPC and on the event path;
5 MB (under the broker's limit, over a service's) is refused by the service unread — an RPC caller
gets ValidationFailed, an event consumer drops it (the log stays the truth). Billing runs as a
process of its own, whose memory does not blow up, and nothing is lost — `oms verify` agrees."""

import json
import uuid
from pathlib import Path

import amqp.exceptions
import pytest
from kombu import Connection

from shared.relay import event_exchange
from tests.faults.burst import assert_verified
from tests.support import (
    RPC,
    RawCaller,
    System,
    eventually,
    order_payload,
    serve_subprocess,
    wait_until_answers,
)

MB = 1024 * 1024


def rss_mb(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(x for x in status.splitlines() if x.startswith("VmRSS")).split()[1]) / 1024


def publish(amqp_uri: str, exchange, routing_key: str, body: str) -> None:
    """With publisher confirms, so a refusal by the broker shows here."""
    with Connection(amqp_uri, transport_options={"confirm_publish": True}) as conn:
        conn.Producer().publish(
            body,
            exchange=exchange,
            routing_key=routing_key,
            content_type="application/json",
            content_encoding="utf-8",
            retry=False,
        )


def test_oversized_messages_are_refused_on_the_rpc_and_the_event_path(
    amqp_uri, sqlite_store, tmp_path
):
    with System(amqp_uri, sqlite_store, services=("orders",)) as system, system.rpc() as rpc:
        billing = serve_subprocess(
            ["billing"],
            amqp_uri,
            {"billing": sqlite_store["billing"]},
            log_path=tmp_path / "billing.log",
        )
        try:
            wait_until_answers(system, "billing")
            before = rss_mb(billing.pid)
            huge = json.dumps({"args": [], "kwargs": {"pad": "x" * (20 * MB)}})
            for exchange, key in ((RPC, "billing.log_status"), (event_exchange("orders"), "x")):
                with pytest.raises(amqp.exceptions.AMQPError):  # PRECONDITION_FAILED
                    publish(amqp_uri, exchange, key, huge)

            raw = RawCaller(amqp_uri)
            big = json.dumps({"args": [], "kwargs": {"invoice_id": "x" * (5 * MB)}})
            for _ in range(3):
                raw.publish_raw("billing", "get_invoice", big, uuid.uuid4().hex)
                publish(amqp_uri, event_exchange("orders"), "order_placed", big)
            replies = raw.wait(3)
            raw.close()
            assert all(r["error"]["exc_type"] == "ValidationFailed" for r in replies)
            assert rss_mb(billing.pid) - before < 100  # read, refused, let go

            order = rpc.orders.place_order(order_payload())
            rpc.orders.accept_order(order["id"])
            eventually(lambda: rpc.billing.invoices_for_order(order["id"]))
            assert rpc.billing.parked_events() == []
        finally:
            billing.terminate()
            billing.wait(timeout=30)
        system.start("billing", "production", "fulfilment", "notify")
        assert_verified(amqp_uri)
