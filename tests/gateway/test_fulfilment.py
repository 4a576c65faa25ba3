"""Purchase orders against the running system, on SQLite and PostgreSQL, with real local
distributors: ship over HTTP, and the purchase order is sent by the fulfilment service's own
sender thread and acknowledged — in the distributor's answer, or later by its signed callback to
the gateway; forged callbacks are refused at the door; distributors are managed by admins only."""

import json
import time

import pytest
import requests

from oms import cli
from shared import signing
from tests.gateway.test_desk import ok
from tests.support import eventually, order_payload, random_ref
from tests.thirdparties import DistributorServer

ADDRESS = {"line1": "1 Main St", "city": "Leeds", "postcode": "LS1 1AA", "country": "GB"}


@pytest.fixture(scope="module")
def later(tmp_path_factory):
    """A distributor that answers "received" and acknowledges by callback a moment later."""
    with DistributorServer(tmp_path_factory.mktemp("later"), "--answer", "later") as server:
        yield server


def distributor(api, server: DistributorServer) -> dict:
    code = random_ref("d-")
    body = {"name": f"Distributor {code}", "account_manager_email": f"am@{code}.example",
            "ordering": server.ordering(), "lead_time_days": 2}  # fmt: skip
    registered = ok(api.admin.request("PUT", f"/v1/distributors/{code}", body))
    server.secret(registered["callback_secret"])
    return registered


def shipped(api, code: str, cost: str = "4.10") -> tuple[dict, str]:
    desk, sku = api.operator, random_ref("SKU-").upper()
    product = {"name": "Mug", "unit_price": "9.50", "currency": "EUR", "vat_rate": "20",
               "made_in_house": False, "distributors": [code], "default_distributor": code,
               "cost_prices": {code: cost}, "weight": "0.350"}  # fmt: skip
    ok(desk.request("PUT", f"/v1/products/{sku}", product))
    lines = [{"sku": sku, "quantity": 3}]
    payload = dict(order_payload(), lines=lines)
    payload["shippings"] = [{"planned_date": "2026-12-20", "address": ADDRESS, "lines": lines}]
    order = ok(desk.post("/v1/orders", payload), 201)
    ok(desk.post(f"/v1/orders/{order['id']}/accept"))
    # fulfilment reads the orders log in order: the product's cost price comes before the ship
    ok(desk.post(f"/v1/orders/{order['id']}/shippings/{order['shippings'][0]['id']}/ship"))
    return order, sku


def test_a_shipped_purchase_order_is_sent_and_acknowledged_by_signed_callback(api, later):
    code = distributor(api, later)["code"]
    order, sku = shipped(api, code)
    desk = api.operator
    path = f"/v1/orders/{order['id']}/purchase-orders"
    (po,) = eventually(lambda: desk.get(path).json())
    po = eventually(
        lambda: (
            (p := ok(desk.get(f"/v1/purchase-orders/{po['id']}")))["status"] == "acknowledged" and p
        ),
        timeout=30,
    )
    assert po["acknowledgement"]["by"] == "callback"
    assert po["lines"][0]["cost_price"] in ("4.10", "4.1000")
    (taken,) = [o for o in later.orders() if o["key"] == po["id"]]
    assert taken["body"]["callback_url"] == f"{api.url}/v1/distributors/{code}/callbacks"
    assert po["acknowledgement"]["reference"] == taken["answer"]["reference"]
    # the distributor writes down the gateway's answer once it has it (after fulfilment saved)
    eventually(lambda: any(c.get("status") == 200 for c in later.callbacks()))
    assert [s["status"] for s in po["sends"]] == ["sent"]
    sends = ok(desk.get("/v1/purchase-order-sends?status=sent"))
    assert f"{po['id']}:order" in {s["send_id"] for s in sends}


def test_a_forged_or_stale_callback_is_refused_at_the_gateway(api, later):
    registered = distributor(api, later)
    code, secret = registered["code"], registered["callback_secret"]
    url = f"{api.url}/v1/distributors/{code}/callbacks"
    raw = json.dumps({"purchase_order_id": "7" * 8 + "-0000-0000-0000-" + "0" * 12,
                      "status": "acknowledged"}).encode()  # fmt: skip

    def post(stamp: int, signature: str):
        headers = {"Content-Type": "application/json", "X-Distributor-Timestamp": str(stamp),
                   "X-Distributor-Signature": signature}  # fmt: skip
        return requests.post(url, data=raw, headers=headers, timeout=10)

    now = int(time.time())
    assert post(now, signing.sign("guessed", now, raw)).status_code == 401
    assert post(now - 3600, signing.sign(secret, now - 3600, raw)).status_code == 401
    assert post(now, signing.sign(secret, now, raw + b" ")).status_code == 401  # another body
    unsigned = requests.post(url, data=raw, headers={"Content-Type": "application/json"})
    assert unsigned.status_code == 401
    assert post(now, signing.sign(secret, now, raw)).status_code == 404  # signed: no such PO


