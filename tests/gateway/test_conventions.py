"""The gateway's conventions, each through real HTTP: problem+json for every class of error, body
limits and media types, CORS, health, the logs as CloudEvents, actor tokens for RPC, keys."""

import pytest
import requests
from nameko.standalone.rpc import ClusterRpcProxy

from shared import actors
from shared.errors import Forbidden
from tests.gateway.conftest import Client
from tests.support import eventually, order_payload, random_ref

PROBLEM = "application/problem+json"


def problem(answer, status: int, slug: str) -> dict:
    assert answer.status_code == status, answer.text
    assert answer.headers["Content-Type"] == PROBLEM
    body = answer.json()
    assert body["type"] == f"/docs#problem-{slug}" and body["status"] == status
    assert body["title"] and body["detail"] and body["instance"]
    return body


def test_every_class_of_error_is_a_problem_document(api):
    order = api.operator.post("/v1/orders", order_payload()).json()
    path = f"/v1/orders/{order['id']}"
    # 401: no key, a malformed header, an unknown key
    body = problem(api.anonymous.get(path), 401, "unauthenticated")
    assert "Bearer" in body["detail"]
    assert api.anonymous.get(path).headers["WWW-Authenticate"] == "Bearer"
    problem(Client(api.url, "oms_not-a-key").get(path), 401, "unauthenticated")
    problem(
        api.anonymous.get(path, headers={"Authorization": "Basic eDp5"}), 401, "unauthenticated"
    )
    # 403: a role too low
    assert problem(api.storefront.get("/v1/invoices"), 403, "forbidden")["needed"] == "operator"
    # 404: an unknown order, an unknown route
    problem(api.operator.get("/v1/orders/0b6f5d9c-2f43-4a57-9c6a-1b8f2f0b7e11"), 404, "not-found")
    problem(api.operator.get("/v1/nothing-here"), 404, "not-found")
    # 405 with Allow
    refused = api.operator.request("DELETE", path)
    assert problem(refused, 405, "method-not-allowed") and "GET" in refused.headers["Allow"]
    # 409: a refused transition names its rule; a conflicting registration
    void = problem(api.operator.post(f"{path}/void", {"reason": "no"}), 409, "invalid-transition")
    assert void["rule"] == "void_requires_acceptance"
    code = random_ref("C")
    client = {"name": "A", "email": "a@example.com", "phone": "+44 20 7946 0000"}
    api.operator.request("PUT", f"/v1/clients/{code}", client)
    other = dict(client, name="B")
    problem(api.operator.request("PUT", f"/v1/clients/{code}", other), 409, "conflict")
    # 422: field errors by name, unknown fields, a body that is not an object
    bad = dict(order_payload(), channel="carrier pigeon")
    assert (
        "channel"
        in problem(api.operator.post("/v1/orders", bad), 422, "validation-failed")["errors"]
    )
    extra = api.operator.post(f"{path}/hold", {"reason": "x", "colour": "red"})
    assert problem(extra, 422, "validation-failed")["errors"] == {"colour": ["Unknown field."]}
    problem(api.operator.post(f"{path}/hold", [1, 2]), 422, "validation-failed")
    missing = problem(api.operator.post(f"{path}/hold", {}), 422, "validation-failed")
    assert "reason" in missing["errors"]
    query = problem(api.operator.get("/v1/orders?sort=colour&limit=x"), 422, "validation-failed")
    assert {"sort", "limit"} <= set(query["errors"])
    # 400: not JSON; 415: not a JSON media type
    garbage = api.operator.post(
        path + "/hold", data=b"{nope", headers={"Content-Type": "application/json"}
    )
    problem(garbage, 400, "bad-request")
    text = api.operator.post(
        path + "/hold", data=b"reason=x", headers={"Content-Type": "text/plain"}
    )
    problem(text, 415, "unsupported-media-type")
    # nothing refused above changed the order
    assert api.operator.get(path).json()["version"] == 1


