"""Notify is SIGKILLed while it delivers a backlog of webhooks, twice: every event still reaches the
integrator's endpoint, verified, in log order, and nothing is lost; a repeat after a kill (the
documented window: the endpoint took it, the attempt was not yet recorded) carries the same
`webhook-id`, so the receiver drops it — at most one per kill."""

import signal

from shared.settings import SERVICES
from tests.support import (
    System,
    eventually,
    order_payload,
    serve_subprocess,
    stop_process,
    wait_until_answers,
)
from tests.thirdparties import WebhookReceiver

ORDERS = 6
KILLS = 2


def test_notify_killed_while_delivering_webhooks_loses_nothing_and_repeats_only_the_one_in_flight(
    amqp_uri, sqlite_store, tmp_path
):
    others = tuple(s for s in SERVICES if s != "notify")
    with (
        WebhookReceiver(tmp_path / "hooks") as receiver,
        System(amqp_uri, sqlite_store, others) as system,
    ):

        def notify(n: int):
            process = serve_subprocess(
                ["notify"], amqp_uri, {"notify": sqlite_store["notify"]},
                log_path=tmp_path / f"notify-{n}.log", WEBHOOK_ALLOW="loopback",
                NOTIFY_POLICY="off", WEBHOOK_BACKOFF_SECONDS="0.2",
            )  # fmt: skip
            wait_until_answers(system, "notify")
            return process

        process = notify(1)
        try:
            with system.rpc() as rpc:
                hook = rpc.notify.create_webhook(
                    {"url": receiver.url, "event_types": ["orders.order_placed",
                                                          "orders.order_accepted"]}
                )  # fmt: skip
                receiver.trust(hook["secret"])
            # the orders come while notify is down: it comes back to a backlog, and the
            # endpoint takes half a second over each, so the kills land mid-delivery
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=30)
            receiver.script(*["slow 0.5"] * (2 * ORDERS + 10))
            with system.rpc() as rpc:
                for _ in range(ORDERS):
                    order = rpc.orders.place_order(order_payload())
                    rpc.orders.accept_order(order["id"])
                expected = [
                    e["id"]
                    for e in rpc.orders.events_after(0, 1000)
                    if e["type"] in ("orders.order_placed", "orders.order_accepted")
                ]
            process = notify(2)
            for kill in range(KILLS):
                seen = len(receiver.deliveries())
                eventually(lambda seen=seen: len(receiver.deliveries()) >= seen + 2, timeout=60)
                process.send_signal(signal.SIGKILL)  # mid-delivery: the endpoint is taking one
                assert process.wait(timeout=10) == -signal.SIGKILL
                process = notify(kill + 3)

            def all_delivered():
                ids = {d["webhook_id"] for d in receiver.accepted()}
                return ids >= set(expected) and ids

            eventually(all_delivered, timeout=120)
            with system.rpc() as rpc:
                state = eventually(
                    lambda: (lambda h: h if "pending" not in h["deliveries"] else None)(
                        rpc.notify.get_webhook(hook["id"])
                    )
                )
                assert rpc.notify.outbox("pending") == []
        finally:
            stop_process(process)

    got = [d["webhook_id"] for d in receiver.accepted()]
    assert all(d["verified_by"] == 0 for d in receiver.deliveries())
    first_seen = list(dict.fromkeys(got))
    assert first_seen == expected  # nothing lost, in log order
    assert len(got) - len(first_seen) <= KILLS  # repeats: only the one in flight at a kill
    for i, webhook_id in enumerate(got[1:], start=1):  # and a repeat comes right after itself
        assert webhook_id == got[i - 1] or webhook_id not in got[:i]
    assert state["deliveries"] == {"delivered": len(expected)}
