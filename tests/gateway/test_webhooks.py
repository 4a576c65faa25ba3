"""Webhooks over the running system: admins subscribe over HTTP and with `oms webhooks`, notify's
own sender thread delivers to a real local endpoint that verifies each delivery with the
`standardwebhooks` library; rewinds, redeliveries and rotations from the command line."""

import json

import pytest

from oms import cli
from tests.support import eventually, order_payload
from tests.thirdparties import WebhookReceiver


@pytest.fixture
def receiver(tmp_path):
    with WebhookReceiver(tmp_path / "hooks") as server:
        yield server


def oms(capsys, api, *argv) -> tuple[int, str]:
    code = cli.main(["--amqp-uri", api.system.amqp_uri, "--actor", "ops-ana", *argv])
    return code, capsys.readouterr().out


def placed_ids(api, orders) -> list[str]:
    with api.system.rpc() as rpc:
        log = rpc.orders.events_after(0, 1000)
    return [e["id"] for e in log if e["type"] == "orders.order_placed" and e["subject"] in orders]


def test_an_admin_subscribes_over_http_and_the_endpoint_gets_verified_events(sqlite_api, receiver):
    api = sqlite_api
    body = {"url": receiver.url, "event_types": ["orders.order_placed"], "description": "ERP"}
    assert api.operator.post("/v1/webhooks", body).status_code == 403
    assert api.anonymous.get("/v1/webhooks").status_code == 401
    created = api.admin.post("/v1/webhooks", body)
    assert created.status_code == 201, created.text
    hook = created.json()
    assert hook["secret"].startswith("whsec_") and hook["created_by"] == api.names["admin"]
    receiver.trust(hook["secret"])

    order = api.storefront.post("/v1/orders", order_payload()).json()
    (expected,) = placed_ids(api, [order["id"]])
    (got,) = eventually(lambda: receiver.accepted())
    assert got["webhook_id"] == expected and got["verified_by"] == 0
    assert json.loads(got["body"])["subject"] == order["id"]

    listed = api.operator.get("/v1/webhooks").json()
    mine = next(h for h in listed if h["id"] == hook["id"])
    assert "secret" not in mine and mine["description"] == "ERP"
    delivered = eventually(
        lambda: api.operator.get(f"/v1/webhooks/{hook['id']}/deliveries?status=delivered").json()
    )
    assert [d["event_id"] for d in delivered] == [expected]
    assert api.admin.request("DELETE", f"/v1/webhooks/{hook['id']}").json()["status"] == "removed"


@pytest.mark.parametrize(
    "body, field",
    [
        ({"url": "http://10.9.8.7/hooks", "event_types": ["*"]}, "url"),
        ({"url": "https://hooks.example/", "event_types": ["orders.nothing"]}, "event_types.0"),
        ({"url": "https://hooks.example/", "event_types": "*"}, "event_types"),
        ({"event_types": ["*"]}, "url"),
    ],
)
def test_a_bad_subscription_is_a_422_naming_its_field(sqlite_api, body, field):
    answer = sqlite_api.admin.post("/v1/webhooks", body)
    assert answer.status_code == 422, answer.text
    assert field in json.dumps(answer.json())


def test_the_command_line_adds_lists_rewinds_rotates_and_redelivers(sqlite_api, receiver, capsys):
    api = sqlite_api
    code, out = oms(capsys, api, "webhooks", "add", receiver.url, "--events", "orders.order_placed")
    assert code == 0, out
    hook_id = out.split("id", 1)[1].split()[0]
    secret = out.split("secret", 1)[1].split()[0]
    assert secret.startswith("whsec_")
    receiver.trust(secret)
    orders = [api.storefront.post("/v1/orders", order_payload()).json()["id"] for _ in range(2)]
    ids = placed_ids(api, orders)
    eventually(lambda: [d["webhook_id"] for d in receiver.accepted()] == ids)

    code, out = oms(capsys, api, "webhooks", "list")
    (line,) = [row for row in out.splitlines() if row.startswith(hook_id)]
    assert "active" in line and "2 delivered" in line and receiver.url in line

    code, out = oms(capsys, api, "webhooks", "rewind", hook_id, ids[0])
    assert code == 0 and "(round 2)" in out
    eventually(lambda: [d["webhook_id"] for d in receiver.accepted()] == ids + ids)

    code, out = oms(capsys, api, "webhooks", "rotate", hook_id, "--overlap", "0")
    new_secret = out.split("secret", 1)[1].split()[0]
    assert code == 0 and new_secret.startswith("whsec_") and new_secret != secret
    # the endpoint still trusts only the old secret: the next event is refused, a dead letter
    third = api.storefront.post("/v1/orders", order_payload()).json()["id"]
    eventually(lambda: oms(capsys, api, "webhooks", "deliveries", hook_id, "--status", "dead")[1])
    code, out = oms(capsys, api, "webhooks", "deliveries", hook_id, "--status", "dead")
    assert "HTTP 401" in out and placed_ids(api, [third])[0] in out

    receiver.trust(new_secret)
    code, out = oms(capsys, api, "webhooks", "redeliver", hook_id)
    assert code == 0, out
    eventually(lambda: receiver.accepted()[-1]["webhook_id"] == placed_ids(api, [third])[0])
    assert receiver.accepted()[-1]["verified_by"] == 0

    code, out = oms(capsys, api, "webhooks", "rewind", hook_id, "orders:999999")
    assert code == 2  # no such event in the journal
    code, out = oms(capsys, api, "webhooks", "remove", hook_id)
    assert code == 0 and "removed" in out
