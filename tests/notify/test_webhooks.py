"""Webhooks in process (orders, billing and notify on SQLite files, and on PostgreSQL for the
delivery itself, dead letters and rewinds; notify's sender run by hand)
to a real local endpoint that verifies every delivery with the `standardwebhooks` library
(oms/hookbox.py): order, retries through an endpoint that is down, dead letters that pause a
subscription and go again, rewinds, secret rotation, tampering, and every refusal by field."""

import json

import pytest
import requests
from standardwebhooks import Webhook, WebhookVerificationError

from shared.errors import InvalidTransition, NotFound, ValidationFailed
from tests.inprocess import InProcess
from tests.support import order_payload
from tests.thirdparties import WebhookReceiver


@pytest.fixture
def receiver(tmp_path):
    with WebhookReceiver(tmp_path / "hooks") as server:
        yield server


@pytest.fixture
def make_desk(tmp_path):
    desks = []

    def make(urls=None, **settings):
        """On SQLite files, or the stores `urls` names (PostgreSQL)."""
        defaults = {
            "NOTIFY_POLICY": "off",  # the clients' messages stay unsent: webhooks only here
            "WEBHOOK_ALLOW": "loopback",
            "WEBHOOK_BACKOFF_SECONDS": 0,
            "SEND_TIMEOUT_SECONDS": 2,
        }
        services = ("orders", "billing", "notify")
        desk = InProcess(tmp_path, services, urls=urls, **{**defaults, **settings})
        desks.append(desk)
        return desk

    yield make
    for desk in desks:
        desk.close()


def deliver(desk, most: int = 300) -> int:
    """Run notify's sender until it has nothing more to try; answers the tries."""
    tried = 0
    for _ in range(most):
        n = desk.send("notify")
        if not n:
            return tried
        tried += n
    raise AssertionError("the sender never ran out of sends")


def subscribe(desk, receiver, *types, **more) -> dict:
    created = desk.notify.create_webhook(
        {"url": receiver.url, "event_types": list(types) or ["*"], **more}
    )
    receiver.trust(created["secret"])
    return created


def placed_and_accepted(desk, n: int) -> list[dict]:
    orders = [desk.orders.place_order(order_payload()) for _ in range(n)]
    for order in orders:
        desk.orders.accept_order(order["id"])
    return orders


def journal(desk) -> list[dict]:
    """Every journaled event, in journal order."""
    app = desk.apps["notify"]
    end = app.journal.end(app.engine)
    return [json.loads(app.journal.envelope(app.engine, p)) for p in range(1, end + 1)]


def test_a_subscription_gets_the_events_of_its_types_in_log_order_signed_and_verified(
    make_desk, receiver, store
):
    desk = make_desk(store)
    desk.orders.place_order(order_payload())  # before the subscription: not sent
    hook = subscribe(desk, receiver, "orders.*", "billing.invoice_issued")
    assert hook["secret"].startswith("whsec_") and hook["status"] == "active"
    orders = placed_and_accepted(desk, 3)
    deliver(desk)

    expected = [
        e["id"]
        for e in journal(desk)
        if e["type"].startswith("orders.") or e["type"] == "billing.invoice_issued"
    ][1:]  # the first order's placing came before
    got = receiver.accepted()
    assert [d["webhook_id"] for d in got] == expected
    assert all(d["verified_by"] == 0 and d["signatures"] == 1 for d in got)
    bodies = [json.loads(d["body"]) for d in got]
    assert {b["type"] for b in bodies} == {
        "orders.order_placed",
        "orders.order_accepted",
        "orders.payment_status_changed",
        "billing.invoice_issued",
    }
    assert [b["subject"] for b in bodies if b["type"] == "orders.order_accepted"] == [
        o["id"] for o in orders
    ]
    orders_seqs = [b["sequence"] for b in bodies if b["type"].startswith("orders.")]
    assert orders_seqs == sorted(orders_seqs)  # each upstream's log order
    assert all(b["id"] == d["webhook_id"] for b, d in zip(bodies, got, strict=True))
    listed = desk.notify.get_webhook(hook["id"])
    assert listed["deliveries"] == {"delivered": len(expected)}
    assert "secret" not in listed and listed["secret_hint"].endswith(hook["secret"][-4:])


