"""An order's billing account: its invoices, credit notes and pro-formas, its payments and channel.

One aggregate per order, so every money fact about an order is in one stream, in order. Documents
are never changed once issued: an edit leads to a credit note or a supplementary invoice, a void is
recorded beside the document, payments are appended. Statuses are derived from those facts.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from shared.money import ZERO, minor_unit, priced, rounded
from shared.refusals import Missing, Refused

DOCUMENT_IDS = uuid5(NAMESPACE_URL, "https://oms.example/billing-documents")
PAYABLE = ("invoice", "supplementary")
SERIES = {"invoice": "INV", "supplementary": "INV", "credit_note": "CN", "pro_forma": "PF"}
CHANNELS = ("cash", "card", "bank_transfer", "online_gateway")
PAYMENT_STATUSES = ("unpaid", "partially_paid", "paid", "overpaid", "voided")
#: the documents that are invoices in law (VAT directive art. 219: a document amending an invoice
#: is one): they keep the buyer's name and address as printed (`Issue.retain`)
RETAINED = ("invoice", "supplementary", "credit_note")
LINE_KEY = ("sku", "name", "unit_price", "vat_rate")


@dataclass(frozen=True)
class Issue:
    """What issuing a document needs from outside: `take("INV") -> (year, sequence)` takes the
    series' next number in the saving transaction; `billing()` gives the client's billing details
    as they are now; the issue date, the date an invoice falls due, and who caused the issue (the
    operator asking, or the one whose change to the order led to it)."""

    take: Callable[[str], tuple[int, int]]
    billing: Callable[[], dict]
    issued_on: date
    due_on: date
    actor: str | None = None
    #: the seller as the settings name them now, the language of clients who have none, and
    #: `fingerprint(document) -> SHA-256 of its PDF` (documents.py): recorded in the document
    seller: dict | None = None
    language: str = "en"
    fingerprint: Callable[[dict], str] | None = None
    layout: int | None = None  # the renderer's layout the fingerprint is of
    #: `retain(billing, year) -> buyer`: the buyer's name and address as an invoice prints them,
    #: kept under the seller's own key for the years the law keeps invoices (forgetting.py)
    retain: Callable[[dict, int], dict] | None = None


class Account(Aggregate):
    @event("Opened")
    def __init__(self, id: UUID, order: dict):
        self.order_id = order["order_id"]
        self.order_reference = order["reference"]
        self.client = order["client"]
        self.currency = order["currency"]
        self.order_lines = order["lines"]
        self.order_status = order["status"]
        self.channel = order.get("payment_method")
        self.address = order.get("address")  # the billing address of clients not in the catalogue
        self.documents: list[dict] = []
        self.channel_changes: list[dict] = []
        self.rejections: list[dict] = []

    # -- what the order does ---------------------------------------------------------------------
    def follow_order(self, status: str) -> bool:
        """Note the order's acceptance, decline or void (a pro-forma is for orders not yet accepted)."""
        if status == self.order_status:
            return False
        self._order_status(status=status)
        return True

    @event("OrderStatusFollowed")
    def _order_status(self, status: str) -> None:
        self.order_status = status

    def invoice_order(self, issue: Issue) -> dict | None:
        """The order's one invoice (on acceptance), unless it has one already."""
        if any(d["kind"] == "invoice" and d["shipping_id"] is None for d in self.documents):
            return None
        return self._issue(issue, "invoice", self.order_lines)

    def invoice_shipping(self, shipping_id: str, lines: list, issue: Issue) -> dict | None:
        """The invoice for what one shipping took (when invoicing on dispatch), unless issued."""
        if any(d["shipping_id"] == shipping_id for d in self.documents):
            return None
        return self._issue(issue, "invoice", lines, shipping_id=shipping_id)

    def pro_forma(self, issue: Issue) -> dict:
        """A pro-forma of the order as it stands; the last one again if the order is unchanged."""
        if self.order_status != "new":
            raise BillingRefused(
                "issue_pro_forma", "order_not_new", f"the order is {self.order_status}"
            )
        latest = [d for d in self.documents if d["kind"] == "pro_forma"]
        if latest and latest[-1]["lines"] == priced(self.order_lines, self.currency)["lines"]:
            return latest[-1]
        return self._issue(issue, "pro_forma", self.order_lines)

    def correct(self, lines: list, reason: str | None, actor: str | None, issue: Issue) -> list:
        """The order's lines changed: credit what is no longer ordered and invoice what is new.
        Only an order invoiced as a whole is corrected (on dispatch, edits touch unshipped lines)."""
        self._lines_changed(lines=lines, reason=reason, actor=actor)
        main = self.main_invoice()
        if main is None:
            return []
        invoiced = self._invoiced_quantities()
        ordered = _quantities(lines)
        more = _lines(ordered, invoiced)
        fewer = _lines(invoiced, ordered)
        issued = []
        if fewer:
            issued.append(self._issue(issue, "credit_note", fewer, reason, main["id"]))
        if more:
            issued.append(self._issue(issue, "supplementary", more, reason, main["id"]))
        return issued

    @event("LinesChanged")
    def _lines_changed(self, lines: list, reason: str | None, actor: str | None) -> None:
        self.order_lines = lines

    # -- documents -------------------------------------------------------------------------------
    def _issue(
        self, issue: Issue, kind: str, lines: list, reason=None, corrects=None, shipping_id=None
    ):
        year, sequence = issue.take(SERIES[kind])
        number = f"{SERIES[kind]}-{year}-{sequence:06d}"
        corrected = self.document(corrects)["number"] if corrects else None
        billing = issue.billing()
        document = {
            "id": str(uuid5(DOCUMENT_IDS, number)),
            "kind": kind,
            "number": number,
            "series": SERIES[kind],
            "year": year,
            "sequence": sequence,
            "issued_on": issue.issued_on.isoformat(),
            "issued_by": issue.actor,
            "due_on": issue.due_on.isoformat() if kind in PAYABLE else None,
            "billing": billing,
            "currency": self.currency,
            "reason": reason,
            "corrects": corrects,
            "shipping_id": shipping_id,
            **priced(lines, self.currency),
            # since 2026-12: what the PDF shows beyond the above, as it was at issue
            "order_reference": self.order_reference,
            "corrects_number": corrected,
            "channel": self.channel,
            "language": self.client.get("language") or issue.language,
            "seller": issue.seller,
        }
        if kind in RETAINED and issue.retain is not None:
            document["buyer"] = issue.retain(billing, year)
        if issue.fingerprint is not None:
            document["layout"] = issue.layout
            document["sha256"] = issue.fingerprint(document)
        self._issued(document=document)
        return self.document(document["id"])

    @event("Issued")
    def _issued(self, document: dict) -> None:
        self.documents.append(dict(document, voided=None, payments=[]))

    def void(self, document_id: str, reason: str, actor: str, at: datetime) -> bool:
        document = self.document(document_id)
        if document["kind"] not in PAYABLE:
            raise BillingRefused(
                "void_invoice", "not_voidable", f"a {document['kind']} is not voided"
            )
        if document["voided"]:
            return False
        refund = self.paid(document)
        self._voided(
            document_id=document_id,
            reason=reason,
            actor=actor,
            at=at.isoformat(),
            refund_due=refund,
        )
        return True

    @event("Voided")
    def _voided(
        self, document_id: str, reason: str, actor: str, at: str, refund_due: Decimal
    ) -> None:
        self.document(document_id)["voided"] = {
            "reason": reason,
            "actor": actor,
            "at": at,
            "refund_due": refund_due,
        }

    def void_all(self, reason: str, actor: str, at: datetime) -> bool:
        """The order was voided: so is every invoice it has."""
        voided = [d["id"] for d in self.documents if d["kind"] in PAYABLE and not d["voided"]]
        for document_id in voided:
            self.void(document_id, reason, actor, at)
        return bool(voided)

    # -- payments --------------------------------------------------------------------------------
    def record_payment(self, document_id: str, payment: dict) -> bool:
        """Append a payment (`amount`, `method`, `reference`, `paid_on`, `actor`, `source`,
        `transaction_id`); one already recorded with the same method and reference is not again."""
        document = self.check_payable(document_id, "record_payment")
        if payment["amount"] <= ZERO:
            raise BillingRefused("record_payment", "amount_not_positive", "pay more than 0")
        if payment["amount"] != rounded(payment["amount"], self.currency):
            raise BillingRefused("record_payment", "amount_precision", precision(self.currency))
        payment = dict(payment, amount=rounded(payment["amount"], self.currency))
        for earlier in document["payments"]:
            if (earlier["method"], earlier["reference"]) == (
                payment["method"],
                payment["reference"],
            ):
                return False
        self._paid(document_id=document_id, payment=payment)
        return True

    @event("PaymentRecorded")
    def _paid(self, document_id: str, payment: dict) -> None:
        self.document(document_id)["payments"].append(payment)

    def reject_payment(self, document_id: str, rejection: dict) -> bool:
        """A gateway's rejection: the invoice stays as it is; the attempt is kept (once)."""
        self.check_payable(document_id, "reject_payment")
        if any(r["transaction_id"] == rejection["transaction_id"] for r in self.rejections):
            return False
        self._rejected(document_id=document_id, rejection=rejection)
        return True

    @event("PaymentRejected")
    def _rejected(self, document_id: str, rejection: dict) -> None:
        self.rejections.append(dict(rejection, document_id=document_id))

    def change_channel(self, channel: str, reason: str, actor: str) -> bool:
        if channel == self.channel:
            return False
        self._channel(channel=channel, previous=self.channel, reason=reason, actor=actor)
        return True

    @event("ChannelChanged")
    def _channel(self, channel: str, previous: str | None, reason: str, actor: str) -> None:
        self.channel = channel
        self.channel_changes.append(
            {"channel": channel, "previous": previous, "reason": reason, "actor": actor}
        )

    # -- derived ---------------------------------------------------------------------------------
    def document(self, document_id: str) -> dict:
        for document in self.documents:
            if document["id"] == document_id:
                return document
        raise UnknownDocument(document_id)

    def check_payable(self, document_id: str, command: str) -> dict:
        document = self.document(document_id)
        if document["kind"] not in PAYABLE:
            raise BillingRefused(command, "not_payable", f"a {document['kind']} is not paid")
        if document["voided"]:
            raise BillingRefused(command, "invoice_voided", "a voided invoice cannot be paid")
        return document

    def main_invoice(self) -> dict | None:
        """The live invoice of the whole order (invoicing on acceptance), if any."""
        for document in self.documents:
            if document["kind"] == "invoice" and document["shipping_id"] is None:
                return None if document["voided"] else document
        return None

    def paid(self, document: dict) -> Decimal:
        return rounded(sum((p["amount"] for p in document["payments"]), ZERO), self.currency)

    def due(self, document: dict) -> Decimal:
        credited = sum(
            (
                d["gross"]
                for d in self.documents
                if d["kind"] == "credit_note" and d["corrects"] == document["id"]
            ),
            ZERO,
        )
        return rounded(document["gross"] - credited, self.currency)

    def status_of(self, document: dict) -> str:
        if document["kind"] not in PAYABLE:
            return "issued"
        if document["voided"]:
            return "voided"
        return _status(self.paid(document), self.due(document))

    @property
    def payment_status(self) -> str | None:
        """The order's payment status over all its invoices (None until it has one)."""
        payable = [d for d in self.documents if d["kind"] in PAYABLE]
        live = [d for d in payable if not d["voided"]]
        if not live:
            return "voided" if payable else None
        paid = sum((self.paid(d) for d in live), ZERO)
        return _status(paid, sum((self.due(d) for d in live), ZERO))

    @property
    def refund_due(self) -> Decimal:
        """Money received that is not owed: paid on voided invoices, or paid beyond what is due."""
        voided = sum((d["voided"]["refund_due"] for d in self.documents if d["voided"]), ZERO)
        live = [d for d in self.documents if d["kind"] in PAYABLE and not d["voided"]]
        over = sum((self.paid(d) for d in live), ZERO) - sum((self.due(d) for d in live), ZERO)
        return rounded(voided + max(over, ZERO), self.currency)

    def _invoiced_quantities(self) -> dict:
        """What the order has been invoiced for, net of credit notes: {line key: quantity}."""
        quantities: dict = {}
        for document in self.documents:
            if document["kind"] == "pro_forma" or (
                document["voided"] and document["kind"] in PAYABLE
            ):
                continue
            sign = -1 if document["kind"] == "credit_note" else 1
            for key, quantity in _quantities(document["lines"]).items():
                quantities[key] = quantities.get(key, 0) + sign * quantity
        return quantities


