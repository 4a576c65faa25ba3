"""The purchase order as a document: what one distributor is asked to deliver for one shipping,
where and by when, from whom. Its content and the SHA-256 of its PDF are recorded in the event
that raises it, so rendering it again gives the same bytes. (Cost prices come with the
distributors' catalogue; until then the lines carry quantities only.)"""

from shared import documents
from shared.documents import Column, Document, Labels


def issued(number: str, shipped: dict, distributor: str, lines: list, settings, on: str) -> dict:
    content = {
        "language": Labels(None, settings.document_language).language,
        "seller": documents.seller(settings),
        "number": number,
        "order_reference": shipped["reference"],
        "distributor": distributor,
        "deliver_to": shipped["address"],
        "planned_date": shipped["planned_date"],
        "lines": [{k: x[k] for k in ("sku", "name", "quantity")} for x in lines],
    }
    document = {"issued_on": on, "layout": documents.LAYOUT, "content": content}
    document["sha256"] = documents.sha256(render(document))
    return document


def page(document: dict) -> Document:
    c = document["content"]
    labels = Labels(c["language"])
    return Document(
        language=labels.language,
        title=labels.title("purchase_order"),
        number=c["number"],
        issued_on=document["issued_on"],
        facts=(
            (labels["issued_on"], labels.date(document["issued_on"])),
            (labels["order"], c["order_reference"]),
            (labels["planned_date"], labels.date(c["planned_date"])),
        ),
        parties=(
            (labels["buyer"], documents.seller_lines(c["seller"], labels)),
            (labels["distributor"], (c["distributor"],)),
            (labels["deliver_to"], documents.address_lines(c["deliver_to"])),
        ),
        columns=(
            Column(labels["sku"], 0.25),
            Column(labels["product"], 0.6),
            Column(labels["quantity"], 0.15, "R"),
        ),
        rows=tuple((x["sku"], x["name"], labels.number(x["quantity"])) for x in c["lines"]),
        footer=f"{c['seller']['name']} · {c['number']} · {labels['page']}",
        subject=c["order_reference"],
    )


def render(document: dict) -> bytes:
    return documents.render(page(document))