def test_an_endpoint_down_for_a_while_gets_everything_in_order_once_it_is_back(
    make_desk, receiver, tmp_path
):
    desk = make_desk(WEBHOOK_MAX_ATTEMPTS=50)
    hook = subscribe(desk, receiver, "orders.order_accepted")
    port = receiver.port
    receiver.close()  # down: connections refused
    placed_and_accepted(desk, 3)
    for _ in range(4):  # four tries of the first, and nothing passes it
        assert desk.send("notify") == 1
    (first,) = desk.notify.webhook_deliveries(hook["id"])
    assert first["status"] == "pending" and first["attempts"] == 4
    assert "ConnectionError" in first["answer"]

    with WebhookReceiver(tmp_path / "hooks", port=port) as back:
        deliver(desk)
        got = back.accepted()
    accepted = [e["id"] for e in journal(desk) if e["type"] == "orders.order_accepted"]
    assert [d["webhook_id"] for d in got] == accepted  # in order, each once
    attempts = desk.apps["notify"].get(first["id"]).attempts
    assert [a["outcome"] for a in attempts] == ["retry"] * 4 + ["sent"]
    assert attempts[-1]["request"]["headers"]["webhook-id"] == accepted[0]


def test_a_delivery_out_of_tries_is_a_dead_letter_that_pauses_and_goes_again_first(
    make_desk, receiver, store
):
    desk = make_desk(store, WEBHOOK_MAX_ATTEMPTS=2)
    hook = subscribe(desk, receiver, "orders.order_accepted")
    receiver.script("http 503", "http 503")
    placed_and_accepted(desk, 2)
    deliver(desk)
    paused = desk.notify.get_webhook(hook["id"])
    assert paused["status"] == "paused" and paused["deliveries"] == {"dead": 1}
    accepted = [e["id"] for e in journal(desk) if e["type"] == "orders.order_accepted"]
    assert paused["paused_reason"].startswith(f"{accepted[0]} failed for good: gave up after 2")
    assert "HTTP 503" in paused["paused_reason"]
    (dead,) = desk.notify.webhook_deliveries(hook["id"], "dead")
    placed_and_accepted(desk, 1)  # more while paused: kept for later
    assert deliver(desk) == 0 and receiver.accepted() == []

    desk.notify.redeliver_webhook(hook["id"])
    deliver(desk)
    accepted = [e["id"] for e in journal(desk) if e["type"] == "orders.order_accepted"]
    assert [d["webhook_id"] for d in receiver.accepted()] == accepted
    after = desk.notify.get_webhook(hook["id"])
    assert after["status"] == "active" and after["deliveries"] == {"delivered": 3}
    redelivered = desk.apps["notify"].get(dead["id"])
    assert [a["send_id"][-2:] for a in redelivered.attempts] == [":1", ":1", ":2"]


def test_events_refused_in_a_row_are_dead_letters_and_then_pause_the_subscription(
    make_desk, receiver
):
    desk = make_desk(WEBHOOK_PAUSE_AFTER=2)
    hook = subscribe(desk, receiver, "orders.order_accepted")
    receiver.script("http 422", "ok", "http 400", "http 410")
    placed_and_accepted(desk, 4)
    deliver(desk)
    state = desk.notify.get_webhook(hook["id"])
    assert state["deliveries"] == {"dead": 3, "delivered": 1}  # one refusal alone: it goes on
    assert state["status"] == "paused"
    assert state["paused_reason"].startswith("2 events refused in a row")
    assert "HTTP 410" in state["paused_reason"]
    placed_and_accepted(desk, 1)
    assert deliver(desk) == 0  # paused
    assert desk.notify.resume_webhook(hook["id"])["status"] == "active"
    with pytest.raises(InvalidTransition):
        desk.notify.resume_webhook(hook["id"])  # not paused
    assert deliver(desk) == 1  # resumed without its dead letters: the next one goes
    assert desk.notify.get_webhook(hook["id"])["deliveries"] == {"dead": 3, "delivered": 2}


