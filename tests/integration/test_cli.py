"""The operator's `oms` command over running services: status and lag, events, parked events and retry."""

import json
import re

from oms import cli
from services.orders.application import order_id_for
from shared import faults
from tests.support import System, eventually, order_payload


def run(capsys, amqp_uri, *argv) -> tuple[int, str]:
    code = cli.main(["--amqp-uri", amqp_uri, *argv])
    return code, capsys.readouterr().out


def test_an_operator_sees_lag_and_parked_events_and_retries_them(amqp_uri, sqlite_store, capsys):
    order_id = str(order_id_for("cli-parked"))
    faults.set_fault("fail_reaction", [order_id])
    try:
        with System(amqp_uri, sqlite_store) as system, system.rpc() as rpc:
            rpc.orders.place_order(order_payload(), idempotency_key="cli-parked")
            rpc.orders.accept_order(order_id)
            eventually(lambda: len(rpc.billing.parked_events()) == 2)
            eventually(lambda: rpc.notify.log_status()["tracking"]["orders"] == 2)

            assert rpc.billing.log_status()["oldest_unseen_parked"] is not None
            code, out = run(capsys, amqp_uri, "verify", "--settle", "5", "--parked-minutes", "0")
            assert code == 1, out  # the parked acceptance left an accepted order uninvoiced
            assert f"order {order_id}: 0 invoices" in out
            assert re.search(r"billing #\d+ orders:1: parked for \d+ min, never listed", out), out

            code, out = run(capsys, amqp_uri, "parked", "billing")
            assert code == 0
            placed = re.search(
                r"^billing #(\d+) parked orders:1 orders.order_placed after 5 tries", out, re.M
            )
            assert placed, out
            assert re.search(
                rf"^billing #\d+ waiting orders:2 orders.order_accepted waits behind #"
                rf"{placed.group(1)} \(same {order_id}\)$",
                out,
                re.M,
            ), out
            assert rpc.billing.log_status()["oldest_unseen_parked"] is None  # listed: seen

            code, out = run(capsys, amqp_uri, "status")
            assert code == 0
            # billing's stream of orders is cut into segments, all held by this one replica
            billing = r"^billing\s+0\s+0\s+1\s+1\s+orders 2/0 \[12 segments: \S+ 12\]$"
            assert re.search(billing, out, re.M), out

            faults.clear()
            code, out = run(capsys, amqp_uri, "retry", "billing", placed.group(1))
            assert (code, out.strip()) == (0, f"billing #{placed.group(1)} retried")
            assert len(rpc.billing.invoices_for_order(order_id)) == 1
            code, out = run(capsys, amqp_uri, "parked", "billing", "--status", "retried")
            assert len(out.splitlines()) == 2, out  # the parked event and the one behind it

            code, out = run(capsys, amqp_uri, "events", "billing")
            assert [json.loads(line)["type"] for line in out.splitlines()] == [
                "billing.invoice_issued"
            ]

            # the fault failed notify's reactions to that order too: verify says so until they
            # are retried as well
            code, out = run(capsys, amqp_uri, "verify", "--settle", "5")
            assert code == 1 and "event orders:1: 0 notifications" in out, out
            (head,) = rpc.notify.parked_events("parked")
            code, out = run(capsys, amqp_uri, "retry", "notify", str(head["id"]))
            assert code == 0, out
            code, out = run(capsys, amqp_uri, "verify")
            assert code == 0 and out.rstrip().endswith("no breaches"), out

            listed = rpc.orders.list_orders({"include_closed": True})
            invoices = rpc.billing.list_invoices()
            code, out = run(capsys, amqp_uri, "rebuild")
            lines = out.strip().splitlines()
            assert code == 0 and "orders list: rebuilt from 1" in lines, out
            assert "billing documents: rebuilt from 1" in lines
            # production's reaction failed too (the fault): nothing planned
            assert "production queue: rebuilt from 0" in lines
            assert "notify webhooks: rebuilt from 0" in lines
            assert len(lines) == 11  # every read model of every service
            code, out = run(capsys, amqp_uri, "rebuild", "--verify")
            assert code == 0 and out.count("identical to a rebuild") == 11, out
            code, out = run(capsys, amqp_uri, "rebuild", "billing", "nothing")
            assert code == 2
            assert rpc.orders.list_orders({"include_closed": True}) == listed
            assert rpc.billing.list_invoices() == invoices
    finally:
        faults.clear()


def test_retrying_an_unknown_parked_event_is_a_clear_error(amqp_uri, sqlite_store, capsys):
    with System(amqp_uri, sqlite_store, services=("billing",)):
        code = cli.main(["--amqp-uri", amqp_uri, "retry", "billing", "999"])
    assert code == 2
    assert "parked event 999 not found" in capsys.readouterr().err
