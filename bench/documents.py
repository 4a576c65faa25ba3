"""`make bench`, part 6: documents rendered per second, per kind.

For one real order with every kind of document (orders, billing, production and fulfilment in
this process on SQLite files, fed by the in-process pump — no broker: rendering is what is
measured): each owning service's `document(kind, id)` called over and over — read the aggregate
from the store, take the issuing event's record, lay out and render the PDF, base64 it — and, on
the same description, the renderer alone. Then the first render of a glyph set no document used
before (the font caches cold), and the render of a 100-line invoice.
"""

import argparse
import base64
import tempfile
import time
from decimal import Decimal

from services.billing import documents as billing_documents
from shared import documents
from shared.documents import embedding
from tests.inprocess import InProcess
from tests.support import order_with_every_document

KINDS = ("confirmation", "pro_forma", "invoice", "credit_note", "purchase_order", "work_sheet")


def full_order(desk) -> dict:
    """{kind: (service, id)} of one order with every kind of document."""
    made = order_with_every_document(desk)
    return {
        "confirmation": ("orders", made["order"]["id"]),
        "pro_forma": ("billing", made["pro_forma"]["id"]),
        "invoice": ("billing", made["invoice"]["id"]),
        "credit_note": ("billing", made["credit_note"]["id"]),
        "purchase_order": ("fulfilment", made["purchase_order"]["id"]),
        "work_sheet": ("production", made["job"]["id"]),
    }


def rate(call, seconds: float) -> tuple[float, int]:
    """Calls per second of `call`, repeated for about `seconds` (after one warm-up call)."""
    call()
    count, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        call()
        count += 1
    return count / elapsed, count


def long_invoice(lines: int) -> documents.Document:
    body = [
        {"sku": f"SKU-{i}", "name": f"Product {i} with a longer name", "quantity": i + 1,
         "unit_price": Decimal("1.25"), "vat_rate": Decimal(5 + 3 * (i % 3))}
        for i in range(lines)
    ]  # fmt: skip
    from shared.money import priced

    document = {
        "kind": "invoice", "number": "INV-2026-999999", "issued_on": "2026-12-02",
        "due_on": "2026-12-16", "currency": "EUR", "reason": None, "channel": "bank_transfer",
        "billing": {"name": "Ada Lovelace", "code": "ADA", "address": None},
        "seller": {"name": "Order desk", "address": ["1 Main St"], "bank_account": "GB00"},
        "language": "en", **priced(body, "EUR"),
    }  # fmt: skip
    return billing_documents.page(document)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=3.0, help="per measurement")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="oms-bench-documents-") as directory:
        desk = InProcess(
            directory,
            services=("orders", "billing", "production", "fulfilment"),
            PRODUCTION_FILES=f"{directory}/files",
        )
        try:
            made = full_order(desk)
            print("documents rendered per second, per kind (one process, one core):")
            print(f"{'kind':<16}{'document(kind, id)':>20}{'renderer alone':>16}{'bytes':>8}")
            for kind in KINDS:
                service, document_id = made[kind]
                served = desk.services[service].document  # the RPC method itself, no pump
                answer = served(kind, document_id)
                per_call, _ = rate(lambda s=served, k=kind, i=document_id: s(k, i), args.seconds)
                page = page_of(desk, kind, document_id)
                alone, _ = rate(lambda p=page: documents.render(p), args.seconds)
                size = len(base64.b64decode(answer["content"]))
                print(f"{kind:<16}{per_call:>18.1f}/s{alone:>14.1f}/s{size:>8}")
        finally:
            desk.close()
    page = long_invoice(100)
    many, _ = rate(lambda: documents.render(page), args.seconds)
    embedding.forget()
    start = time.perf_counter()
    documents.render(page)
    cold = (time.perf_counter() - start) * 1000
    print(f"a 100-line invoice (3 pages): {many:.1f}/s; its first render, font caches cold:"
          f" {cold:.0f} ms")  # fmt: skip


def page_of(desk, kind: str, document_id: str) -> documents.Document:
    """The description the owning service renders (what `document` lays out)."""
    from services.fulfilment import documents as po_documents
    from services.orders import documents as order_documents
    from services.production import documents as sheet_documents

    if kind == "confirmation":
        return order_documents.page(desk.apps["orders"].confirmation(document_id)[1])
    if kind == "work_sheet":
        return sheet_documents.page(
            desk.apps["production"].production_order(document_id).work_sheets[-1]
        )
    if kind == "purchase_order":
        return po_documents.page(desk.apps["fulfilment"].get(document_id).document)
    account = desk.apps["billing"].account_of_document(document_id)
    return billing_documents.page(account.document(document_id))


if __name__ == "__main__":
    main()
