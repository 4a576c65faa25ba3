"""The disk holding billing's SQLite store fills up while orders are accepted: billing's writes
fail cleanly (a typed Unavailable to RPC callers; its follower waits instead of parking), nothing
is stored half-way, and once space returns it catches up — numbers without gaps, `oms verify`
agrees."""

import errno
import re
import subprocess

import eventlet
import pytest

from shared.errors import Unavailable
from shared.settings import SERVICES
from tests.faults.burst import assert_verified
from tests.support import System, eventually, order_payload

NUMBER = re.compile(r"^INV-\d{4}-(\d{6})$")


def fill(path) -> None:
    """Write until the file system says it is full."""
    with open(path, "wb", buffering=0) as filler:  # unbuffered: closing has nothing to flush
        chunk = b"\0" * 65536
        try:
            while True:
                filler.write(chunk)
        except OSError as exc:
            assert exc.errno == errno.ENOSPC


@pytest.fixture
def small_disk(tmp_path):
    disk = tmp_path / "disk"
    disk.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(disk)], check=True)
    yield disk
    subprocess.run(["umount", "-l", str(disk)], check=False)


def accepted(rpc, count: int) -> list[str]:
    ids = []
    for _ in range(count):
        order = rpc.orders.place_order(order_payload())
        rpc.orders.accept_order(order["id"])
        ids.append(order["id"])
    return ids


def test_a_full_disk_fails_writes_cleanly_and_billing_recovers_when_space_returns(
    amqp_uri, tmp_path, small_disk
):
    urls = {s: f"sqlite:///{tmp_path}/{s}.sqlite3" for s in SERVICES}
    urls["billing"] = f"sqlite:///{small_disk}/billing.sqlite3"
    with System(amqp_uri, urls) as system, system.rpc() as rpc:
        first = accepted(rpc, 5)
        for order_id in first:
            eventually(lambda order_id=order_id: rpc.billing.invoices_for_order(order_id))

        fill(small_disk / "filler")
        later = accepted(rpc, 20)  # orders keeps taking orders: its disk is fine
        with pytest.raises(Unavailable):
            for order_id in first:  # a write to billing's store: refused, typed
                rpc.billing.change_payment_channel(order_id, "cash", "pays at the counter")
        eventlet.sleep(3)  # billing's follower keeps failing meanwhile
        assert rpc.billing.parked_events() == []  # an outage parks nothing

        (small_disk / "filler").unlink()
        for order_id in first + later:
            eventually(lambda order_id=order_id: rpc.billing.invoices_for_order(order_id))
        listed = rpc.billing.list_invoices({"sort": "number", "limit": 100})["invoices"]
        assert sorted(int(NUMBER.match(i["number"])[1]) for i in listed) == list(range(1, 26))
        assert_verified(amqp_uri)