def test_a_body_over_the_limit_is_refused_before_it_is_read(api):
    limit = api.system.config.get("MAX_BODY_BYTES", 1024 * 1024)
    huge = b'{"reason": "' + b"x" * limit + b'"}'
    order = api.operator.post("/v1/orders", order_payload()).json()
    answer = api.operator.post(
        f"/v1/orders/{order['id']}/hold", data=huge, headers={"Content-Type": "application/json"}
    )
    problem(answer, 413, "too-large")

    def chunks():  # no Content-Length: the limit still holds
        yield b'{"reason": "'
        for _ in range(limit // 65536 + 1):
            yield b"x" * 65536
        yield b'"}'

    chunked = api.operator.post(
        f"/v1/orders/{order['id']}/hold",
        data=chunks(),
        headers={"Content-Type": "application/json"},
    )
    problem(chunked, 413, "too-large")


def test_browsers_of_the_allowed_origins_may_call_and_others_get_no_cors_headers(api):
    preflight = api.anonymous.request(
        "OPTIONS",
        "/v1/orders",
        headers={"Origin": "https://shop.example", "Access-Control-Request-Method": "POST"},
    )
    assert preflight.status_code == 204
    assert preflight.headers["Access-Control-Allow-Origin"] == "https://shop.example"
    assert "Idempotency-Key" in preflight.headers["Access-Control-Allow-Headers"]
    answer = api.storefront.post(
        "/v1/orders", order_payload(), headers={"Origin": "https://shop.example"}
    )
    assert answer.headers["Access-Control-Allow-Origin"] == "https://shop.example"
    assert "ETag" in answer.headers["Access-Control-Expose-Headers"]
    stranger = api.anonymous.request(
        "OPTIONS", "/v1/orders", headers={"Origin": "https://evil.example"}
    )
    assert "Access-Control-Allow-Origin" not in stranger.headers


def test_health_shows_each_services_log_status_without_a_key(api):
    health = api.anonymous.get("/v1/health")
    assert health.status_code == 200
    services = health.json()["services"]
    assert set(services) == {"orders", "billing", "fulfilment", "production", "notify"}
    assert all(s["status"] == "up" and "last_position" in s for s in services.values())


def test_the_logs_read_over_http_as_cloudevents_from_any_position(api):
    order = api.operator.post("/v1/orders", order_payload()).json()
    api.operator.post(f"/v1/orders/{order['id']}/accept")
    seen, link = [], "/v1/events/orders?after=0&limit=7"
    while True:
        page = api.operator.get(link).json()
        seen += page["events"]
        link = page["next"]
        if not page["more"]:
            break
    assert [e["sequence"] for e in seen] == sorted(e["sequence"] for e in seen)
    mine = [e for e in seen if e["subject"] == order["id"]]
    assert [e["type"] for e in mine][:2] == ["orders.order_placed", "orders.order_accepted"]
    assert all(e["specversion"] == "1.0" and e["id"].startswith("orders:") for e in mine)
    rewound = api.operator.get(f"/v1/events/orders?after={mine[0]['sequence'] - 1}&limit=1")
    assert rewound.json()["events"][0]["id"] == mine[0]["id"]
    problem(api.operator.get("/v1/events/ledger"), 404, "not-found")
    problem(api.operator.get("/v1/events/orders?limit=5000"), 422, "validation-failed")
    problem(api.storefront.get("/v1/events/orders"), 403, "forbidden")


def test_a_storefront_gets_an_actor_token_for_rpc_and_the_token_carries_its_role(api):
    answer = api.storefront.post("/v1/tokens")
    assert answer.status_code == 201
    token = answer.json()
    assert (token["name"], token["role"]) == (api.names["storefront"], "storefront")
    context = {actors.TOKEN_KEY: token["token"]}
    with ClusterRpcProxy(api.system.config, timeout=15, context_data=context) as rpc:
        order = rpc.orders.place_order(order_payload())
        assert order["history"][0]["actor"] == api.names["storefront"]
        with pytest.raises(Forbidden):
            rpc.orders.accept_order(order["id"])


def test_admins_create_list_and_revoke_keys_and_a_revoked_key_is_refused_at_once(api):
    name = random_ref("shop-")
    created = api.admin.post("/v1/keys", {"name": name, "role": "storefront"})
    assert created.status_code == 201 and created.json()["key"].startswith("oms_")
    shop = Client(api.url, created.json()["key"])
    assert shop.post("/v1/orders", order_payload()).status_code == 201
    listed = {k["name"]: k for k in api.admin.get("/v1/keys").json()["keys"]}
    assert listed[name]["role"] == "storefront" and "key" not in listed[name]
    assert listed[name]["created_by"] == api.names["admin"]
    again = api.admin.post("/v1/keys", {"name": name, "role": "operator"})
    problem(again, 409, "conflict")
    problem(api.admin.post("/v1/keys", {"name": "x y", "role": "king"}), 422, "validation-failed")
    revoked = api.admin.request("DELETE", f"/v1/keys/{name}")
    assert revoked.json()["revoked_by"] == api.names["admin"]
    problem(shop.post("/v1/orders", order_payload()), 401, "unauthenticated")
    problem(api.operator.get("/v1/keys"), 403, "forbidden")


def test_admins_see_and_retry_parked_events_and_rebuild_over_http(api):
    assert api.admin.get("/v1/parked/billing").json() == {"parked": []}
    assert api.admin.get("/v1/parked/billing?status=all").status_code == 200
    problem(api.admin.post("/v1/parked/billing/999999/retry"), 404, "not-found")
    rebuilt = api.admin.post("/v1/rebuilds/orders")
    assert rebuilt.status_code == 200 and rebuilt.json()["service"] == "orders"
    rebuilt = api.admin.post("/v1/rebuilds/notify")
    assert rebuilt.status_code == 200 and "sends" in rebuilt.json()
    rebuilt = api.admin.post("/v1/rebuilds/production")
    assert rebuilt.status_code == 200 and rebuilt.json()["service"] == "production"
    rebuilt = api.admin.post("/v1/rebuilds/fulfilment")
    assert rebuilt.status_code == 200 and {"sends", "distributors"} <= set(rebuilt.json())
    problem(api.admin.post("/v1/rebuilds/nowhere"), 404, "not-found")


def test_the_docs_and_the_openapi_and_asyncapi_documents_are_served(api):
    spec = requests.get(api.url + "/openapi.json", timeout=10).json()
    assert spec["openapi"] == "3.1.0"
    events = requests.get(api.url + "/asyncapi.json", timeout=10).json()  # no key, like the spec
    assert events["asyncapi"] == "3.0.0" and "orders.order_placed" in events["channels"]
    docs = requests.get(api.url + "/docs", timeout=10)
    assert docs.headers["Content-Type"].startswith("text/html")
    assert "placeOrder" in docs.text and "problem-validation-failed" in docs.text
    eventually(lambda: True)
