"""The payment gateway's HTTP callback: only a fresh, correctly signed delivery has an effect,
and only once per gateway transaction — against the running billing service."""

import json
import time

import eventlet
import pytest
import requests

from services.billing.gateway import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign
from tests.support import GATEWAY_SECRET, eventually, order_payload, random_ref


@pytest.fixture
def post(module_system):
    url = f"http://127.0.0.1:{module_system.http_port}/billing/gateway/callback"

    def post(body: bytes, headers: dict) -> requests.Response:
        return requests.post(url, data=body, headers=headers, timeout=30)

    return post


def signed(
    callback: dict, secret: str = GATEWAY_SECRET, at: int | None = None
) -> tuple[bytes, dict]:
    body = json.dumps(callback).encode()
    at = int(time.time()) if at is None else at
    return body, {TIMESTAMP_HEADER: str(at), SIGNATURE_HEADER: sign(secret, at, body)}


def invoice_for(rpc) -> tuple[dict, dict]:
    order = rpc.orders.place_order(order_payload(payment_method="online_gateway"))
    rpc.orders.accept_order(order["id"])
    (invoice,) = eventually(lambda: rpc.billing.invoices_for_order(order["id"]))
    return order, invoice


def confirmation(invoice: dict, **overrides) -> dict:
    callback = {
        "transaction_id": random_ref("tx-"),
        "invoice_id": invoice["id"],
        "outcome": "confirmed",
        "amount": invoice["gross"],
        "currency": "EUR",
    }
    return dict(callback, **overrides)


def effect(rpc, order_id) -> tuple:
    account = rpc.billing.account_for_order(order_id)
    return account["version"], account["payment_status"], rpc.billing.log_status()["last_position"]


def test_only_the_valid_callback_has_an_effect_and_only_once(rpc, post):
    order, invoice = invoice_for(rpc)
    callback = confirmation(invoice)
    body, headers = signed(callback)
    before = effect(rpc, order["id"])
    refusals = {
        "unsigned": post(body, {}),
        "bad_signature": post(body, signed(callback, secret="not-the-secret")[1]),
        "altered": post(body.replace(b'"76.20"', b'"99.20"'), headers),
        "stale": post(*signed(callback, at=int(time.time()) - 301)),
        "from_the_future": post(*signed(callback, at=int(time.time()) + 301)),
        "bad_timestamp": post(body, dict(headers, **{TIMESTAMP_HEADER: "yesterday"})),
    }
    assert {name: (r.status_code, r.json()["error"]) for name, r in refusals.items()} == {
        "unsigned": (401, "unsigned"),
        "bad_signature": (401, "bad_signature"),
        "altered": (401, "bad_signature"),
        "stale": (401, "stale"),
        "from_the_future": (401, "stale"),
        "bad_timestamp": (401, "bad_timestamp"),
    }
    assert effect(rpc, order["id"]) == before

    valid = post(body, headers)
    assert valid.status_code == 200, valid.text
    assert valid.json()["result"] == "recorded"
    assert valid.json()["invoice"] == {
        "id": invoice["id"],
        "number": invoice["number"],
        "status": "paid",
        "paid": "76.20",
        "due": "76.20",
    }
    after = effect(rpc, order["id"])
    assert after[1] == "paid" and after[2] > before[2]

    replayed = post(body, headers)  # the very same signed delivery again
    assert (replayed.status_code, replayed.json()["error"]) == (409, "replayed")
    resent = post(*signed(callback, at=int(time.time()) + 1))  # the gateway retrying, re-signed
    assert (resent.status_code, resent.json()["result"]) == (200, "duplicate")
    assert effect(rpc, order["id"]) == after
    (shown,) = rpc.billing.invoices_for_order(order["id"])
    assert [(p["amount"], p["method"], p["reference"], p["source"]) for p in shown["payments"]] == [
        ("76.20", "online_gateway", callback["transaction_id"], "gateway")
    ]
    eventually(lambda: rpc.orders.get_order(order["id"])["payment_status"] == "paid")


