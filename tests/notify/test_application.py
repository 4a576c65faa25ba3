"""Notify in process, fed by orders, billing and production, sending through the shared sender to
a real local SMTP server and SMS provider: one notification per status event its templates cover,
each event type's policy, sending, resending, operators' own messages, retries and failures, and
the ledger of every attempt."""

import pytest

from services.notify.service import channels
from shared.errors import InvalidTransition, NotFound, ValidationFailed
from shared.sender import Backoff, Sender
from tests.inprocess import InProcess
from tests.support import order_payload
from tests.thirdparties import MailServer, SmsProvider, html_of, text_of


@pytest.fixture
def mail(tmp_path):
    with MailServer(tmp_path / "mail") as server:
        yield server


@pytest.fixture
def phone(tmp_path):
    with SmsProvider(tmp_path / "sms") as provider:
        yield provider


class Desk(InProcess):
    """The services in process, with notify's sender run by hand (`send()`)."""

    def send(self, passes: int = 1) -> int:
        s = self.settings
        sender = Sender(
            self.apps["notify"],
            channels(s),
            Backoff(s.send_backoff_seconds, s.send_backoff_max_seconds, s.send_max_attempts),
        )
        try:
            return sum(sender.send_due() for _ in range(passes))
        finally:
            sender._leader.release()
            for channel in sender.channels.values():
                channel.close() if hasattr(channel, "close") else None


@pytest.fixture
def make_desk(tmp_path, mail, phone):
    desks = []

    def make(**settings):
        desk = Desk(
            tmp_path,
            OPS_EMAIL="ops@example.com",
            SEND_BACKOFF_SECONDS=0,
            NOTIFY_POLICY="auto",
            PUBLIC_URL="https://shop.example.com",
            **mail.settings(),
            **phone.settings(),
            **settings,
        )
        desks.append(desk)
        return desk

    yield make
    for desk in desks:
        desk.close()


def of(desk, order_id, event_type):
    return next(
        n for n in desk.notify.notifications_for_order(order_id) if n["event_type"] == event_type
    )


def test_each_status_event_gets_one_notification_sent_at_once(make_desk, mail):
    desk = make_desk()
    order = desk.orders.place_order(order_payload())
    desk.orders.accept_order(order["id"])
    desk.orders.add_note(order["id"], {"kind": "internal", "text": "check stock"})
    desk.orders.add_note(order["id"], {"kind": "client", "text": "Gift <wrap> & bow"})
    notes = desk.notify.notifications_for_order(order["id"])
    assert sorted(n["event_type"] for n in notes) == sorted([
        "orders.order_placed", "orders.order_accepted", "orders.note_added",
        "billing.invoice_issued", "production.production_order_created",
    ])  # fmt: skip  # the internal note told nobody
    assert {n["status"] for n in notes} == {"sending"}
    assert desk.send() == 5
    received = {m["Message-ID"]: m for m in mail.messages()}
    assert len(received) == 5
    for n in desk.notify.notifications_for_order(order["id"]):
        (send,) = n["sends"]
        (attempt,) = send["attempts"]
        assert n["status"] == "sent" and attempt["outcome"] == "sent"
        message = received[attempt["content"]["message_id"]]
        assert message["Subject"] == n["subject"] == attempt["content"]["subject"]
        assert text_of(message).strip() == attempt["content"]["text"].strip()
        assert attempt["answer"].startswith("250 ") and attempt["recipient"] == message["To"]
        assert attempt["about"]["event"] == n["source_event"] and attempt["about"]["version"]
    note = of(desk, order["id"], "orders.note_added")
    message = received[note["sends"][0]["attempts"][0]["content"]["message_id"]]
    assert order["reference"] in message["Subject"]
    assert "Gift <wrap> & bow" in text_of(message)
    assert "Gift &lt;wrap&gt; &amp; bow" in html_of(message)  # escaped, not markup
    assert "https://shop.example.com/track/" in text_of(message)
    assert 'href="https://shop.example.com/track/' in html_of(message)
    ops = of(desk, order["id"], "production.production_order_created")
    assert ops["recipient"] == "ops@example.com" and "/track/" not in ops["body"]
    assert desk.send() == 0  # nothing left: nothing is sent twice


