"""The purchase order as a document: what one distributor is asked to deliver for one shipping,
where and by when, from whom. Its content and the SHA-256 of its PDF are recorded in the event
that raises it (and again in the event that edits its cost prices: a new revision), so rendering
it again gives the same bytes. Lines show the cost price agreed with the distributor where one
is known; the distributor invoices the others at its own price."""

from decimal import Decimal

from shared import documents
from shared.documents import Column, Document, Labels


def issued(
    number: str, shipped: dict, distributor: str, lines: list, settings, on: str, revision: int = 1
) -> dict:
    """`shipped`: reference, address and planned_date of the shipping."""
    content = {
        "language": Labels(None, settings.document_language).language,
        "seller": documents.seller(settings),
        "number": number,
        "order_reference": shipped["reference"],
        "distributor": distributor,
        "deliver_to": shipped["address"],
        "planned_date": shipped["planned_date"],
        "lines": [_line(x) for x in lines],
    }
    document = {"issued_on": on, "layout": documents.LAYOUT, "content": content}
    if revision > 1:
        document["revision"] = revision
    document["sha256"] = documents.sha256(render(document))
    return document


def _line(line: dict) -> dict:
    kept = {k: line[k] for k in ("sku", "name", "quantity")}
    if line.get("cost_price") is not None:
        kept.update(cost_price=str(line["cost_price"]), currency=line["currency"])
    return kept


def page(document: dict) -> Document:
    c = document["content"]
    labels = Labels(c["language"])
    priced = any("cost_price" in x for x in c["lines"])
    return Document(
        language=labels.language,
        title=labels.title("purchase_order"),
        number=c["number"],
        issued_on=document["issued_on"],
        facts=(
            (labels["issued_on"], labels.date(document["issued_on"])),
            (labels["order"], c["order_reference"]),
            (labels["planned_date"], labels.date(c["planned_date"])),
            *(((labels["revision"], str(r)),) if (r := document.get("revision")) else ()),
        ),
        parties=(
            (labels["buyer"], documents.seller_lines(c["seller"], labels)),
            (labels["distributor"], (c["distributor"],)),
            (labels["deliver_to"], documents.address_lines(c["deliver_to"])),
        ),
        columns=_columns(labels, priced),
        rows=tuple(_row(labels, x, priced) for x in c["lines"]),
        totals=_totals(labels, c["lines"]) if priced else (),
        footer=f"{c['seller']['name']} · {c['number']} · {labels['page']}",
        subject=c["order_reference"],
    )


def _columns(labels: Labels, priced: bool) -> tuple:
    if not priced:
        return (
            Column(labels["sku"], 0.25),
            Column(labels["product"], 0.6),
            Column(labels["quantity"], 0.15, "R"),
        )
    return (
        Column(labels["sku"], 0.18),
        Column(labels["product"], 0.4),
        Column(labels["quantity"], 0.1, "R"),
        Column(labels["cost_price"], 0.16, "R"),
        Column(labels["net"], 0.16, "R"),
    )


def _row(labels: Labels, line: dict, priced: bool) -> tuple:
    cells = (line["sku"], line["name"], labels.number(line["quantity"]))
    if not priced:
        return cells
    if "cost_price" not in line:
        return (*cells, "", "")
    price = Decimal(line["cost_price"])
    return (
        *cells,
        labels.money(price, line["currency"]),
        labels.money(price * line["quantity"], line["currency"]),
    )


def _totals(labels: Labels, lines: list) -> tuple:
    priced = [x for x in lines if "cost_price" in x]
    total = sum((Decimal(x["cost_price"]) * x["quantity"] for x in priced), Decimal(0))
    return ((labels["total"], labels.money(total, priced[0]["currency"])),)


def render(document: dict) -> bytes:
    return documents.render(page(document))