def test_concurrent_deliveries_of_one_transaction_pay_once(rpc, post):
    order, invoice = invoice_for(rpc)
    callback = confirmation(invoice)
    now = int(time.time())  # once: a second ticking over mid-list would sign two alike
    deliveries = [signed(callback, at=now - n) for n in range(8)]
    pool = eventlet.GreenPool(8)
    answers = list(pool.imap(lambda d: post(*d), deliveries))
    results = sorted(a.json().get("result") for a in answers)
    assert [a.status_code for a in answers] == [200] * 8
    assert results == ["duplicate"] * 7 + ["recorded"]
    (shown,) = rpc.billing.invoices_for_order(order["id"])
    assert (len(shown["payments"]), shown["paid"], shown["status"]) == (1, "76.20", "paid")


def test_a_rejection_keeps_the_invoice_open_and_is_kept_on_the_account(rpc, post):
    order, invoice = invoice_for(rpc)
    rejection = confirmation(invoice, outcome="rejected", reason="card declined")
    answer = post(*signed(rejection))
    assert (answer.status_code, answer.json()["outcome"]) == (200, "rejected")
    assert answer.json()["invoice"]["status"] == "unpaid"
    account = rpc.billing.account_for_order(order["id"])
    assert [(r["transaction_id"], r["reason"]) for r in account["rejected_payments"]] == [
        (rejection["transaction_id"], "card declined")
    ]
    sent = eventually(
        lambda: [
            n
            for n in rpc.notify.notifications_for_order(order["id"])
            if n["event_type"] == "billing.payment_rejected"
        ]
    )
    assert "card declined" in sent[0]["body"]
    # a later confirmation with its own transaction id pays it
    assert post(*signed(confirmation(invoice))).json()["invoice"]["status"] == "paid"


@pytest.mark.parametrize(
    ("change", "status", "error", "field"),
    [
        ({"currency": "USD"}, 400, "invalid", "currency"),
        ({"amount": "76.205"}, 400, "invalid", "amount"),
        ({"amount": 76.2}, 400, "invalid", "amount"),
        ({"outcome": "maybe"}, 400, "invalid", "outcome"),
        ({"transaction_id": ""}, 400, "invalid", "transaction_id"),
        ({"invoice_id": "no-such-invoice"}, 404, "not_found", None),
    ],
)
def test_a_signed_but_bad_callback_is_refused_by_field_and_changes_nothing(
    rpc, post, change, status, error, field
):
    order, invoice = invoice_for(rpc)
    before = effect(rpc, order["id"])
    answer = post(*signed(confirmation(invoice, **change)))
    assert (answer.status_code, answer.json()["error"]) == (status, error)
    if field:
        assert field in answer.json()["fields"]
    assert effect(rpc, order["id"]) == before


def test_a_signed_body_that_is_not_json_is_refused(rpc, post):
    at = int(time.time())
    answer = post(
        b"paid!", {TIMESTAMP_HEADER: str(at), SIGNATURE_HEADER: sign(GATEWAY_SECRET, at, b"paid!")}
    )
    assert (answer.status_code, answer.json()["error"]) == (400, "invalid")


def test_a_confirmation_for_a_voided_invoice_is_refused(rpc, post):
    order, invoice = invoice_for(rpc)
    rpc.billing.void_invoice(invoice["id"], "replaced")
    before = effect(rpc, order["id"])
    answer = post(*signed(confirmation(invoice)))
    assert (answer.status_code, answer.json()["error"]) == (409, "invoice_voided")
    assert effect(rpc, order["id"]) == before


def test_a_body_over_the_limit_is_refused_before_it_is_read(rpc, post, module_system):
    order, invoice = invoice_for(rpc)
    before = effect(rpc, order["id"])
    huge = confirmation(invoice, reason="x" * (65 * 1024))
    body, headers = signed(huge)
    answer = post(body, headers)
    assert (answer.status_code, answer.json()["error"]) == (413, "too_large")

    url = f"http://127.0.0.1:{module_system.http_port}/billing/gateway/callback"
    chunked = requests.post(url, data=iter([body[:40_000], body[40_000:]]), headers=headers)
    assert (chunked.status_code, chunked.json()["error"]) == (413, "too_large")  # no length
    assert effect(rpc, order["id"]) == before
