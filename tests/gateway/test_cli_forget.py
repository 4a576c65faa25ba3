"""`oms forget-client`: an admin's command line forgets a catalogue client by its code and a
guest by any of its orders, against the running system; it asks first."""

import io

from shared.sealing import FORGOTTEN
from tests.gateway.test_cli_keys import oms
from tests.support import order_payload, random_ref


def test_a_client_is_forgotten_by_its_code_and_a_guest_by_any_of_its_orders(
    sqlite_api, capsys, monkeypatch
):
    code = random_ref("ADA-")
    with sqlite_api.system.rpc() as rpc:
        rpc.orders.register_client(
            code, {"name": f"Ada {code}", "email": "ada@works.example", "phone": "+442079460001"}
        )
        guest = rpc.orders.place_order(order_payload())
        fresh = order_payload()
        del fresh["client"]
        again = rpc.orders.new_order_for_client(guest["id"], fresh, random_ref("again-"))
        mine = rpc.orders.place_order(dict(fresh, client_code=code))

    # it asks first: "n" changes nothing
    monkeypatch.setattr("sys.stdin", io.StringIO("n\n"))
    assert oms(capsys, sqlite_api, "forget-client", code)[0] == 1
    with sqlite_api.system.rpc() as rpc:
        assert rpc.orders.get_order(mine["id"])["client"]["name"] == f"Ada {code}"
    code_, out = oms(capsys, sqlite_api, "forget-client", code, "--yes")
    assert code_ == 0 and f"client:{code} forgotten" in out
    code_, out = oms(capsys, sqlite_api, "forget-client", code, "--yes")
    assert code_ == 0 and "was forgotten before" in out
    with sqlite_api.system.rpc() as rpc:
        assert rpc.orders.get_order(mine["id"])["client"]["name"] == FORGOTTEN
    # a catalogue client's order names no guest: it is forgotten by its code
    assert oms(capsys, sqlite_api, "forget-client", f"order:{mine['id']}", "--yes")[0] == 2

    code_, out = oms(capsys, sqlite_api, "forget-client", f"order:{again['id']}", "--yes")
    assert code_ == 0 and f"order:{guest['id']} forgotten" in out
    with sqlite_api.system.rpc() as rpc:
        for order in (guest, again):
            assert rpc.orders.get_order(order["id"])["client"]["name"] == FORGOTTEN

    assert oms(capsys, sqlite_api, "forget-client", "order:not-an-id", "--yes")[0] == 2
    assert oms(capsys, sqlite_api, "forget-client", random_ref("NOBODY-"), "--yes")[0] == 2
