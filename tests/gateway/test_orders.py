"""Orders over HTTP: place, read, act, list — through the gateway against the running system."""

from tests.support import order_payload


def test_a_storefront_places_an_order_and_an_operator_accepts_it(api):
    placed = api.storefront.post("/v1/orders", order_payload(), headers={"Idempotency-Key": "c-1"})
    assert placed.status_code == 201, placed.text
    order = placed.json()
    assert placed.headers["Location"] == f"/v1/orders/{order['id']}"
    assert placed.headers["ETag"] == '"1"'
    accepted = api.operator.post(f"/v1/orders/{order['id']}/accept", headers={"If-Match": '"1"'})
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["status"] == "accepted"
    assert accepted.json()["history"][-1]["actor"] == api.names["operator"]