def test_messages_are_written_in_the_clients_language(make_desk, mail):
    desk = make_desk(NOTIFY_LANGUAGE="fr")
    payload = order_payload()
    payload["client"]["language"] = "pl"
    polish = desk.orders.place_order(payload)
    french = desk.orders.place_order(order_payload())  # no language: the default
    payload = order_payload()
    payload["client"]["language"] = "de"  # no German templates: the default
    german = desk.orders.place_order(payload)
    desk.send()
    subjects = {m["Subject"] for m in mail.messages()}
    assert f"Otrzymaliśmy zamówienie {polish['reference']}" in subjects
    assert f"Commande {french['reference']} reçue" in subjects
    assert f"Commande {german['reference']} reçue" in subjects
    assert of(desk, polish["id"], "orders.order_placed")["language"] == "pl"


def test_manual_waits_for_an_operator_and_off_sends_nothing(make_desk, mail):
    desk = make_desk(NOTIFY_POLICIES="orders.order_placed=manual")
    desk.notify.set_policy("orders.order_accepted", "off")
    policies = desk.notify.policies()
    assert policies["orders.order_placed"] == {"policy": "manual", "set_by": None}
    assert policies["orders.order_accepted"] == {"policy": "off", "set_by": "tests"}
    assert policies["billing.invoice_issued"]["policy"] == "auto"
    order = desk.orders.place_order(order_payload())
    desk.orders.accept_order(order["id"])
    placed = of(desk, order["id"], "orders.order_placed")
    accepted = of(desk, order["id"], "orders.order_accepted")
    assert (placed["status"], accepted["status"]) == ("waiting", "off")
    desk.send()
    assert {m["Subject"] for m in mail.messages()} == {
        of(desk, order["id"], "billing.invoice_issued")["subject"],
        of(desk, order["id"], "production.production_order_created")["subject"],
    }
    sent = desk.notify.send_notification(placed["id"])
    assert sent["status"] == "sending" and sent["sends"][0]["requested_by"] == "tests"
    desk.send()
    assert of(desk, order["id"], "orders.order_placed")["status"] == "sent"
    with pytest.raises(InvalidTransition, match="resend"):
        desk.notify.send_notification(placed["id"])  # sent already: that is a resend
    desk.notify.send_notification(accepted["id"])  # an operator may still send an `off` one
    desk.send()
    assert len(mail.messages()) == 4


def test_a_resend_goes_again_to_another_recipient_or_by_sms(make_desk, mail, phone):
    desk = make_desk()
    order = desk.orders.place_order(order_payload())
    desk.send()
    placed = of(desk, order["id"], "orders.order_placed")
    desk.notify.resend_notification(placed["id"], recipient="grace@example.com")
    desk.send()
    desk.notify.resend_notification(placed["id"], channel="sms")  # to the order's phone
    desk.send()
    desk.notify.resend_notification(placed["id"], recipient="+48 600 100 200", channel="sms")
    desk.send()
    assert [m["To"] for m in mail.messages()] == ["ada@example.com", "grace@example.com"]
    texts = phone.messages()
    assert [t["to"] for t in texts] == ["442079460000", "48600100200"]
    assert texts[0]["text"].startswith(f"We received your order {order['reference']}.")
    assert "https://shop.example.com/track/" in texts[0]["text"]
    ledger = of(desk, order["id"], "orders.order_placed")["sends"]
    assert [(s["channel"], s["recipient"], s["resend"]) for s in ledger] == [
        ("email", "ada@example.com", False),
        ("email", "grace@example.com", True),
        ("sms", "+44 20 7946 0000", True),
        ("sms", "+48600100200", True),
    ]
    assert ledger[2]["attempts"][0]["content"] == {"text": texts[0]["text"]}


