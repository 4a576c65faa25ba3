"""The workshop's routes (production orders, their files and notes, the queue) and the one route
every document is read at: `GET /v1/documents/{kind}/{document_id}.pdf`. Production's answers
never name a client (only its work sheet does, as a document): they are `anonymous`."""

from services.gateway.route import NoBody, Route
from services.production.schemas import FileIn, ProducedIn, ProductionNoteIn, QueueIn
from shared.documents import ISSUED_BY
from shared.validation import ReasonIn

PDF = "application/pdf"
#: document kind -> (the service that renders it, the least role that may read it; storefront
#: keys read only the documents of orders they placed)
INTERNAL = ("purchase_order", "work_sheet")
DOCUMENT_KINDS = {
    kind: (service, "operator" if kind in INTERNAL else "storefront")
    for kind, service in ISSUED_BY.items()
}
R = Route
JOB = "path:production_order_id"
JOBS = "/v1/production-orders/{production_order_id}"


def _transition(verb: str, summary: str) -> Route:
    return R("POST", f"{JOBS}/{verb}", f"{verb}ProductionOrder", "operator", "production",
             summary, ("production", f"{verb}_production_order"), (JOB,), NoBody,
             versioned=True, anonymous=True)  # fmt: skip


def _reasoned(verb: str, summary: str) -> Route:
    return R("POST", f"{JOBS}/{verb}", f"{verb}ProductionOrder", "operator", "production",
             summary, ("production", f"{verb}_production_order"), (JOB, "body.reason"),
             ReasonIn, versioned=True, anonymous=True)  # fmt: skip


PRODUCTION_ROUTES = (
    R("POST", "/v1/orders/{order_id}/production-orders", "createProductionOrders", "operator",
      "production", "Create production orders for the quantity not yet covered (twice: none new)",
      ("production", "create_production_orders"), ("path:order_id",), NoBody, anonymous=True),
    R("GET", "/v1/production-orders", "productionQueue", "operator", "production",
      "The workshop's queue, soonest planned first (status: open, planned, released…)",
      ("production", "production_queue"), ("query",), query=QueueIn, items="items"),
    R("GET", JOBS, "getProductionOrder", "operator", "production",
      "A production order with its files, notes and work sheets",
      ("production", "get_production_order"), (JOB,), versioned=True),
    _transition("release", "Release to the workshop (every required file certified)"),
    _transition("start", "Start a released production order"),
    _transition("finish", "Finish (what was not recorded as produced is, now)"),
    R("POST", f"{JOBS}/produced", "recordProduced", "operator", "production",
      "Record a produced quantity", ("production", "record_produced"),
      (JOB, "body.quantity"), ProducedIn, versioned=True, anonymous=True),
    _reasoned("cancel", "Cancel an open production order"),
    _reasoned("hold", "Put a production order on hold"),
    _reasoned("resume", "Resume a held production order"),
    R("POST", f"{JOBS}/notes", "addProductionNote", "operator", "production",
      "A note on the production order", ("production", "add_production_note"),
      (JOB, "body"), ProductionNoteIn, status=201, versioned=True, anonymous=True),
    R("POST", f"{JOBS}/files", "attachFile", "operator", "production",
      "Attach a production file (base64 content; kept by its SHA-256)",
      ("production", "attach_file"), (JOB, "body"), FileIn, status=201, versioned=True,
      anonymous=True),
    R("GET", f"{JOBS}/files/{{file_id}}", "getProductionFile", "operator", "production",
      "The file's bytes", None, (JOB, "path:file_id"), media="application/octet-stream"),
    R("POST", f"{JOBS}/files/{{file_id}}/comments", "commentFile", "operator", "production",
      "Comment on a file", ("production", "comment_file"), (JOB, "path:file_id", "body"),
      ProductionNoteIn, status=201, versioned=True, anonymous=True),
    R("POST", f"{JOBS}/files/{{file_id}}/certify", "certifyFile", "operator", "production",
      "Certify a file as right to produce from", ("production", "certify_file"),
      (JOB, "path:file_id"), NoBody, versioned=True, anonymous=True),
    R("GET", "/v1/documents/{kind}/{document_id}.pdf", "getDocument", "storefront",
      "documents", "A document as PDF (confirmation, pro_forma, invoice, credit_note,"
      " purchase_order, work_sheet); Repr-Digest is its SHA-256", None,
      ("path:kind", "path:document_id"), media=PDF),
)  # fmt: skip
