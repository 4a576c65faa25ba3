"""The order confirmation: the order as accepted — the seller, the client as the order names
them, the lines with VAT per rate and totals (the invoice's rounding rule), the shippings, and
the payment channel — in the client's language. Each revision's content is recorded with its
SHA-256 when it is issued (`Order.ConfirmationIssued`), so rendering it again gives the same
bytes; a new revision is issued when the order has changed since the last one."""

from shared import documents
from shared.documents import Document, Labels
from shared.money import priced


def content(order, settings) -> dict:
    client = order.client
    return {
        "language": Labels(client.get("language"), settings.document_language).language,
        "seller": documents.seller(settings),
        "order_id": str(order.id),
        "reference": order.reference,
        "placed_on": order.placed[:10],
        "client": {k: client.get(k) for k in ("code", "name", "email", "phone")},
        "currency": order.currency,
        **priced(order.lines, order.currency),
        "shippings": [
            {
                "planned_date": s["planned_date"],
                "address": s["address"],
                "lines": [{"sku": x["sku"], "quantity": x["quantity"]} for x in s["lines"]],
            }
            for s in order.shippings
        ],
        "payment_method": order.payment_method,
        "payment_terms_days": settings.payment_terms_days,
        "note": order.note,
    }


def page(confirmation: dict) -> Document:
    c = confirmation["content"]
    labels = Labels(c["language"])
    columns, rows, totals = documents.priced_lines(c, c["currency"], labels, "total")
    client = c["client"]
    shippings = tuple(
        labels.text(
            "shipping",
            id=index,
            date=labels.date(s["planned_date"]),
            address=", ".join(documents.address_lines(s["address"])),
        )
        + ": "
        + ", ".join(f"{labels.number(x['quantity'])} × {x['sku']}" for x in s["lines"])
        for index, s in enumerate(c["shippings"], 1)
    )
    payment = (
        labels.field("payment_channel", labels.channel(c["payment_method"])),
        labels["rounding"],
    )
    sections = [(labels["shippings"], shippings), (labels["payment"], payment)]
    if c["note"]:
        sections.append((labels["notes"], (c["note"],)))
    return Document(
        language=labels.language,
        title=labels.title("confirmation"),
        number=confirmation["number"],
        issued_on=confirmation["issued_on"],
        facts=(
            (labels["issued_on"], labels.date(confirmation["issued_on"])),
            (labels["placed_on"], labels.date(c["placed_on"])),
            (labels["order"], c["reference"]),
            (labels["revision"], str(confirmation["revision"])),
        ),
        parties=(
            (labels["seller"], documents.seller_lines(c["seller"], labels)),
            (
                labels["buyer"],
                tuple(
                    x
                    for x in (client["name"], client["code"], client["email"], client["phone"])
                    if x
                ),
            ),
        ),
        columns=columns,
        rows=rows,
        totals=totals,
        sections=tuple(sections),
        footer=f"{c['seller']['name']} · {confirmation['number']} · {labels['page']}",
        subject=c["reference"],
    )


def render(confirmation: dict) -> bytes:
    return documents.render(page(confirmation))


def fingerprint(confirmation: dict) -> str:
    return documents.sha256(render(confirmation))


def revision(order, settings, issued_on: str, opened=lambda c: c) -> dict | None:
    """A new revision of the order's confirmation, or None while the last one still shows the
    order as it is. Its content keeps the client's details sealed as the order holds them; the
    fingerprint is of the page rendered with them `opened`."""
    shown = content(order, settings)
    if order.confirmations and order.confirmations[-1]["content"] == shown:
        return None
    number = len(order.confirmations) + 1
    confirmation = {
        "number": order.reference if number == 1 else f"{order.reference}/{number}",
        "revision": number,
        "issued_on": issued_on,
        "layout": documents.LAYOUT,
        "content": shown,
    }
    confirmation["sha256"] = fingerprint(opened(confirmation))
    return confirmation


def served(order, confirmation: dict, content_bytes: bytes) -> dict:
    return documents.served(
        "confirmation",
        str(order.id),
        confirmation["number"],
        confirmation["sha256"],
        content_bytes,
        confirmation.get("layout"),
    )
