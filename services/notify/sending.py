"""The sender's side of notify's messages (shared/sender.py): each attempt's delivery, built
outside any transaction — the only place, with an RPC answer, where a client's sealed details
are opened — and its record, in which what was sent is sealed again with the client's key.

A message whose client was forgotten is not sent to "forgotten client": its send is failed with
that reason, and nothing of the client is recorded."""

from datetime import UTC, datetime
from uuid import UUID

from services.notify.sealed import filled, forgotten_in, sealed_subject, whose
from services.notify.webhooks import PREFIX as WEBHOOK_SENDS
from shared.personal import reseal
from shared.sealing import FORGOTTEN
from shared.sender import Delivery, Outcome

NOT_SENT = "not sent: its client was forgotten (orders.forget_client)"


class Sending:
    """Mixin for the notify application."""

    def delivery(self, send_id: str) -> Delivery | None:
        """The next attempt of a send still under way (None once it is settled)."""
        if send_id.startswith(WEBHOOK_SENDS):
            return self.webhook_delivery(send_id)
        n = self.repository.get(UUID(send_id.split(":")[0]))
        send = n.sends.get(send_id)
        if send is None or send["status"] != "sending":
            return None
        attempt, channel = len(send["attempts"]) + 1, send["channel"]
        opened = self.keyring.open_all(
            {"to": send["recipient"], "values": n.personal, "content": n.content_for(channel)}
        )
        content = filled(opened["content"], opened["values"])
        forgotten = forgotten_in(opened["to"], opened["values"], content.get("attachments"))
        if n.client_subject and not forgotten:  # heard here, though a key may still be kept
            forgotten = self.journal.is_forgotten(self.engine, whose(n))
        if forgotten:
            self.record_attempt(
                Delivery(send_id, attempt, channel, FORGOTTEN), Outcome("failed", NOT_SENT)
            )
            return None
        if channel == "email":
            content["message_id"] = f"<{send_id.replace(':', '.')}.{attempt}@{self.mail_domain}>"
            content["automatic"] = n.actor is None
        return Delivery(send_id, attempt, channel, opened["to"], content)

    def record_attempt(self, delivery: Delivery, outcome: Outcome) -> None:
        if delivery.channel == "webhook":
            return self.record_webhook_attempt(delivery, outcome)
        notification_id = delivery.send_id.split(":")[0]
        subject = sealed_subject(self.get(notification_id, "notification"))
        keys = self.keyring.keys([subject]) if subject else {}  # kept since the delivery
        recipient = reseal(keys, subject, delivery.recipient)
        content = _kept(delivery.content)  # nothing, when nothing was sent
        content = reseal(keys, subject, content) if content else content
        answer = _without(outcome.answer, delivery.recipient)

        def command():
            n = self.get(notification_id, "notification")
            send = n.sends[delivery.send_id]
            if send["status"] != "sending" or len(send["attempts"]) >= delivery.attempt:
                return  # recorded already (by a sender that led before this one)
            n.record_attempt(
                delivery.send_id,
                delivery.attempt,
                delivery.channel,
                recipient,
                content,
                outcome.status,
                answer,
                outcome.reference,
                outcome.retry_at,
                n.about,
                datetime.now(UTC).isoformat(),
            )
            self.save(n)

        self.retrying(command)


def _kept(content: dict) -> dict:
    """What the ledger keeps of a sent message: everything but the attachments' bytes (the
    notification holds them once; each attempt names them by SHA-256)."""
    if not content.get("attachments"):
        return content
    files = [{k: a[k] for k in ("filename", "sha256")} for a in content["attachments"]]
    return dict(content, attachments=files)


def _without(answer: str, recipient: str) -> str:
    """A provider's answer without the address or number it may quote (`550 <ada@…>: no such
    user`): the answer is kept plain, in the outbox and in the published events."""
    digits = "".join(ch for ch in recipient if ch.isdigit())
    for form in sorted({recipient, recipient.replace(" ", ""), digits}, key=len, reverse=True):
        if len(form) >= 5:
            answer = answer.replace(form, "<recipient>")
    return answer
