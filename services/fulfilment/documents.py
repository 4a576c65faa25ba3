"""The purchase order as a document: what one distributor is asked to deliver for one shipping,
where and by when, from whom. Its content and the SHA-256 of its PDF are recorded in the event
that raises it (and again in the event that edits its cost prices: a new revision), so rendering
it again gives the same bytes. Lines show the cost price agreed with the distributor where one
is known; the distributor invoices the others at its own price.

The address is the client's: the content keeps it sealed as orders sent it, and it is opened
only to render the PDF (`open_all`: a keyring's); the recorded hash is of the PDF rendered then.
Once the client is forgotten it renders as "forgotten client" (its hash then differs)."""

import base64
from collections.abc import Callable
from decimal import Decimal

from shared import documents, sealing
from shared.documents import Column, Document, Labels


def issued(
    number: str,
    shipped: dict,
    distributor: str,
    lines: list,
    settings,
    on: str,
    open_all: Callable,
    revision: int = 1,
) -> dict:
    """`shipped`: reference, address (sealed) and planned_date of the shipping."""
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
    document["sha256"] = documents.sha256(render(document, open_all))
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


def render(document: dict, open_all: Callable) -> bytes:
    """The PDF, with what is sealed in it opened by `open_all`."""
    return documents.render(page(open_all(document)))


def pdf_for(document: dict, keys: dict) -> str | dict:
    """The PDF (base64) as it is handed on (to notify, for an account manager) and recorded:
    sealed with its client's key, for it shows where the goods go; plain when nothing in it is
    sealed (raised before addresses were) or its client is forgotten (it then shows "forgotten
    client" and names nobody). `keys`: {subject: key} as a keyring gives them."""
    subject = next(iter(sealing.subjects_in(document)), None)
    pdf = render(document, lambda value: sealing.open_all(value, keys))
    content = base64.b64encode(pdf).decode()
    key = keys.get(subject)
    return content if key is None else sealing.seal(key, subject, content)
