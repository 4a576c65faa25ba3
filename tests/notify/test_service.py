"""Notify running (nameko, a real RabbitMQ, PostgreSQL), its sender delivering to a real local SMTP
server and SMS provider: what a status change sends, the policies, operators' sends and messages
over RPC, the outbox, retries, and tracking links. (The same on SQLite, in process and at more
length: test_application.py; the tracking page on SQLite: tests/gateway/test_tracking.py.) One
system for the module: each test looks only at its own orders' messages."""

import pytest

from shared.errors import Forbidden, NotFound
from tests.conftest import fresh_store, fresh_vhost
from tests.support import System, eventually, order_payload
from tests.thirdparties import MailServer, SmsProvider, text_of


@pytest.fixture(scope="module")
def system(request, rabbit, tmp_path_factory):
    directory = tmp_path_factory.mktemp("notify")
    with (
        MailServer(directory / "mail") as mail,
        SmsProvider(directory / "sms") as phone,
        fresh_vhost(rabbit) as uri,
        fresh_store("postgres", directory, request) as urls,
    ):
        settings = {**mail.settings(), **phone.settings(), "PUBLIC_URL": "https://shop.example.com"}
        with System(
            uri, urls, SEND_BACKOFF_SECONDS=0.3, NOTIFY_POLICY="auto", **settings
        ) as running:
            running.mail, running.phone = mail, phone
            yield running


def mails_of(system, order) -> list:
    return [m for m in system.mail.messages() if order["reference"] in m["Subject"]]


def sent(rpc, order_id, count):
    def check():
        notes = rpc.notify.notifications_for_order(order_id)
        return len(notes) == count and all(n["status"] == "sent" for n in notes) and notes

    return eventually(check, timeout=60)


def test_a_status_change_reaches_the_client_and_the_ledger_says_what_was_sent(system):
    with system.rpc() as rpc:
        payload = order_payload()
        payload["client"]["language"] = "pl"
        order = rpc.orders.place_order(payload)
        rpc.orders.accept_order(order["id"])
        notes = sent(rpc, order["id"], 4)
        client_notes = [n for n in notes if n["recipient"] == "ada@example.com"]
        ids = {n["sends"][0]["attempts"][0]["content"]["message_id"] for n in client_notes}
        assert {m["Message-ID"] for m in mails_of(system, order)} >= ids
        accepted = next(m for m in mails_of(system, order) if "przyjęte" in m["Subject"])
        link = next(w for w in text_of(accepted).split() if "/track/" in w)
        assert link.startswith("https://shop.example.com/track/")
        token = link.rsplit("/", 1)[1]
        assert rpc.notify.resolve_tracking(token) == {"order_id": order["id"]}
        mine = {n["sends"][0]["send_id"] for n in notes}
        assert mine <= {s["send_id"] for s in rpc.notify.outbox("sent")}
        assert not mine & {s["send_id"] for s in rpc.notify.outbox("pending")}

        system.phone.script("http 503")  # the provider fails once: the sender tries again
        n = client_notes[0]
        rpc.notify.resend_notification(n["id"], recipient="+48 600 100 200", channel="sms")

        def settled():
            send = rpc.notify.get_notification(n["id"])["sends"][1]
            return send["status"] != "sending" and send["attempts"]

        attempts = eventually(settled, timeout=30)  # (the provider keeps it before it answers)
        assert [a["outcome"] for a in attempts] == ["retry", "sent"]
        texts = [t for t in system.phone.messages() if t["client-ref"].startswith(n["id"])]
        assert attempts[0]["answer"].startswith("HTTP 503")
        assert texts[0]["to"] == "48600100200" and "/track/" in texts[0]["text"]

        rpc.notify.message_client(order["id"], "email", "Your proof", f"{order['reference']} ready")
        eventually(
            lambda: any(m["Subject"] == "Your proof" for m in system.mail.messages()), timeout=30
        )


def test_policies_are_set_by_admins_and_followed_at_once(system):
    with system.rpc(actor="maria", role="operator") as rpc:
        with pytest.raises(Forbidden):
            rpc.notify.set_policy("orders.order_held", "manual")
    with system.rpc(actor="root", role="admin") as rpc:
        changed = rpc.notify.set_policy("orders.order_held", "manual")
        assert changed == {"event_type": "orders.order_held", "policy": "manual", "set_by": "root"}
        assert rpc.notify.policies()["orders.order_held"]["policy"] == "manual"
    with system.rpc(actor="maria", role="operator") as rpc:
        order = rpc.orders.place_order(order_payload())
        rpc.orders.accept_order(order["id"])
        rpc.orders.hold_order(order["id"], "waiting for artwork")

        def held():
            notes = rpc.notify.notifications_for_order(order["id"])
            return next((n for n in notes if n["event_type"] == "orders.order_held"), None)

        note = eventually(held, timeout=30)
        assert note["status"] == "waiting" and note["policy"] == "manual"
        eventually(lambda: len(mails_of(system, order)) >= 2, timeout=30)  # placed, accepted
        assert not [m for m in mails_of(system, order) if "hold" in m["Subject"]]
        rpc.notify.send_notification(note["id"])
        eventually(lambda: [m for m in mails_of(system, order) if "hold" in m["Subject"]])
        # the attempt is recorded just after the server took the mail
        sends = eventually(
            lambda: (lambda s: s if s[0]["status"] == "sent" else None)(
                rpc.notify.get_notification(note["id"])["sends"]
            )
        )
        assert sends[0]["requested_by"] == "maria"


def test_a_revoked_tracking_link_opens_nothing(system):
    with system.rpc(actor="maria", role="operator") as rpc:
        order = rpc.orders.place_order(order_payload())
        link = rpc.notify.tracking_link(order["id"])["url"]
        assert link.startswith("https://shop.example.com/track/")
        token = link.rsplit("/", 1)[1]
        assert rpc.notify.resolve_tracking(token)["order_id"] == order["id"]
        tampered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
        with pytest.raises(NotFound):
            rpc.notify.resolve_tracking(tampered)
        renewed = rpc.notify.revoke_tracking(order["id"], "sent to the wrong address")["url"]
        with pytest.raises(NotFound):
            rpc.notify.resolve_tracking(token)
        assert rpc.notify.resolve_tracking(renewed.rsplit("/", 1)[1])["order_id"] == order["id"]
        with pytest.raises(NotFound):
            rpc.notify.tracking_link("3f0c2d7e-0000-4000-8000-000000000000")