def test_bad_resends_and_messages_are_refused_by_field(make_desk):
    desk = make_desk()
    order = desk.orders.place_order(order_payload())
    placed = of(desk, order["id"], "orders.order_placed")
    with pytest.raises(ValidationFailed) as refused:
        desk.notify.resend_notification(placed["id"], recipient="600 100 200", channel="sms")
    assert "international format" in refused.value.details["recipient"][0]
    with pytest.raises(ValidationFailed) as refused:
        desk.notify.resend_notification(placed["id"], recipient="not-an-address")
    assert refused.value.details == {"recipient": ["Not a valid e-mail address."]}
    with pytest.raises(ValidationFailed) as refused:
        desk.notify.resend_notification(placed["id"], channel="pigeon")
    assert "channel" in refused.value.details
    with pytest.raises(ValidationFailed) as refused:
        desk.notify.message_client(order["id"], "fax", "", "x" * 5001)
    assert set(refused.value.details) == {"channel", "subject", "body"}
    with pytest.raises(ValidationFailed) as refused:
        desk.notify.set_policy("orders.order_placed", "sometimes")
    assert "policy" in refused.value.details
    with pytest.raises(NotFound):
        desk.notify.set_policy("orders.nothing_happened", "auto")
    with pytest.raises(NotFound):
        desk.notify.resend_notification("3f0c2d7e-0000-4000-8000-000000000000")
    with pytest.raises(InvalidTransition, match="under way"):  # the first send is not done
        desk.notify.resend_notification(placed["id"])


def test_an_operator_writes_to_the_client_by_email_and_sms(make_desk, mail, phone):
    desk = make_desk()
    order = desk.orders.place_order(order_payload())
    desk.send()
    by_mail = desk.notify.message_client(
        order["id"], "email", "Your proof", "The proof is ready.\n\nReply <here>."
    )
    by_sms = desk.notify.message_client(order["id"], "sms", "Proof", "Your proof is ready.")
    desk.send()
    message = mail.messages()[-1]
    assert message["Subject"] == "Your proof" and "Auto-Submitted" not in message
    assert "Reply &lt;here&gt;." in html_of(message)
    assert "https://shop.example.com/track/" in text_of(message)
    (text,) = phone.messages()
    assert text["text"].startswith("Your proof is ready. https://shop.example.com/track/")
    kept = {n["id"]: n for n in desk.notify.notifications_for_order(order["id"])}
    assert kept[by_mail["id"]]["actor"] == "tests" and kept[by_mail["id"]]["status"] == "sent"
    assert kept[by_sms["id"]]["event_type"] == "notify.message"


def test_transient_failures_are_retried_and_each_attempt_is_in_the_ledger(make_desk, mail):
    desk = make_desk()
    mail.script("451 4.3.0 Mailbox busy", "slow 0.1")
    order = desk.orders.place_order(order_payload())
    assert desk.send() == 1
    placed = of(desk, order["id"], "orders.order_placed")
    assert placed["status"] == "sending"
    (pending,) = desk.notify.outbox("pending")
    assert pending["attempts"] == 1 and pending["answer"].startswith("451")
    assert desk.send() == 1
    attempts = of(desk, order["id"], "orders.order_placed")["sends"][0]["attempts"]
    assert [a["outcome"] for a in attempts] == ["retry", "sent"]
    assert [a["content"]["message_id"] for a in attempts] == [
        f"<{placed['id']}.1.1@localhost>",
        f"<{placed['id']}.1.2@localhost>",
    ]
    assert len(mail.messages()) == 1 and desk.notify.outbox("pending") == []


