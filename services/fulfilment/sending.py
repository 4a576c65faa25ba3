"""Purchase orders on their way out and their answers: the sender's side (what each attempt sends
to the distributor, and recording what came of it: acknowledged or rejected in the answer), and
the distributors' signed callbacks that answer later."""

import json
import secrets
import time
from uuid import UUID

from services.fulfilment.domain import PurchaseOrder
from services.fulfilment.purchasing import now_iso
from shared import signing
from shared.errors import Unauthenticated, ValidationFailed
from shared.refusals import Missing
from shared.sender import Delivery, Outcome


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
        if distributor.ordering["channel"] == "email":
            content = {"document_sha256": po.document["sha256"], "kind": send["kind"]}
            return Delivery(send_id, attempt, "email", distributor.account_manager_email, content)
        ordering = distributor.ordering
        if send["kind"] == "order":
            url, key, body = ordering["url"], str(po.id), self._order_body(po)
        else:
            reason = (po.cancellation or {}).get("reason")
            url = f"{ordering['url'].rstrip('/')}/{po.id}/cancel"
            key, body = f"{po.id}:cancellation", {"purchase_order_id": str(po.id), "reason": reason}
        content = {"url": url, "idempotency_key": key, "body": body}
        if send["kind"] == "order" and po.costs_edited:  # the PDF goes to its manager as well
            content["copy_to"] = distributor.account_manager_email
        return Delivery(
            send_id, attempt, "api", url, dict(content, credential=ordering.get("credential"))
        )

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
            recorded = {k: v for k, v in delivery.content.items() if k != "credential"}
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