def test_distributors_are_managed_by_admins_and_read_by_operators(api, later):
    code = distributor(api, later)["code"]
    body = {"name": "X", "account_manager_email": "am@x.example", "ordering": {"channel": "email"}}
    assert api.operator.request("PUT", f"/v1/distributors/{code}x", body).status_code == 403
    listed = ok(api.operator.get("/v1/distributors"))
    assert code in {d["code"] for d in listed}
    assert all("credential" not in d["ordering"] for d in listed)
    assert api.storefront.get("/v1/distributors").status_code == 403
    changed = ok(api.admin.request("PATCH", f"/v1/distributors/{code}", {"lead_time_days": 5}))
    assert changed["lead_time_days"] == 5
    bad = api.admin.request("PATCH", f"/v1/distributors/{code}", {"lead_time_days": -1})
    assert bad.status_code == 422 and "lead_time_days" in bad.json()["errors"]


def test_a_storefront_checks_stock_and_the_best_source_over_http(api, later):
    code = random_ref("d-")
    body = {"name": code, "account_manager_email": f"am@{code}.example",
            "ordering": later.ordering(), "live": later.live(),
            "delivery": {"bands": [{"up_to_kg": "2", "charge": "4.00"}]}}  # fmt: skip
    ok(api.admin.request("PUT", f"/v1/distributors/{code}", body))
    sku = random_ref("SKU-").upper()
    product = {"name": "Mug", "unit_price": "9.50", "currency": "EUR", "vat_rate": "20",
               "made_in_house": False, "distributors": [code], "default_distributor": code,
               "weight": "0.350"}  # fmt: skip
    ok(api.operator.request("PUT", f"/v1/products/{sku}", product))
    stock = json.loads((later.directory / "stock.json").read_text()) if (
        later.directory / "stock.json").exists() else {}  # fmt: skip
    later.stock({**stock, sku: {"stock": 7, "cost_price": "3.10"}})
    shop = api.storefront
    checked = ok(shop.get(f"/v1/availability?skus={sku},NOPE-1&quantity=2"))
    (offer,) = [o for o in checked["lines"][0]["offers"] if o["distributor"] == code]
    assert offer == dict(offer, source="live", stock=7, cost_price="3.10", enough=True)
    posted = ok(shop.post("/v1/availability", {"lines": [{"sku": sku, "quantity": 9}]}))
    assert posted["lines"][0]["available"] is False  # 7 in stock
    bad = shop.post("/v1/availability", {"lines": [{"sku": sku, "quantity": "9"}]})
    assert bad.status_code == 422 and "lines.0.quantity" in bad.json()["errors"]
    best = ok(
        shop.post(
            "/v1/best-source",
            {"lines": [{"sku": sku, "quantity": 5}], "destination": {"country": "GB"}},
        )
    )
    assert best["total"] == "19.50" and best["shipments"][0]["delivery_charge"] == "4.00"
    # 6 mugs weigh 2.1 kg, over its only band: nobody can deliver them
    heavy = ok(
        shop.post(
            "/v1/best-source",
            {"lines": [{"sku": sku, "quantity": 6}], "destination": {"country": "GB"}},
        )
    )
    assert heavy["feasible"] is False and heavy["short"] == []
    assert "more than the distributors deliver at once" in heavy["reasoning"][0]
    order = ok(api.operator.post("/v1/orders", order_payload()), 201)
    assert shop.post(f"/v1/orders/{order['id']}/best-source", {}).status_code == 403


def test_oms_feeds_lists_and_imports_feeds(api, later, tmp_path, capsys):
    feed = tmp_path / "feed.csv"
    feed.write_text("sku,stock,cost_price\nINK-1,9,2.20\nINK-2,0,2.40\n")
    code = random_ref("d-")
    body = {"name": code, "account_manager_email": f"am@{code}.example",
            "ordering": {"channel": "email"},
            "feed": {"format": "csv", "source": str(feed), "interval_seconds": 3600}}  # fmt: skip
    ok(api.admin.request("PUT", f"/v1/distributors/{code}", body))
    base = ["--amqp-uri", api.system.amqp_uri, "--actor", "ops-ana", "feeds"]
    assert cli.main([*base, "import", code]) == 0
    out = capsys.readouterr().out
    assert out.startswith(code) and " 2  " in out
    feed.write_text("sku,stock\nINK-1,many\n")
    assert cli.main([*base, "import", code]) == 1  # failed: the last snapshot stays
    assert "stock must be a whole number" in capsys.readouterr().out
    assert cli.main(base) == 0
    (row,) = [line for line in capsys.readouterr().out.splitlines() if line.startswith(code)]
    assert " 2  " in row and "row 2 (INK-1)" in row
    listed = ok(api.operator.get("/v1/feeds"))
    (shown,) = [f for f in listed if f["distributor"] == code]
    assert shown["items"] == 2 and shown["error"].startswith("row 2 (INK-1)")
