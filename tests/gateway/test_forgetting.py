"""Forgetting a client through the gateway, against the running system on SQLite and PostgreSQL:
the back office's routes (admins only), the answers kept for Idempotency-Key replays (sealed:
no plaintext in the gateway's store; a forgotten client's answer is not replayed), and the
workshop's work sheet (its store holds no plaintext; the sheet reads "forgotten client")."""

import io

from pypdf import PdfReader

from shared.sealing import FORGOTTEN
from tests.gateway.test_desk import ok
from tests.production.test_personal import stored_text
from tests.support import eventually, order_payload, random_ref


def personal(payload: dict) -> tuple[str, ...]:
    client, address = payload["client"], payload["shippings"][0]["address"]
    return client["name"], client["email"], address["line1"]


def stored(api, service: str) -> str:
    return stored_text(api.system.database_urls[service])


def sheet(api, job_id: str) -> str:
    answer = api.operator.get(f"/v1/documents/work_sheet/{job_id}.pdf")
    assert answer.status_code == 200, answer.text
    return "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(answer.content)).pages)


def test_replays_are_kept_sealed_and_a_forgotten_clients_is_not_replayed(api):
    payload = order_payload()
    payload["shippings"][0]["address"]["line1"] = f"{random_ref()} Lovelace Row"
    key = {"Idempotency-Key": random_ref("cart-")}
    first = api.storefront.post("/v1/orders", payload, headers=key)
    assert first.status_code == 201 and first.json()["client"]["name"] == payload["client"]["name"]
    kept = stored(api, "gateway")
    assert first.json()["id"] in kept  # the replay is kept, its answer sealed
    for plain in personal(payload):
        assert plain not in kept, plain
    again = api.storefront.post("/v1/orders", payload, headers=key)
    assert again.headers["Idempotent-Replayed"] == "true" and again.json() == first.json()

    # the back office forgets the guest by its order: the kept answer opens no more
    forgotten = ok(api.admin.post(f"/v1/orders/{first.json()['id']}/forget-client"))
    assert forgotten == {"subject": f"order:{first.json()['id']}", "forgotten": True, "now": True}
    refused = api.storefront.post("/v1/orders", payload, headers=key)
    assert refused.status_code == 409 and refused.headers["Idempotent-Replayed"] == "true"
    assert "forgotten" in refused.json()["detail"]
    shown = ok(api.operator.get(f"/v1/orders/{first.json()['id']}"))
    assert shown["client"]["name"] == FORGOTTEN
    kept = stored(api, "gateway")
    for plain in personal(payload):
        assert plain not in kept, plain


def test_an_answer_naming_no_subject_is_sealed_with_its_clients_key(api):
    code = random_ref("ACME-")
    details = {"name": f"Acme {code}", "email": "buyer@acme.example", "phone": "+442079460002"}
    ok(api.operator.request("PUT", f"/v1/clients/{code}", details))
    key = {"Idempotency-Key": random_ref("close-")}
    path = f"/v1/clients/{code}/deactivate"
    closed = ok(api.operator.post(path, {"reason": "closed down"}, headers=key))
    assert closed["name"] == details["name"]
    assert details["name"] not in stored(api, "gateway")
    assert ok(api.operator.post(path, {"reason": "closed down"}, headers=key)) == closed
    ok(api.admin.post(f"/v1/clients/{code}/forget"))
    assert api.operator.post(path, {"reason": "closed down"}, headers=key).status_code == 409


def test_only_an_admin_forgets_and_a_catalogue_client_is_forgotten_by_its_code(api):
    code = random_ref("ADA-")
    details = {"name": f"Ada Works {code}", "email": "ada@works.example", "phone": "+442079460001"}
    ok(api.operator.request("PUT", f"/v1/clients/{code}", details))
    payload = order_payload()
    del payload["client"]
    order = ok(api.operator.post("/v1/orders", dict(payload, client_code=code)), 201)
    ok(api.operator.post(f"/v1/orders/{order['id']}/accept"))
    path = f"/v1/orders/{order['id']}/production-orders"
    (job,) = eventually(lambda: api.operator.get(path).json())
    ok(api.operator.post(f"/v1/production-orders/{job['id']}/release"))
    assert details["name"] in sheet(api, job["id"])
    assert details["name"] not in stored(api, "production")

    assert api.operator.post(f"/v1/clients/{code}/forget").status_code == 403
    assert api.storefront.post(f"/v1/orders/{order['id']}/forget-client").status_code == 403
    by_order = api.admin.post(f"/v1/orders/{order['id']}/forget-client")
    assert by_order.status_code == 422 and code in by_order.json()["errors"]["order_id"][0]
    assert api.admin.post("/v1/clients/order:x/forget").status_code == 422
    assert api.admin.post(f"/v1/clients/{random_ref('NOBODY-')}/forget").status_code == 404
    assert ok(api.admin.post(f"/v1/clients/{code}/forget"))["now"] is True
    assert ok(api.admin.post(f"/v1/clients/{code}/forget"))["now"] is False  # changes nothing

    # production hears it: its work sheet reads "forgotten client", its store holds no name
    eventually(lambda: FORGOTTEN in sheet(api, job["id"]), timeout=30)
    assert details["name"] not in sheet(api, job["id"])
    ok(api.admin.post("/v1/rebuilds/production"))
    assert details["name"] not in stored(api, "production")


def test_a_guest_is_forgotten_by_any_of_its_orders(api):
    payload = order_payload()
    first = ok(api.operator.post("/v1/orders", payload), 201)
    fresh = order_payload()
    del fresh["client"]
    again = ok(api.operator.post(f"/v1/orders/{first['id']}/client-orders", fresh), 201)
    assert again["client"]["subject"] == f"order:{first['id']}"
    forgotten = ok(api.admin.post(f"/v1/orders/{again['id']}/forget-client"))
    assert forgotten["subject"] == f"order:{first['id']}"
    for order in (first, again):
        assert ok(api.operator.get(f"/v1/orders/{order['id']}"))["client"]["name"] == FORGOTTEN
    unknown = "5" * 8 + first["id"][8:]
    assert api.admin.post(f"/v1/orders/{unknown}/forget-client").status_code == 404


def test_the_routes_are_documented(api):
    spec = api.anonymous.get("/openapi.json").json()
    for path, op in (
        ("/v1/clients/{code}/forget", "forgetClient"),
        ("/v1/orders/{order_id}/forget-client", "forgetOrderClient"),
    ):
        documented = spec["paths"][path]["post"]
        assert documented["operationId"] == op and documented["description"] == "Role: admin."
