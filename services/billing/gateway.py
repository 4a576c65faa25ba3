"""The payment gateway's callback: HMAC-SHA256 over `<timestamp>.<raw body>`, checked before the
body is even parsed; then the confirmation or rejection is applied once per transaction id.

Headers: `X-Gateway-Timestamp: <unix seconds>` and `X-Gateway-Signature: v1=<hex digest>`.
Answers: 200 recorded (or duplicate: the same transaction delivered again, freshly signed);
401 unsigned, bad signature or stale; 409 replayed (the very same signed delivery again) or
refused by the invoice's rules (voided); 400 bad body; 404 unknown invoice; 413 a body over
OMS_MAX_CALLBACK_BYTES (64 KiB), refused before it is read; 503 no secret set.
"""

import json

from services.billing.schemas import GatewayCallbackIn
from shared import logging as oms_logging
from shared import signing
from shared.errors import (
    Conflict,
    InvalidTransition,
    NotFound,
    OmsError,
    Unavailable,
    ValidationFailed,
    translated,
)
from shared.refusals import Missing, Refused
from shared.signing import sign  # noqa: F401 - what the payment gateway computes (tests, docs)
from shared.store import STORE_DOWN
from shared.validation import load

log = oms_logging.get("billing.gateway")
TIMESTAMP_HEADER = "X-Gateway-Timestamp"
SIGNATURE_HEADER = "X-Gateway-Signature"


class CallbackRefused(Exception):
    def __init__(self, status: int, error: str, message: str, **details):
        super().__init__(message)
        self.status, self.error, self.message, self.details = status, error, message, details

    def answer(self) -> tuple[int, dict]:
        return self.status, {"error": self.error, "message": self.message, **self.details}


def verify(secret: str, headers, body: bytes, now: float, tolerance: int) -> int:
    """The callback's signed timestamp, if its signature is good and it is fresh."""
    if not secret:
        raise CallbackRefused(
            503, "not_configured", "no gateway secret is set (OMS_GATEWAY_SECRET)"
        )
    stamp, signature = headers.get(TIMESTAMP_HEADER), headers.get(SIGNATURE_HEADER)
    if not stamp or not signature:
        raise CallbackRefused(
            401, "unsigned", f"{TIMESTAMP_HEADER} and {SIGNATURE_HEADER} headers are required"
        )
    try:
        return signing.check(secret, stamp, signature, body, now, tolerance)
    except signing.SignatureRefused as refused:
        raise CallbackRefused(refused.status, refused.error, refused.message) from None


def too_large(limit: int) -> tuple[int, dict]:
    log.warning("gateway_callback_refused", error="too_large", limit=limit)
    return 413, {"error": "too_large", "message": f"the body is larger than {limit} bytes"}


def answer(app, headers, body: bytes, secret: str, now: float, tolerance: int) -> tuple[int, dict]:
    """(HTTP status, JSON body) for one callback delivery."""
    try:
        signed_at = verify(secret, headers, body, now, tolerance)
        callback = load(GatewayCallbackIn, _json(body), "gateway callback")
        result = app.gateway_callback(callback, signed_at)
    except CallbackRefused as refused:
        log.warning("gateway_callback_refused", error=refused.error, message=refused.message)
        return refused.answer()
    except (Refused, Missing, OmsError) as exc:
        return http_answer(translated(exc) or exc)
    except STORE_DOWN:
        return http_answer(Unavailable("the billing store is unavailable; retry later", {}))
    shown = {"result": result["result"], "outcome": result["outcome"]}
    shown["invoice_id"] = result.get("invoice_id", callback["invoice_id"])
    if result["result"] == "replayed":
        log.warning("gateway_callback_refused", error="replayed", **shown)
        return 409, dict(
            shown, error="replayed", message="this signed delivery was handled already"
        )
    account = result.get("account")
    if account is not None:
        document = account.document(callback["invoice_id"])
        shown["invoice"] = {
            "id": document["id"],
            "number": document["number"],
            "status": account.status_of(document),
            "paid": str(account.paid(document)),
            "due": str(account.due(document)),
        }
    return 200, shown


# typed error -> (HTTP status, error code); an InvalidTransition's code is its rule
HTTP = {
    ValidationFailed: (400, "invalid"),
    NotFound: (404, "not_found"),
    InvalidTransition: (409, None),
    Conflict: (503, "busy"),
    Unavailable: (503, "unavailable"),
}


def http_answer(error: OmsError) -> tuple[int, dict]:
    status, code = HTTP[type(error)]
    answer = {"error": code or error.details.get("rule"), "message": error.message}
    if isinstance(error, ValidationFailed):
        answer["fields"] = error.details
    if status == 409:
        log.warning("gateway_callback_refused", error=answer["error"])
    return status, answer


def _json(body: bytes):
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise ValidationFailed(
            "the body is not JSON", {"_schema": ["Must be a JSON object."]}
        ) from None
