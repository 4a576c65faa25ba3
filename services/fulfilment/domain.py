"""The PurchaseOrder aggregate: what one distributor is asked to deliver for one shipping, and
everything that happened to that request — each send to the distributor and each attempt, the
distributor's acknowledgement or rejection, cost prices an operator edited before it went,
goods received, cancellation.

    raised → sent → acknowledged | rejected → partially_received → received → closed
    cancelled from any status before received (a sent one is told to the distributor)
"""

from uuid import UUID

from eventsourcing.domain import Aggregate, event

from shared.refusals import Refused

STATUSES = (
    "raised",
    "sent",
    "acknowledged",
    "rejected",
    "partially_received",
    "received",
    "closed",
    "cancelled",
)
CANCELLABLE = ("raised", "sent", "acknowledged", "partially_received")
SEND_KINDS = ("order", "cancellation")


class PurchaseOrder(Aggregate):
    @event("Raised")
    def __init__(
        self,
        id: UUID,
        order_id: str,
        order_reference: str,
        shipping_id: str,
        distributor: str,
        lines: list,
        number: str | None = None,
        document: dict | None = None,
        channel: str | None = None,
        deliver_to: dict | None = None,
        planned_date: str | None = None,
        subject: str | None = None,
    ):
        """`lines`: sku, name, quantity, unit_price (the order's), currency and, since 2026-12,
        `cost_price` (None: the distributor's own price) and `cost_source` (catalogue, feed,
        edited). `document` (since 2026-12): the purchase order as issued — its content and the
        SHA-256 of its PDF (documents.py). `channel`: how it is sent (`api`, `email`; None for
        one raised before distributors were registered: never sent). `deliver_to` is the
        shipping's address as orders sent it: sealed with the key of the client's `subject`
        (since 2026-12; None before: its address was plain), opened only to be rendered or sent."""
        self.order_id = order_id
        self.order_reference = order_reference
        self.shipping_id = shipping_id
        self.distributor = distributor
        self.lines = lines
        self.number = number
        self.document = document
        self.channel = channel
        self.deliver_to = deliver_to
        self.planned_date = planned_date
        self.subject = subject
        self.status = "raised"
        self.sends: dict[str, dict] = {}  # send id -> its kind, channel, status and attempts
        self.acknowledgement: dict | None = None  # {"reference", "by", "at"}
        self.rejection: dict | None = None  # {"reason", "by", "at"}
        self.costs_edited: dict | None = None  # {"actor", "reason"} of the last edit
        self.received: dict[str, int] = {}
        self.cancellation: dict | None = None
        self.closed_reason: str | None = None
        self.documents = [document] if document else []  # each revision as issued

    # -- reading ---------------------------------------------------------------------------------
    def send_of(self, kind: str) -> dict | None:
        return next((s for s in self.sends.values() if s["kind"] == kind), None)

    @property
    def ordered_sent(self) -> bool:
        """Has the distributor been sent the order (is there anything to cancel with it)?"""
        send = self.send_of("order")
        return send is not None and send["status"] == "sent"

    # -- sending ---------------------------------------------------------------------------------
    def request_send(self, kind: str, channel: str, due_at: float) -> str:
        """Ask the sender for a send of this kind (once each): answers its id."""
        existing = self.send_of(kind)
        if existing is not None:
            return existing["send_id"]
        send_id = f"{self.id}:{kind}"
        self._request_send(send_id=send_id, kind=kind, channel=channel, due_at=due_at)
        return send_id

    @event("SendRequested")
    def _request_send(self, send_id: str, kind: str, channel: str, due_at: float) -> None:
        self.sends[send_id] = {
            "send_id": send_id,
            "kind": kind,
            "channel": channel,
            "status": "sending",
            "due_at": due_at,
            "attempts": [],
        }

    @event("SendMoved")
    def move_send(self, send_id: str, due_at: float | None, dropped: bool, actor: str | None):
        """Due at another time (an operator sends it now), or dropped (cancelled before it went)."""
        send = self.sends[send_id]
        send["due_at"] = due_at
        if dropped:
            send["status"] = "dropped"

    @event("Attempted")
    def record_attempt(
        self,
        send_id: str,
        attempt: int,
        channel: str,
        recipient: str,
        content: dict,
        outcome: str,
        answer: str,
        reference: str | None,
        retry_at: float | None,
        at: str,
    ) -> None:
        send = self.sends[send_id]
        send["attempts"].append(
            {
                "attempt": attempt,
                "recipient": recipient,
                "content": content,
                "outcome": outcome,
                "answer": answer,
                "reference": reference,
                "retry_at": retry_at,
                "at": at,
            }
        )
        if send["status"] != "dropped" or outcome == "sent":  # it went after all: say so
            send["status"] = {"sent": "sent", "failed": "failed"}.get(outcome, "sending")
        if send["kind"] == "order" and outcome == "sent" and self.status == "raised":
            self.status = "sent"

    # -- the distributor's answer ----------------------------------------------------------------
    def acknowledge(self, reference: str | None, by: str, at: str) -> bool:
        """The distributor accepted it (in its answer, or later by callback); False: known already."""
        if self.acknowledgement is not None or self.status not in ("raised", "sent"):
            return False
        self._acknowledge(reference=reference, by=by, at=at)
        return True

    @event("Acknowledged")
    def _acknowledge(self, reference: str | None, by: str, at: str) -> None:
        self.acknowledgement = {"reference": reference, "by": by, "at": at}
        self.status = "acknowledged"

    def reject(self, reason: str, by: str, at: str) -> bool:
        if self.rejection is not None or self.status not in ("raised", "sent"):
            return False
        self._reject(reason=reason, by=by, at=at)
        return True

    @event("Rejected")
    def _reject(self, reason: str, by: str, at: str) -> None:
        self.rejection = {"reason": reason, "by": by, "at": at}
        self.status = "rejected"

    # -- what operators do -------------------------------------------------------------------------
    def edit_costs(self, costs: dict, document, reason: str | None, actor: str) -> None:
        """New cost prices ({sku: Decimal}) before the order is sent to the distributor;
        `document(lines)` issues the purchase order again with them (a new revision)."""
        if self.status != "raised" or self.ordered_sent:
            raise PurchaseRefused(
                "edit_costs",
                self.status,
                "costs_editable_before_sending",
                "cost prices can be edited only before the purchase order is sent",
            )
        skus = {line["sku"] for line in self.lines}
        for sku in costs:
            if sku not in skus:
                raise Refused(
                    f"{sku} is not on purchase order {self.number}", "unknown_sku", field="costs"
                )
        lines = [
            dict(x, cost_price=costs[x["sku"]], cost_source="edited") if x["sku"] in costs else x
            for x in self.lines
        ]
        self._edit_costs(lines=lines, document=document(lines), reason=reason, actor=actor)

    @event("CostsEdited")
    def _edit_costs(self, lines: list, document: dict, reason: str | None, actor: str) -> None:
        self.lines = lines
        self.documents.append(document)
        self.document = document
        self.costs_edited = {"actor": actor, "reason": reason}

    def cancel(self, reason: str, actor: str | None, by_void: bool = False) -> bool:
        """Cancelled by an operator or because the order was voided; False: cancelled already."""
        if self.status == "cancelled":
            return False
        if self.status not in CANCELLABLE:
            raise PurchaseRefused(
                "cancel",
                self.status,
                "cancel_requires_open_purchase_order",
                f"a {self.status} purchase order cannot be cancelled",
            )
        self._cancel(reason=reason, actor=actor, by_void=by_void)
        return True

    @event("Cancelled")
    def _cancel(self, reason: str, actor: str | None, by_void: bool) -> None:
        self.cancellation = {"reason": reason, "actor": actor, "by_void": by_void}
        self.status = "cancelled"

    def receive(self, lines: list, actor: str) -> None:
        """Goods arrived: [{sku, quantity}], up to what was ordered."""
        if self.status not in ("sent", "acknowledged", "partially_received"):
            raise PurchaseRefused(
                "receive",
                self.status,
                "receive_requires_sent_purchase_order",
                f"goods cannot be received on a {self.status} purchase order",
            )
        ordered = {line["sku"]: line["quantity"] for line in self.lines}
        for item in lines:
            if item["sku"] not in ordered:
                raise Refused(
                    f"{item['sku']} is not on purchase order {self.number}",
                    "unknown_sku",
                    field="lines",
                )
            open_quantity = ordered[item["sku"]] - self.received.get(item["sku"], 0)
            if item["quantity"] > open_quantity:
                raise Refused(
                    f"{item['sku']}: {open_quantity} still to receive, {item['quantity']} given",
                    "received_exceeds_ordered",
                    field="lines",
                )
        self._receive(lines=lines, actor=actor)

    @event("Received")
    def _receive(self, lines: list, actor: str) -> None:
        for item in lines:
            self.received[item["sku"]] = self.received.get(item["sku"], 0) + item["quantity"]
        complete = all(self.received.get(x["sku"], 0) >= x["quantity"] for x in self.lines)
        self.status = "received" if complete else "partially_received"

    def close(self, reason: str | None, actor: str) -> None:
        if self.status not in ("acknowledged", "partially_received", "received", "rejected"):
            raise PurchaseRefused(
                "close",
                self.status,
                "close_requires_answered_purchase_order",
                f"a {self.status} purchase order cannot be closed",
            )
        self._close(reason=reason, actor=actor)

    @event("Closed")
    def _close(self, reason: str | None, actor: str) -> None:
        self.closed_reason = reason
        self.status = "closed"


class PurchaseRefused(Refused):
    """A purchase-order command its status does not allow; `rule` names the rule."""

    def __init__(self, command: str, status: str, rule: str, message: str):
        super().__init__(message, rule, command=command, status=status)