def test_a_permanent_failure_or_too_many_tries_fails_it_until_an_operator_resends(make_desk, mail):
    desk = make_desk(SEND_MAX_ATTEMPTS=2)
    mail.script("550 5.1.1 No such user", "451 busy", "451 busy")
    first = desk.orders.place_order(order_payload())
    desk.send()
    second = desk.orders.place_order(order_payload())
    desk.send(passes=3)
    failed = of(desk, first["id"], "orders.order_placed")
    assert failed["status"] == "failed"
    assert failed["sends"][0]["attempts"][0]["answer"].startswith("550 5.1.1")
    gave_up = of(desk, second["id"], "orders.order_placed")["sends"][0]["attempts"]
    assert [a["outcome"] for a in gave_up] == ["retry", "failed"]
    assert gave_up[-1]["answer"].startswith("gave up after 2 attempts: 451")
    assert {s["status"] for s in desk.notify.outbox("failed")} == {"failed"}
    desk.notify.resend_notification(failed["id"])
    desk.send()
    assert of(desk, first["id"], "orders.order_placed")["status"] == "sent"
    assert len(mail.messages()) == 1


def test_the_outbox_is_written_again_from_the_log(make_desk, mail):
    desk = make_desk()
    mail.script("451 busy")
    desk.orders.place_order(order_payload())
    desk.orders.place_order(order_payload())
    desk.send()
    before = {status: desk.notify.outbox(status) for status in ("pending", "sent")}
    assert len(before["pending"]) == 1 and len(before["sent"]) == 1
    app = desk.apps["notify"]
    with app.transaction() as session:  # lost, or wrong: the log still knows
        session.execute(app.outbox.table.delete())
    assert desk.notify.outbox() == []
    assert desk.notify.rebuild_read_model() == {"sends": 2, "webhooks": 0}
    assert {status: desk.notify.outbox(status) for status in ("pending", "sent")} == before


def test_a_redelivered_event_sends_nothing_twice(make_desk, mail):
    desk = make_desk()
    order = desk.orders.place_order(order_payload())
    placed = desk.apps["orders"].events_after(0, 10)[0]
    assert desk.apps["notify"].react(placed) == []
    desk.send()
    assert len(desk.notify.notifications_for_order(order["id"])) == 1
    assert len(mail.messages()) == 1


def test_a_send_whose_record_was_lost_repeats_with_the_same_message_id(make_desk, mail):
    """The one window: the server took the message and the record of it was lost (a crash in
    between). The repeat carries the same Message-ID, so the receiving side can drop it."""
    desk = make_desk()
    desk.orders.place_order(order_payload())
    app = desk.apps["notify"]
    (send_id,) = app.outbox.due(app.engine, 1e12)
    sender = Sender(app, channels(desk.settings), Backoff())
    sender.attempt(app.delivery(send_id))  # sent; "crashed" before recording it
    sender._leader.release()
    desk.send()
    first, repeat = mail.messages()
    assert first["Message-ID"] == repeat["Message-ID"]
    assert desk.send() == 0


def test_an_sms_provider_that_hangs_throttles_or_refuses(make_desk, phone):
    desk = make_desk(SEND_TIMEOUT_SECONDS=1)
    order = desk.orders.place_order(order_payload())
    desk.send()
    placed = of(desk, order["id"], "orders.order_placed")
    phone.script("hang 2", "status 1", "slow 0.2")  # slower than the timeout, throttled, slow
    desk.notify.resend_notification(placed["id"], channel="sms")
    desk.send(passes=3)
    attempts = of(desk, order["id"], "orders.order_placed")["sends"][1]["attempts"]
    assert [a["outcome"] for a in attempts] == ["retry", "retry", "sent"]
    assert "ReadTimeout" in attempts[0]["answer"] and "Throttled" in attempts[1]["answer"]
    assert len({a["content"]["text"] for a in attempts}) == 1  # the same text each time
    phone.script("status 3")  # invalid message: never tried again
    desk.notify.resend_notification(placed["id"], channel="sms")
    desk.send(passes=2)
    last = of(desk, order["id"], "orders.order_placed")["sends"][2]
    assert last["status"] == "failed" and len(last["attempts"]) == 1
    assert len(phone.messages()) == 1  # the hung request was not taken; the slow one once
