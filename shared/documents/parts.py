"""What several documents show alike: the seller from the settings, the buyer's address, a priced
table with VAT per rate and totals, and what `document(kind, id)` answers over RPC."""

import base64
import functools

from shared.documents.labels import Labels
from shared.documents.page import LAYOUT, PDF, Column


def served(
    kind: str,
    document_id: str,
    number: str,
    recorded: str | None,
    content: bytes,
    layout: int | None = None,
):
    """What `document(kind, id)` answers over RPC: the bytes (base64), and the SHA-256 recorded
    when the document was issued (None for documents issued before hashes were recorded) —
    `oms document verify` compares it with the bytes' own — and the layout it was issued under
    beside this renderer's (bytes compare only under the same layout)."""
    return {
        "kind": kind,
        "id": document_id,
        "number": number,
        "filename": f"{kind}-{number.replace('/', '-')}.pdf",
        "content_type": PDF,
        "sha256": recorded,
        "content": base64.b64encode(content).decode("ascii"),
        "layout": layout,
        "renderer_layout": LAYOUT,
    }


def seller(settings) -> dict:
    """The seller's details from the settings, as a document records them when issued."""
    return {
        "name": settings.seller_name,
        "address": [x.strip() for x in settings.seller_address.split("|") if x.strip()],
        "vat_id": settings.seller_vat_id,
        "email": settings.seller_email,
        "phone": settings.seller_phone,
        "bank_account": settings.seller_bank_account,
    }


def seller_lines(seller: dict, labels: Labels) -> tuple:
    lines = [seller["name"], *seller.get("address", ())]
    if seller.get("vat_id"):
        lines.append(labels.field("vat_id", seller["vat_id"]))
    lines += [x for x in (seller.get("email"), seller.get("phone")) if x]
    return tuple(lines)


def priced_lines(body: dict, currency: str, labels: Labels, total: str = "total_gross"):
    """(columns, rows, totals) of a priced body (shared/money.py `priced`): the lines with their
    nets, the VAT of each rate on the nets of that rate, and net, VAT and gross totals."""
    money = functools.partial(labels.money, currency=currency)
    columns = (
        Column(labels["sku"], 0.16),
        Column(labels["product"], 0.36),
        Column(labels["quantity"], 0.08, "R"),
        Column(labels["unit_price"], 0.16, "R"),
        Column(labels["vat_rate"], 0.08, "R"),
        Column(labels["net"], 0.16, "R"),
    )
    rows = tuple(
        (
            line["sku"],
            line["name"],
            labels.number(line["quantity"]),
            money(line["unit_price"]),
            labels.rate(line["vat_rate"]),
            money(line["net"]),
        )
        for line in body["lines"]
    )
    totals = tuple(
        (labels.text("vat_at", rate=labels.rate(v["rate"]), net=money(v["net"])), money(v["tax"]))
        for v in body["vat"]
    ) + (
        (labels["total_net"], money(body["net"])),
        (labels["total_vat"], money(body["tax"])),
        (labels[total], money(body["gross"])),
    )
    return columns, rows, totals


def address_lines(address: dict | None) -> tuple:
    if not address:
        return ()
    city = " ".join(x for x in (address.get("postcode"), address.get("city")) if x)
    return tuple(
        x for x in (address.get("line1"), address.get("line2"), city, address.get("country")) if x
    )
