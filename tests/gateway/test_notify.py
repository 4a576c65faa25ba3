"""Notify over HTTP: an order's notifications with their ledger, sending one that waits, resending
by SMS, an operator's message, the outbox, the policies (admins set them), and see-as-client —
with the problems bad input gets. (The sending itself, to real servers: tests/notify/.)"""

from tests.gateway.test_desk import ok
from tests.support import eventually, order_payload


def test_an_operator_runs_notifications_over_http(sqlite_api):
    api = sqlite_api
    order = ok(api.operator.post("/v1/orders", order_payload()), 201)
    notes = eventually(lambda: api.operator.get(f"/v1/orders/{order['id']}/notifications").json())
    placed = notes[0]
    assert placed["status"] == "waiting"  # the tests' policy: manual
    one = ok(api.operator.get(f"/v1/notifications/{placed['id']}"))
    assert one["id"] == placed["id"] and one["sends"] == []

    sent = ok(api.operator.post(f"/v1/notifications/{placed['id']}/send"))
    assert sent["sends"][0]["requested_by"] == api.names["operator"]
    pending = ok(api.operator.get("/v1/outbox?status=pending"))
    assert sent["sends"][0]["send_id"] in {s["send_id"] for s in pending}

    refused = api.operator.post(
        f"/v1/notifications/{placed['id']}/resend", {"recipient": "600 100 200", "channel": "sms"}
    )
    assert refused.status_code == 422 and "recipient" in refused.json()["errors"]

    message = ok(
        api.operator.post(
            f"/v1/orders/{order['id']}/messages",
            {"channel": "email", "subject": "Your proof", "body": "It is ready."},
        ),
        201,
    )
    assert message["event_type"] == "notify.message" and message["actor"] == api.names["operator"]

    link = ok(api.operator.get(f"/v1/orders/{order['id']}/tracking-link"))
    assert "/track/" in link["url"]
    renewed = ok(
        api.operator.post(f"/v1/orders/{order['id']}/tracking-link/revoke", {"reason": "leaked"})
    )
    assert renewed["url"] != link["url"]


def test_policies_are_read_by_operators_and_set_by_admins(sqlite_api):
    api = sqlite_api
    policies = ok(api.operator.get("/v1/notification-policies"))
    assert policies["orders.order_placed"]["policy"] in ("auto", "manual", "off")
    path = "/v1/notification-policies/orders.claim_resolved"
    assert api.operator.request("PUT", path, {"policy": "off"}).status_code == 403
    changed = ok(api.admin.request("PUT", path, {"policy": "off"}))
    assert changed == {
        "event_type": "orders.claim_resolved",
        "policy": "off",
        "set_by": api.names["admin"],
    }
    wrong = api.admin.request("PUT", path, {"policy": "sometimes"})
    assert wrong.status_code == 422 and "policy" in wrong.json()["errors"]
    unknown = api.admin.request(
        "PUT", "/v1/notification-policies/orders.nothing", {"policy": "off"}
    )
    assert unknown.status_code == 404
    ok(api.admin.request("PUT", path, {"policy": "manual"}))  # as the other tests expect
