"""Notify is SIGKILLed while it sends, twice: every notification still ends sent, and the only
repeats are the documented window — a message the SMTP server took whose attempt was not yet
recorded — each carrying the same Message-ID as the attempt the ledger keeps (docs/notify.md)."""

import collections
import signal

from shared.settings import SERVICES
from tests.support import System, eventually, order_payload, serve_subprocess, wait_until_answers
from tests.thirdparties import MailServer

ORDERS = 8
KILLS = 2


def test_notify_killed_while_sending_sends_each_notification_once_but_for_the_window(
    amqp_uri, sqlite_store, tmp_path
):
    others = tuple(s for s in SERVICES if s != "notify")
    with MailServer(tmp_path / "mail") as mail, System(amqp_uri, sqlite_store, others) as system:
        sending = mail.settings(SEND_BACKOFF_SECONDS=0.2, NOTIFY_POLICY="auto")
        settings = {k: str(v) for k, v in sending.items()}

        def notify(n: int):
            process = serve_subprocess(
                ["notify"], amqp_uri, {"notify": sqlite_store["notify"]},
                log_path=tmp_path / f"notify-{n}.log", **settings,
            )  # fmt: skip
            wait_until_answers(system, "notify")
            return process

        mail.script(*["slow 0.25"] * (ORDERS + 10))  # each message takes a while to be taken
        process = notify(1)
        with system.rpc() as rpc:
            orders = [rpc.orders.place_order(order_payload())["id"] for _ in range(ORDERS)]
        for kill in range(KILLS):
            received = len(mail.messages())
            eventually(lambda seen=received: len(mail.messages()) >= seen + 2, timeout=60)
            process.send_signal(signal.SIGKILL)  # mid-send: the server is still taking one
            assert process.wait(timeout=10) == -signal.SIGKILL
            process = notify(kill + 2)
        try:
            with system.rpc() as rpc:

                def all_sent():
                    notes = [n for o in orders for n in rpc.notify.notifications_for_order(o)]
                    return (
                        len(notes) == ORDERS and all(n["status"] == "sent" for n in notes) and notes
                    )

                notes = eventually(all_sent, timeout=120)
                assert rpc.notify.outbox("pending") == []
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=30)

    ledger = {}
    for n in notes:
        (send,) = n["sends"]
        assert send["attempts"][-1]["outcome"] == "sent"
        ledger[n["id"]] = send["attempts"][-1]["content"]["message_id"]
    by_notification = collections.defaultdict(list)
    for message in mail.messages():
        by_notification[message["X-OMS-Notification"].split(":")[0]].append(message["Message-ID"])
    assert set(by_notification) == set(ledger)  # every one arrived
    repeated = {k: ids for k, ids in by_notification.items() if len(ids) > 1}
    assert len(repeated) <= KILLS  # at most the one in flight at each kill
    for notification, ids in repeated.items():
        assert set(ids) == {ledger[notification]}  # the same Message-ID: droppable as a repeat
