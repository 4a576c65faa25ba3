"""`oms keys`: an admin's command line for the gateway's API keys, against the running system."""

import os

import pytest
from nameko.standalone.rpc import ClusterRpcProxy

from oms import cli
from shared import actors
from shared.errors import Forbidden
from tests.gateway.conftest import Client
from tests.support import order_payload, random_ref


def oms(capsys, api, *argv) -> tuple[int, str]:
    code = cli.main(["--amqp-uri", api.system.amqp_uri, "--actor", "ops-ana", *argv])
    captured = capsys.readouterr()
    return code, captured.out


def test_keys_are_created_listed_turned_into_rpc_tokens_and_revoked(sqlite_api, capsys):
    name = random_ref("web-")
    code, out = oms(capsys, sqlite_api, "keys", "create", "--name", name, "--role", "storefront")
    assert code == 0 and out.startswith(f"{name} (storefront): oms_")
    key = out.split(": ", 1)[1].split()[0]
    shop = Client(sqlite_api.url, key)
    placed = shop.post("/v1/orders", order_payload())
    assert placed.status_code == 201 and placed.json()["history"][0]["actor"] == name

    code, out = oms(capsys, sqlite_api, "keys", "list")
    (line,) = [row for row in out.splitlines() if row.startswith(name)]
    assert "storefront" in line and "active" in line and key not in out

    code, out = oms(capsys, sqlite_api, "keys", "token", name)
    token = out.strip()
    assert actors.verify(os.environ["OMS_ACTOR_SECRET"], token)["name"] == name
    with ClusterRpcProxy(
        sqlite_api.system.config, timeout=15, context_data={actors.TOKEN_KEY: token}
    ) as rpc:
        assert rpc.orders.place_order(order_payload())["history"][0]["actor"] == name
        with pytest.raises(Forbidden):
            rpc.orders.accept_order(placed.json()["id"])

    code, out = oms(capsys, sqlite_api, "keys", "revoke", name)
    assert code == 0 and f"{name} revoked" in out
    assert shop.post("/v1/orders", order_payload()).status_code == 401
    code, out = oms(capsys, sqlite_api, "keys", "list")
    assert "revoked" in [r for r in out.splitlines() if r.startswith(name)][0]
    assert oms(capsys, sqlite_api, "keys", "token", name)[0] == 2  # no active key of that name