def precision(currency: str) -> str:
    return (
        f"an amount in {currency} has at most {-minor_unit(currency).as_tuple().exponent} decimals"
    )


def _status(paid: Decimal, due: Decimal) -> str:
    if paid > due:
        return "overpaid"
    if paid == due:
        return "paid"
    return "unpaid" if paid == ZERO else "partially_paid"


def _quantities(lines: list) -> dict:
    quantities: dict = {}
    for line in lines:
        key = (
            line["sku"],
            line["name"],
            Decimal(line["unit_price"]),
            Decimal(line.get("vat_rate") or 0),
        )
        quantities[key] = quantities.get(key, 0) + line["quantity"]
    return quantities


def _lines(wanted: dict, have: dict) -> list[dict]:
    """The lines of what `wanted` has beyond `have`."""
    lines = []
    for key, quantity in wanted.items():
        extra = quantity - have.get(key, 0)
        if extra > 0:
            lines.append(dict(zip(LINE_KEY, key, strict=True), quantity=extra))
    return lines


class BillingRefused(Refused):
    """A command the account's rules refuse; `rule` names the rule."""

    def __init__(self, command: str, rule: str, detail: str):
        super().__init__(f"{command} refused: {detail} ({rule})", rule, detail, command=command)
        self.command = command


class UnknownDocument(Missing):
    def __init__(self, document_id: str):
        super().__init__(f"invoice {document_id} not found on this order", id=document_id)
        self.document_id = document_id