def test_a_rewind_delivers_again_from_a_position_an_event_or_a_time(make_desk, receiver, store):
    desk = make_desk(store)
    hook = subscribe(desk, receiver, "orders.order_accepted", "orders.order_placed")
    placed_and_accepted(desk, 2)
    deliver(desk)
    ids = [d["webhook_id"] for d in receiver.accepted()]
    assert len(ids) == 4

    desk.notify.rewind_webhook(hook["id"], ids[1])  # an event id: from that one on
    deliver(desk)
    assert [d["webhook_id"] for d in receiver.accepted()] == ids + ids[1:]

    app = desk.apps["notify"]
    third = app.journal.position_of(app.engine, ids[2])
    rewound = desk.notify.rewind_webhook(hook["id"], third)  # a journal position
    assert rewound["round"] == 3 and rewound["position"] == third - 1
    deliver(desk)
    assert [d["webhook_id"] for d in receiver.accepted()][-2:] == ids[2:]

    desk.notify.rewind_webhook(hook["id"], "2020-01-01T00:00:00Z")  # a time: everything since
    deliver(desk)
    assert [d["webhook_id"] for d in receiver.accepted()][-4:] == ids
    desk.notify.rewind_webhook(hook["id"], "2100-01-01T00:00:00+01:00")
    assert deliver(desk) == 0
    assert desk.notify.webhook_journal()["end"] == len(journal(desk))


def test_while_a_rotated_secret_overlaps_both_sign_then_only_the_new_one(make_desk, receiver):
    desk = make_desk()
    hook = subscribe(desk, receiver, "orders.order_placed")
    first = hook["secret"]
    rotated = desk.notify.rotate_webhook_secret(hook["id"])
    second = rotated["secret"]
    assert second != first and rotated["previous_secret_until"] is not None
    receiver.trust(first)  # an integrator who has not taken the new secret yet
    desk.orders.place_order(order_payload())
    deliver(desk)
    receiver.trust(second)  # one who has
    desk.orders.place_order(order_payload())
    deliver(desk)
    assert [(d["signatures"], d["verified_by"]) for d in receiver.accepted()] == [(2, 0), (2, 0)]

    desk.notify.rotate_webhook_secret(hook["id"], overlap_seconds=0)  # the second stops at once
    desk.orders.place_order(order_payload())
    deliver(desk)
    last = receiver.deliveries()[-1]
    assert last["signatures"] == 1 and last["answered"] == 401
    assert last["problem"] == "No matching signature found"
    (dead,) = desk.notify.webhook_deliveries(hook["id"], "dead")
    assert dead["answer"].startswith("HTTP 401")


def test_a_tampered_delivery_fails_verification_at_the_receiver(make_desk, receiver):
    desk = make_desk()
    hook = subscribe(desk, receiver, "orders.order_placed")
    desk.orders.place_order(order_payload())
    deliver(desk)
    (genuine,) = receiver.accepted()
    body = json.loads(genuine["body"])
    body["data"]["total"] = "0.01"
    tampered = json.dumps(body, separators=(",", ":"))
    answer = requests.post(receiver.url, data=tampered, headers=genuine["headers"], timeout=5)
    assert answer.status_code == 401
    assert receiver.deliveries()[-1]["problem"] == "No matching signature found"
    with pytest.raises(WebhookVerificationError):
        Webhook(hook["secret"]).verify(tampered, genuine["headers"])
    assert Webhook(hook["secret"]).verify(genuine["body"], genuine["headers"])["id"] == body["id"]


