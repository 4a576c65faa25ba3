"""Purchase orders on their way out and their answers: the sender's side (what each attempt sends
to the distributor, and recording what came of it: acknowledged or rejected in the answer), and
the distributors' signed callbacks that answer later.

The sender opens the address a purchase order delivers to (outside any transaction) to send it,
and renders the PDF an account manager is handed; the attempt records what was sent sealed with
the client's key — the request's body, the PDF (which its event hands to notify as it is) — so
forgetting the client forgets it there too. A purchase order whose client is forgotten has
nowhere to go: its send fails at once, and nothing reaches the distributor."""

import json
import secrets
import time
from uuid import UUID

from services.fulfilment import documents
from services.fulfilment.domain import PurchaseOrder
from services.fulfilment.purchasing import now_iso
from shared import sealing, signing
from shared.errors import Unauthenticated, ValidationFailed
from shared.refusals import Missing
from shared.sender import Delivery, Outcome

#: what a delivery carries that its attempt does not record as such: the distributor's
#: credential (never recorded), and the body as recorded (sealed) in the place of the one sent
UNRECORDED = ("credential", "recorded_body")
FORGOTTEN_ANSWER = "not sent: the client was forgotten, there is no address to deliver to"


class Sending:
    """Mixin of the fulfilment application (with Purchasing)."""

    # -- the sender's side ---------------------------------------------------------------------------
    def delivery(self, send_id: str) -> Delivery | None:
        """The next attempt of a send still under way (None once it is settled or dropped)."""
        po = self.repository.get(UUID(send_id.split(":")[0]))
        send = po.sends.get(send_id)
        if send is None or send["status"] != "sending":
            return None
        attempt = len(send["attempts"]) + 1
        distributor = self.distributor(po.distributor)
        # how the distributor takes orders now (it may have changed since the send was asked for)
        ordering = distributor.ordering
        subject = _sealed_for(po.deliver_to)  # None: raised before addresses were sealed
        keys = self.keyring.keys([subject]) if subject else {}
        if send["kind"] == "order" and subject and keys.get(subject) is None:
            to = distributor.account_manager_email if ordering["channel"] == "email" else None
            refused = Delivery(send_id, attempt, ordering["channel"], to or ordering["url"])
            self.record_attempt(refused, Outcome("failed", FORGOTTEN_ANSWER))
            return None  # settled: failed for good, as operators see it
        if ordering["channel"] == "email":
            content = {"document_sha256": po.document["sha256"], "kind": send["kind"]}
            content["document"] = documents.pdf_for(po.document, keys)  # what notify mails
            return Delivery(send_id, attempt, "email", distributor.account_manager_email, content)
        recorded_body = None
        if send["kind"] == "order":
            url, key = ordering["url"], str(po.id)
            body = sealing.open_all(self._order_body(po), keys)
            if subject:  # recorded as sent, sealed again with its client's key
                recorded_body = sealing.seal(keys[subject], subject, body)
        else:
            reason = (po.cancellation or {}).get("reason")
            url = f"{ordering['url'].rstrip('/')}/{po.id}/cancel"
            key, body = f"{po.id}:cancellation", {"purchase_order_id": str(po.id), "reason": reason}
        content = {"url": url, "idempotency_key": key, "body": body}
        if send["kind"] == "order" and po.costs_edited:  # the PDF goes to its manager as well
            content["copy_to"] = distributor.account_manager_email
            content["document"] = documents.pdf_for(po.document, keys)
        content["credential"] = ordering.get("credential")
        if recorded_body is not None:
            content["recorded_body"] = recorded_body
        return Delivery(send_id, attempt, "api", url, content)

    def _order_body(self, po: PurchaseOrder) -> dict:
        return {
            "purchase_order_id": str(po.id),
            "number": po.number,
            "order_reference": po.order_reference,
            "lines": [
                {
                    "sku": x["sku"],
                    "name": x["name"],
                    "quantity": x["quantity"],
                    "cost_price": None if x.get("cost_price") is None else str(x["cost_price"]),
                    "currency": x["currency"],
                }
                for x in po.lines
            ],
            "deliver_to": po.deliver_to,
            "planned_date": po.planned_date,
            "callback_url": f"{self.settings.public_base}/v1/distributors/{po.distributor}/callbacks",
        }

    def record_attempt(self, delivery: Delivery, outcome: Outcome) -> None:
        def command():
            po = self.purchase_order(delivery.send_id.split(":")[0])
            send = po.sends[delivery.send_id]
            if len(send["attempts"]) >= delivery.attempt:
                return  # recorded already (by a sender that led before this one)
            if send["status"] not in ("sending", "dropped"):
                return
            if send["status"] == "dropped" and outcome.status != "sent":
                return
            recorded = {k: v for k, v in delivery.content.items() if k not in UNRECORDED}
            if "recorded_body" in delivery.content:
                recorded["body"] = delivery.content["recorded_body"]
            if outcome.status != "sent":  # the PDF is handed on only with a send that went
                recorded.pop("document", None)
            po.record_attempt(
                delivery.send_id,
                delivery.attempt,
                delivery.channel,
                delivery.recipient,
                recorded,
                outcome.status,
                outcome.answer,
                outcome.reference,
                outcome.retry_at,
                now_iso(),
            )
            if send["kind"] == "order" and outcome.status == "sent":
                self._answered(po, outcome)
            self.save(po)

        self.retrying(command)

    def _answered(self, po: PurchaseOrder, outcome: Outcome) -> None:
        """The distributor's answer to the order: acknowledged or rejected at once, or later."""
        if po.status == "cancelled":  # it went out while being cancelled: cancel it there too
            po.request_send("cancellation", po.send_of("order")["channel"], time.time())
            return
        said = answer_of(outcome.answer)
        if said.get("status") == "acknowledged":
            po.acknowledge(said.get("reference") or outcome.reference, "answer", now_iso())
        elif said.get("status") == "rejected":
            po.reject(str(said.get("reason") or "no reason given")[:1000], "answer", now_iso())

    # -- the distributor's callback ---------------------------------------------------------------
    def callback(self, code: str, stamp, signature, body: bytes, now: float, parse) -> dict:
        """A distributor's signed answer to a purchase order it was sent: `{"purchase_order_id":
        …, "status": "acknowledged" | "rejected", "reference": …, "reason": …}`. Applied once; a
        purchase order of another distributor is not found."""
        distributor = self.known_distributor(code)
        # an unknown code is refused like a bad signature: codes cannot be probed from outside
        secret = distributor.callback_secret if distributor else secrets.token_hex(32)
        try:
            signing.check(
                secret,
                stamp,
                signature,
                body,
                now,
                self.settings.gateway_tolerance_seconds,
            )
        except signing.SignatureRefused as refused:
            raise Unauthenticated(refused.message, {"signature": [refused.error]}) from None
        given = parse(callback_body(body))
        po_id = given["purchase_order_id"]
        results = {}

        def change(po):
            if po.distributor != code:
                raise Missing(f"no purchase order {po_id} of {code}", id=po_id)
            at = now_iso()
            if given["status"] == "acknowledged":
                results["changed"] = po.acknowledge(given.get("reference"), "callback", at)
            else:
                reason = given.get("reason") or "no reason given"
                results["changed"] = po.reject(reason, "callback", at)

        po = self._change(po_id, change)
        return {
            "purchase_order_id": str(po.id),
            "status": po.status,
            "result": "recorded" if results.get("changed") else "known",
        }


def _sealed_for(value) -> str | None:
    """The subject whose key sealed something in `value` (None: nothing is sealed)."""
    return next(iter(sealing.subjects_in(value)), None)


def answer_of(answer: str) -> dict:
    """The JSON a distributor answered (`HTTP 201: {…}`), or {}."""
    try:
        said = json.loads(answer.partition(": ")[2])
    except ValueError:
        return {}
    return said if isinstance(said, dict) else {}


def callback_body(body: bytes) -> dict:
    try:
        given = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        given = None
    if not isinstance(given, dict):
        raise ValidationFailed("the body is not JSON", {"_schema": ["Must be a JSON object."]})
    return given
