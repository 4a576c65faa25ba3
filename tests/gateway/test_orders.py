"""Orders over HTTP through the gateway, against the running system: place, read, act, list;
Idempotency-Key replays, ETag and If-Match, a storefront's own orders, pages without gaps."""

import json

import eventlet
import pytest

from oms.generate import generate
from services.orders.application import OrdersApplication
from shared.settings import Settings
from tests.conftest import fresh_store, fresh_vhost
from tests.gateway.conftest import Client
from tests.support import System, eventually, order_payload, random_ref


def place(caller, **overrides):
    answer = caller.post("/v1/orders", order_payload(**overrides))
    assert answer.status_code == 201, answer.text
    return answer.json()


def test_a_storefront_places_an_order_and_an_operator_moves_it_through_the_desk(api):
    placed = api.storefront.post("/v1/orders", order_payload(), headers={"X-Request-Id": "chk-9"})
    assert placed.status_code == 201, placed.text
    order = placed.json()
    assert placed.headers["Location"] == f"/v1/orders/{order['id']}"
    assert placed.headers["ETag"] == '"1"' and placed.headers["X-Request-Id"] == "chk-9"
    assert order["history"][0]["actor"] == api.names["storefront"]  # the key's name
    accepted = api.operator.post(f"/v1/orders/{order['id']}/accept", headers={"If-Match": '"1"'})
    assert accepted.status_code == 200, accepted.text
    assert (accepted.json()["status"], accepted.headers["ETag"]) == ("accepted", '"2"')
    assert accepted.json()["history"][-1]["actor"] == api.names["operator"]
    shipping = order["shippings"][0]["id"]
    held = api.operator.post(f"/v1/orders/{order['id']}/hold", {"reason": "address check"})
    assert held.json()["status"] == "on_hold"
    released = api.operator.post(f"/v1/orders/{order['id']}/release", {"reason": "address ok"})
    assert released.json()["status"] in ("accepted", "in_production")  # production may start
    note = api.operator.post(f"/v1/orders/{order['id']}/notes", {"kind": "client", "text": "Hi"})
    assert note.status_code == 201 and note.json()["notes"][-1]["text"] == "Hi"
    invoices = eventually(
        lambda: api.operator.get(f"/v1/orders/{order['id']}/invoices").json(), timeout=30
    )
    assert invoices[0]["status"] == "unpaid"
    shown = api.operator.get(f"/v1/invoices/{invoices[0]['id']}")
    assert shown.headers["ETag"] == f'"{shown.json()["version"]}"'
    paid = api.operator.post(
        f"/v1/invoices/{invoices[0]['id']}/payments",
        {"amount": invoices[0]["gross"], "method": "card", "reference": random_ref("card-")},
    )
    assert paid.status_code == 201 and paid.json()["status"] == "paid", paid.text
    shipped = api.operator.post(f"/v1/orders/{order['id']}/shippings/{shipping}/ship")
    assert shipped.status_code == 200, shipped.text
    eventually(lambda: api.operator.get(f"/v1/orders/{order['id']}/purchase-orders").json())
    eventually(lambda: api.operator.get(f"/v1/orders/{order['id']}/production-orders").json())
    eventually(lambda: api.operator.get(f"/v1/orders/{order['id']}/notifications").json())
    account = api.operator.get(f"/v1/orders/{order['id']}/account").json()
    assert account["payment_status"] == "paid"


def test_a_stale_if_match_is_refused_with_412_and_changes_nothing(api):
    order = place(api.storefront)
    path = f"/v1/orders/{order['id']}"
    api.operator.post(f"{path}/hold", {"reason": "first"}, headers={"If-Match": '"1"'})
    stale = api.operator.post(f"{path}/release", {"reason": "late"}, headers={"If-Match": '"1"'})
    assert stale.status_code == 412
    assert stale.headers["Content-Type"] == "application/problem+json"
    assert stale.json()["version"] == 2
    current = api.operator.get(path)
    assert (current.json()["status"], current.headers["ETag"]) == ("on_hold", '"2"')
    fresh = api.operator.post(f"{path}/release", {"reason": "ok"}, headers={"If-Match": 'W/"2"'})
    assert fresh.status_code == 200 and fresh.json()["version"] == 3
    bad = api.operator.post(f"{path}/hold", {"reason": "x"}, headers={"If-Match": "yesterday"})
    assert bad.status_code == 400


def test_the_same_idempotency_key_replays_the_first_answer_and_another_body_is_refused(api):
    key = {"Idempotency-Key": random_ref("cart-")}
    body = order_payload()
    first = api.storefront.post("/v1/orders", body, headers=key)
    again = api.storefront.post("/v1/orders", body, headers=key)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again.headers["Idempotent-Replayed"] == "true"
    assert again.headers["ETag"] == first.headers["ETag"]
    other = api.storefront.post("/v1/orders", order_payload(note="other"), headers=key)
    assert other.status_code == 422 and "Idempotency-Key" in other.json()["errors"]
    # the key is the caller's own: another key may use the same one for its own order
    mine = api.operator.post("/v1/orders", body, headers=key)
    assert mine.status_code == 201 and mine.json()["id"] != first.json()["id"]
    # the same document written with other spacing and key order is the same request
    respaced = json.dumps(dict(reversed(list(body.items()))), indent=2)
    same = api.storefront.post(
        "/v1/orders", data=respaced, headers={**key, "Content-Type": "application/json"}
    )
    assert same.status_code == 201 and same.json()["id"] == first.json()["id"]
    # the longest key allowed works (the services get it scoped to the caller, and hashed)
    long_key = {"Idempotency-Key": "k" * 255}
    long_first = api.storefront.post("/v1/orders", body, headers=long_key)
    long_again = api.storefront.post("/v1/orders", body, headers=long_key)
    assert long_first.status_code == 201 and long_again.json() == long_first.json()
    too_long = api.storefront.post("/v1/orders", body, headers={"Idempotency-Key": "k" * 256})
    assert too_long.status_code == 422
    # a refusal is replayed too (Stripe's rule), and nothing is stored twice
    bad = dict(order_payload(), lines=[])
    refused = [
        api.storefront.post("/v1/orders", bad, headers={"Idempotency-Key": "bad-1"})
        for _ in range(2)
    ]
    assert [r.status_code for r in refused] == [422, 422]
    assert refused[1].headers["Idempotent-Replayed"] == "true"


