"""Documents and files over HTTP: the owning service renders the PDF (or reads the file) over
RPC; the gateway answers its bytes with their SHA-256 as `Repr-Digest` (RFC 9530), and lets a
storefront key read only the documents of orders it placed."""

import base64
import binascii
import urllib.parse
from dataclasses import dataclass

from services.gateway.problems import Problem
from services.gateway.production_routes import DOCUMENT_KINDS
from shared import actors


@dataclass(frozen=True)
class Binary:
    content: bytes
    content_type: str
    filename: str
    sha256: str | None  # recorded when the document was issued (None: before hashes were)

    def headers(self, request_id: str | None = None) -> dict:
        headers = {
            "Content-Type": self.content_type,
            "Content-Disposition": disposition(self.filename),
            "Cache-Control": "private, no-store",
        }
        if request_id:
            headers["X-Request-Id"] = request_id
        if self.sha256:
            digest = base64.b64encode(binascii.unhexlify(self.sha256)).decode()
            headers["Repr-Digest"] = f"sha-256=:{digest}:"
            headers["ETag"] = f'"{self.sha256}"'
        return headers


def disposition(filename: str) -> str:
    """`inline` with the file's name: plain ASCII in `filename`, the exact name (RFC 6266) in
    `filename*` — a name is an operator's text and never breaks the header."""
    plain = "".join(c if 32 <= ord(c) < 127 and c not in '"\\' else "_" for c in filename)
    exact = urllib.parse.quote(filename, safe="")
    return f"inline; filename=\"{plain}\"; filename*=UTF-8''{exact}"


def binary(answer: dict) -> Binary:
    """A service's `document` (or file) answer as bytes."""
    return Binary(
        base64.b64decode(answer["content"]),
        answer["content_type"],
        answer["filename"],
        answer.get("sha256"),
    )


def owner_check(kind: str, document_id: str, rpc) -> str:
    """The order a client document belongs to (a storefront key must have placed it)."""
    if kind == "confirmation":
        return document_id
    return rpc("billing", "get_invoice", [document_id])["order_id"]


def check_owner(request, order_id: str) -> None:
    """A storefront sees and acts on the orders its key placed; others do not exist for it."""
    order = request.rpc("orders", "get_order", [order_id])
    if not order["history"] or order["history"][0]["actor"] != request.caller["name"]:
        raise Problem("not-found", f"order {order_id} not found")


def read(request) -> Binary:
    """`GET /v1/documents/{kind}/{document_id}.pdf` for the caller's role."""
    kind, document_id = request.params["kind"], request.params["document_id"]
    if kind not in DOCUMENT_KINDS:
        raise Problem("not-found", f"no document kind {kind}; one of {', '.join(DOCUMENT_KINDS)}")
    service, role = DOCUMENT_KINDS[kind]
    caller_role = request.caller["role"]
    if not actors.allows(caller_role, role):
        raise Problem(
            "forbidden", f"a {caller_role} key may not read a {kind}; it takes {role}", needed=role
        )
    if caller_role == "storefront":
        check_owner(request, owner_check(kind, document_id, request.rpc))
    return binary(request.rpc(service, "document", [kind, document_id]))
