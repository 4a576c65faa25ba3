"""The rest of the order desk over HTTP, each route taking effect (not only admitting its role):
edits, shippings added, moved, rescheduled, delivered, completion, claims and reprints,
duplicates and new orders for a client, declines and voids, billing's channel, list and void."""

from tests.support import eventually, order_payload, random_ref

ADDRESS = {"line1": "1 Main St", "city": "Leeds", "postcode": "LS1 1AA", "country": "GB"}


def ok(answer, status: int = 200) -> dict:
    assert answer.status_code == status, answer.text
    return answer.json()


def test_shippings_are_edited_split_moved_rescheduled_shipped_and_delivered(api):
    desk = api.operator
    order = ok(desk.post("/v1/orders", order_payload()), 201)
    path, first = f"/v1/orders/{order['id']}", order["shippings"][0]["id"]
    edited = ok(desk.post(f"{path}/edit", {
        "shippings": [{"id": first, "lines": [{"sku": "MUG-1", "quantity": 4},
                                             {"sku": "CARD-9", "quantity": 100}]}],
        "reason": "client phoned",
    }))  # fmt: skip
    assert edited["ordered"]["MUG-1"] == 4
    split = ok(desk.post(f"{path}/shippings", {
        "planned_date": "2026-12-20", "address": ADDRESS,
        "lines": [{"sku": "MUG-1", "quantity": 1, "from_shipping": first}],
    }, headers={"Idempotency-Key": random_ref("split-")}), 201)  # fmt: skip
    second = split["shippings"][1]["id"]
    moved = ok(desk.post(f"{path}/quantity-moves", {
        "from_shipping": first, "to_shipping": second, "sku": "MUG-1", "quantity": 1,
    }))  # fmt: skip
    assert [s["lines"][0]["quantity"] for s in moved["shippings"]] == [2, 2]
    later = ok(desk.post(f"{path}/shippings/{second}/reschedule",
                         {"planned_date": "2026-12-24", "reason": "client away"}))  # fmt: skip
    assert later["shippings"][1]["planned_date"] == "2026-12-24"
    ok(desk.post(f"{path}/accept"))
    for shipping in (first, second):
        ok(desk.post(f"{path}/shippings/{shipping}/ship"))
    delivered = ok(desk.post(f"{path}/deliveries", {"lines": [{"sku": "MUG-1", "quantity": 4}]}))
    assert {line["sku"]: line["delivered"] for line in delivered["lines"]}["MUG-1"] == 4
    done = ok(desk.post(f"{path}/complete", {"reason": "all there"}))
    assert done["status"] == "completed"
    claim = ok(desk.post(f"{path}/claims", {
        "reason": "smudged", "lines": [{"sku": "CARD-9", "quantity": 20}]}), 201)  # fmt: skip
    resolved = ok(desk.post(f"{path}/claims/{claim['claim_id']}/resolve", {
        "resolution": "reprinted", "reason": "our printer", "planned_date": "2026-12-10"}))  # fmt: skip
    reprint = resolved["links"][0]
    assert reprint["kind"] == "reprinted_as"
    assert ok(desk.get(f"/v1/orders/{reprint['order_id']}"))["total"] == "0"


def test_re_orders_declines_voids_and_billing_over_http(api):
    desk = api.operator
    order = ok(desk.post("/v1/orders", order_payload(payment_method="online_gateway")), 201)
    path = f"/v1/orders/{order['id']}"
    copy = ok(desk.post(f"{path}/duplicates", {"planned_date": "2027-01-05"}), 201)
    assert copy["links"][0] == {
        "kind": "duplicate_of", "order_id": order["id"], "reference": order["reference"]
    }  # fmt: skip
    fresh = dict(order_payload())
    del fresh["client"]
    follow_up = ok(desk.post(f"{path}/client-orders", fresh), 201)
    assert follow_up["client"] == order["client"]
    declined = ok(desk.post(f"/v1/orders/{copy['id']}/decline", {"reason": "out of stock"}))
    assert declined["status"] == "declined"
    eventually(lambda: desk.get(f"{path}/account").status_code == 200)
    channel = ok(desk.request("PUT", f"{path}/payment-channel",
                              {"channel": "cash", "reason": "pays at pick-up"}))  # fmt: skip
    assert channel["channel"] == "cash"
    ok(desk.post(f"{path}/accept"))
    invoice = eventually(lambda: desk.get(f"{path}/invoices").json())[0]
    listed = ok(desk.get(f"/v1/invoices?order_id={order['id']}&statuses=unpaid"))
    assert [i["id"] for i in listed["invoices"]] == [invoice["id"]]
    etag = desk.get(f"/v1/invoices/{invoice['id']}").headers["ETag"]
    voided = ok(desk.post(f"/v1/invoices/{invoice['id']}/void", {"reason": "wrong client"},
                          headers={"If-Match": etag}))  # fmt: skip
    assert voided["status"] == "voided"
    gone = ok(desk.post(f"{path}/void", {"reason": "client cancelled"}))
    assert gone["status"] == "voided"
    rebuilt = ok(api.admin.post("/v1/rebuilds/billing"))
    assert rebuilt["service"] == "billing" and rebuilt["aggregates"] >= 1
