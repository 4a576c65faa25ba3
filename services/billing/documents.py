"""Billing's documents as PDF: invoices, supplementary invoices, credit notes and pro-formas.

A document is rendered only from what its `Issued` event recorded — the seller and the buyer as
they were, the numbers, dates, lines, VAT per rate, totals and rounding rule, the payment channel
and terms, the language — so rendering it again gives the bytes whose SHA-256 the event holds.
Documents issued before that was recorded render with today's seller and cannot be verified.

It is given the document opened (forgetting.py `printable`): an invoice, supplementary invoice or
credit note names the buyer as billing keeps it for the retention period (`buyer`: name and
address, with the client's code), and so renders to the same bytes after the client is forgotten;
a pro-forma, and documents issued before `buyer` was kept, name the buyer from its details as they
came (name, code, address, e-mail, phone), which then open to "forgotten client".
"""

from datetime import date

from shared import documents
from shared.documents import Document, Labels
from shared.sealing import FORGOTTEN

ROUTE_KINDS = {
    "invoice": ("invoice", "supplementary"),
    "credit_note": ("credit_note",),
    "pro_forma": ("pro_forma",),
}


def page(document: dict, seller: dict | None = None, language: str = "en") -> Document:
    labels = Labels(document.get("language") or language)
    kind, currency = document["kind"], document["currency"]
    seller = document.get("seller") or seller or {"name": "", "address": []}
    total = "total_gross" if kind in ("invoice", "supplementary") else "total"
    columns, rows, totals = documents.priced_lines(document, currency, labels, total)
    facts = [(labels["issued_on"], labels.date(document["issued_on"]))]
    if document.get("due_on"):
        facts.append((labels["due_on"], labels.date(document["due_on"])))
    if document.get("order_reference"):
        facts.append((labels["order"], document["order_reference"]))
    if document.get("corrects_number"):
        facts.append(("", labels.text("corrects", number=document["corrects_number"])))
    if document.get("reason"):
        facts.append((labels["reason"], document["reason"]))
    return Document(
        language=labels.language,
        title=labels.title(kind),
        number=document["number"],
        issued_on=document["issued_on"],
        facts=tuple(facts),
        parties=(
            (labels["seller"], documents.seller_lines(seller, labels)),
            (labels["buyer"], _buyer(document)),
        ),
        columns=columns,
        rows=rows,
        totals=totals,
        sections=((labels["payment"], _payment(document, seller, labels)),),
        footer=f"{seller['name']} · {document['number']} · {labels['page']}",
        subject=document.get("order_reference") or document["number"],
    )


def _buyer(document: dict) -> tuple:
    details, kept = document["billing"], document.get("buyer")
    buyer = kept or details
    address = buyer.get("address")
    if address and FORGOTTEN in address.values():  # a forgotten client's: its country only
        address = {"country": address.get("country")}
    lines = [buyer.get("name"), details.get("code"), *documents.address_lines(address)]
    if kept is None:
        lines += [details.get("email"), details.get("phone")]
    lines = [x for x in lines if x]
    return tuple(x for n, x in enumerate(lines) if x != FORGOTTEN or FORGOTTEN not in lines[:n])


def _payment(document: dict, seller: dict, labels: Labels) -> tuple:
    if document["kind"] not in ("invoice", "supplementary"):
        return (labels["not_payable"], labels["rounding"])
    channel = document.get("channel")
    lines = [labels.field("payment_channel", labels.channel(channel))]
    if document.get("due_on"):
        days = (
            date.fromisoformat(document["due_on"]) - date.fromisoformat(document["issued_on"])
        ).days
        lines.append(
            labels.text("payment_terms", due_on=labels.date(document["due_on"]), days=days)
        )
    if channel in (None, "bank_transfer") and seller.get("bank_account"):
        lines.append(labels.field("bank_account", seller["bank_account"]))
    lines.append(labels["rounding"])
    return tuple(lines)


def render(document: dict, seller: dict | None = None, language: str = "en") -> bytes:
    return documents.render(page(document, seller, language))


def fingerprint(document: dict) -> str:
    return documents.sha256(render(document))


def served(kind: str, document: dict, content: bytes) -> dict:
    recorded = document.get("sha256")
    return documents.served(
        kind, document["id"], document["number"], recorded, content, document.get("layout")
    )