def test_removing_or_rewinding_drops_the_delivery_under_way(make_desk, receiver):
    desk = make_desk(WEBHOOK_MAX_ATTEMPTS=50)
    hook = subscribe(desk, receiver, "orders.order_placed")
    receiver.script("http 503")
    desk.orders.place_order(order_payload())
    desk.send("notify")
    (pending,) = desk.notify.webhook_deliveries(hook["id"], "pending")
    desk.notify.remove_webhook(hook["id"])
    assert desk.notify.webhook_deliveries(hook["id"])[0]["status"] == "dropped"
    assert deliver(desk) == 0 and receiver.accepted() == []
    assert hook["id"] not in [w["id"] for w in desk.notify.list_webhooks()]
    with pytest.raises(InvalidTransition):
        desk.notify.rewind_webhook(hook["id"], 1)
    outbox = {s["send_id"]: s["status"] for s in desk.notify.outbox()}
    assert outbox[f"wh:{pending['id']}:1"] == "dropped"


def test_the_webhooks_read_models_rebuild_to_the_same_rows(make_desk, receiver):
    desk = make_desk(WEBHOOK_MAX_ATTEMPTS=1)
    hook = subscribe(desk, receiver, "*")
    receiver.script("ok", "http 500")
    placed_and_accepted(desk, 1)
    deliver(desk)
    before = desk.notify.list_webhooks(), desk.notify.webhook_deliveries(hook["id"])
    assert desk.notify.rebuild_read_model()["webhooks"] == 1
    assert (desk.notify.list_webhooks(), desk.notify.webhook_deliveries(hook["id"])) == before


@pytest.mark.parametrize(
    "subscription, field, says",
    [
        ({"url": None}, "url", "Missing data"),
        ({"url": "ftp://x.example/"}, "url", "http:// or https://"),
        ({"url": "http://u:p@127.0.0.1/"}, "url", "user or password"),
        ({"url": "http://10.1.2.3/hooks"}, "url", "private address"),
        ({"event_types": []}, "event_types", "Length must be between 1 and 100"),
        ({"event_types": ["orders.no_such"]}, "event_types.0", "no event type webhooks carry"),
        ({"event_types": ["notify.*"]}, "event_types.0", "no event type webhooks carry"),
        ({"start": 0}, "start", "1 or more"),
        ({"start": 10**6}, "start", "the journal ends at"),
        ({"start": "yesterday"}, "start", "neither a position"),
        ({"colour": "red"}, "colour", "Unknown field"),
    ],
)
def test_a_bad_subscription_is_refused_naming_its_field(
    make_desk, receiver, subscription, field, says
):
    desk = make_desk()
    given = {"url": receiver.url, "event_types": ["*"], **subscription}
    with pytest.raises(ValidationFailed) as refused:
        desk.notify.create_webhook({k: v for k, v in given.items() if v is not None})
    assert says in " ".join(refused.value.details[field])
    assert desk.notify.list_webhooks() == []


def test_loopback_targets_are_refused_unless_the_settings_allow_them(make_desk, receiver):
    desk = make_desk(WEBHOOK_ALLOW="")
    with pytest.raises(ValidationFailed) as refused:
        desk.notify.create_webhook({"url": receiver.url, "event_types": ["*"]})
    assert "loopback address" in refused.value.details["url"][0]
    with pytest.raises(NotFound):
        desk.notify.rewind_webhook("5d0c7c4e-8d2e-4a53-9d8e-000000000000", 1)


def test_the_same_idempotency_key_makes_one_subscription_with_one_secret(make_desk, receiver):
    desk = make_desk()
    given = {"url": receiver.url, "event_types": ["orders.*"]}
    first = desk.notify.create_webhook(given, idempotency_key="erp-1")
    again = desk.notify.create_webhook(given, idempotency_key="erp-1")
    assert again["id"] == first["id"] and again["secret"] == first["secret"]
    assert len(desk.notify.list_webhooks()) == 1
