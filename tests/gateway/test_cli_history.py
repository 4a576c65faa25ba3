"""`oms history` and `oms tail` against the running system: an order's timeline across the five
services with each effect under its cause, the order as it stood at a past moment, and events
followed live."""

import subprocess
import sys
import time

from oms import cli
from tests.support import ROOT, eventually, order_payload


def oms(capsys, api, *argv) -> tuple[int, str]:
    code = cli.main(["--amqp-uri", api.system.amqp_uri, *argv])
    return code, capsys.readouterr().out


def test_history_shows_each_effect_under_its_cause_and_the_order_at_a_past_moment(
    sqlite_api, capsys
):
    api = sqlite_api
    with api.system.rpc() as rpc:
        order = rpc.orders.place_order(order_payload())
        eventually(lambda: rpc.orders.order_events(order["id"]))
        time.sleep(0.05)
        before_acceptance = rpc.orders.order_events(order["id"])[-1]["time"]
        time.sleep(0.05)
        rpc.orders.accept_order(order["id"])
        eventually(lambda: rpc.billing.invoices_for_order(order["id"]))
        eventually(lambda: rpc.production.production_orders_for_order(order["id"]))

    code, out = oms(capsys, api, "history", order["id"])
    assert code == 0, out
    lines = out.splitlines()
    placed = next(i for i, line in enumerate(lines) if "orders.order_placed" in line)
    accepted = next(i for i, line in enumerate(lines) if "orders.order_accepted" in line)
    assert "← rpc:" in lines[placed] and "← rpc:" in lines[accepted]  # commands: the roots
    issued = next(i for i, line in enumerate(lines) if "billing.invoice_issued" in line)
    planned = next(
        i for i, line in enumerate(lines) if "production.production_order_created" in line
    )
    assert accepted < issued and accepted < planned
    for effect in (issued, planned):  # under the acceptance, indented, with no cause of its own
        assert "└─" in lines[effect] and "← " not in lines[effect]
        between = lines[accepted + 1 : effect]
        assert all("└─" in line for line in between)

    code, out = oms(capsys, api, "history", order["id"], "--at", before_acceptance)
    assert code == 0 and "orders.order_accepted" not in out and "billing." not in out
    assert "as at" in out and f"orders      {order['id']}  new" in out
    code, out = oms(capsys, api, "history", order["id"], "--at", "yesterday")
    assert code == 2


def test_tail_prints_events_as_they_are_published(sqlite_api):
    api = sqlite_api
    follower = subprocess.Popen(
        [sys.executable, "-m", "oms.cli", "--amqp-uri", api.system.amqp_uri, "tail", "orders",
         "--type", "orders.order_placed", "--count", "1", "--seconds", "60"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
    )  # fmt: skip
    try:
        for _ in range(20):  # until its queue is bound
            if follower.stderr.readline().startswith("following orders"):
                break
        with api.system.rpc() as rpc:
            order = rpc.orders.place_order(order_payload())
        out, _ = follower.communicate(timeout=60)
    finally:
        follower.kill()
    assert follower.returncode == 0
    (line,) = out.splitlines()
    assert "orders.order_placed" in line and order["id"] in line