def test_concurrent_requests_with_one_idempotency_key_create_one_order(api):
    key = {"Idempotency-Key": random_ref("race-")}
    body, racer = order_payload(), api.key("storefront").key
    pool = eventlet.GreenPool()
    answers = list(
        pool.imap(lambda _: Client(api.url, racer).post("/v1/orders", body, headers=key), range(6))
    )
    created = [a for a in answers if a.status_code == 201]
    assert created and all(a.status_code in (201, 409) for a in answers), answers
    assert len({a.json()["id"] for a in created}) == 1


def test_a_storefront_sees_only_the_orders_it_placed(api):
    mine = place(api.storefront)
    theirs = place(api.operator)
    assert api.storefront.get(f"/v1/orders/{mine['id']}").status_code == 200
    hidden = api.storefront.get(f"/v1/orders/{theirs['id']}")
    assert hidden.status_code == 404 and hidden.json()["type"] == "/docs#problem-not-found"
    assert api.storefront.post(f"/v1/orders/{theirs['id']}/pro-forma").status_code == 404
    pro_forma = eventually(
        lambda: (r := api.storefront.post(f"/v1/orders/{mine['id']}/pro-forma")).ok and r
    )
    assert pro_forma.json()["kind"] == "pro_forma"
    assert api.storefront.get("/v1/orders").status_code == 403  # the list is the desk's


def test_the_catalogue_over_http(api):
    code, sku = random_ref("C"), random_ref("MUG-")
    client = {"name": "Acme Ltd", "email": "buy@acme.example", "phone": "+44 113 496 0000"}
    registered = api.operator.request("PUT", f"/v1/clients/{code}", client)
    assert registered.status_code == 200 and registered.headers["ETag"] == '"1"', registered.text
    changed = api.operator.request("PATCH", f"/v1/clients/{code}", {"phone": "+44 113 496 0001"})
    assert changed.json()["phone"] == "+44 113 496 0001"
    listed = api.operator.get(f"/v1/clients?search={code.lower()}").json()
    assert [c["code"] for c in listed["clients"]] == [code] and listed["next"] is None
    gone = api.operator.post(f"/v1/clients/{code}/deactivate", {"reason": "closed"})
    assert gone.json()["active"] is False
    product = {
        "name": "Mug", "unit_price": "9.50", "currency": "EUR", "vat_rate": "20",
        "made_in_house": False, "distributors": ["acme"], "default_distributor": "acme",
    }  # fmt: skip
    assert api.operator.request("PUT", f"/v1/products/{sku}", product).status_code == 200
    repriced = api.operator.request("PATCH", f"/v1/products/{sku}", {"unit_price": "9.90"})
    assert repriced.json()["unit_price"] == "9.90"
    assert api.operator.post(f"/v1/products/{sku}/deactivate").json()["active"] is False
    active = api.operator.get(f"/v1/products?search={sku}&active=true").json()["products"]
    assert active == []


@pytest.fixture(params=["sqlite", "postgres"])
def thousand(request, rabbit, tmp_path):
    """1,000 orders in every status written straight into a fresh orders store (the same use case
    in batches: placing them one by one over HTTP would take minutes), then orders and the
    gateway started on it (nothing else: the other services would spend the test reacting)."""
    with (
        fresh_vhost(rabbit) as uri,
        fresh_store(request.param, tmp_path, request) as urls,
    ):
        app = OrdersApplication(urls["orders"], Settings.load())
        try:
            generated = {str(order.id) for order in generate(app, 1000)}
        finally:
            app.close()
        with System(uri, urls, services=("orders", "gateway")) as system:
            with system.rpc() as rpc:
                key = rpc.gateway.create_key(random_ref("desk-"), "operator")["key"]
            yield Client(system.api_url, key), generated


def test_a_thousand_orders_page_without_a_duplicate_or_a_gap(thousand):
    desk, generated = thousand
    seen, link, pages = [], "/v1/orders?limit=97&sort=total&direction=asc&include_closed=true", 0
    while link:
        page = eventually(lambda link=link: (r := desk.get(link)).status_code == 200 and r)
        body = page.json()
        seen += [o["id"] for o in body["orders"]]
        link, pages = body["next"], pages + 1
        if link:
            assert page.headers["Link"] == f'<{link}>; rel="next"'
    assert len(seen) == len(set(seen)) == sum(body["counts"].values())  # no duplicate, no gap
    assert generated == set(seen) and pages == 11
