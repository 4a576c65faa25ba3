"""Signed HTTP callbacks from third parties (the payment gateway, distributors): HMAC-SHA256
over `<unix seconds>.<raw body>` with a secret shared with the sender, `v1=<hex digest>`, fresh
within a tolerance. Checked before the body is even parsed."""

import hashlib
import hmac


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The signature of `body` sent at `timestamp`: what the sender puts in its header."""
    mac = hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256)
    return "v1=" + mac.hexdigest()


class SignatureRefused(Exception):
    """The callback is not to be believed: `status` (401) and `error` say why."""

    def __init__(self, status: int, error: str, message: str):
        super().__init__(message)
        self.status, self.error, self.message = status, error, message


def check(secret: str, stamp, signature, body: bytes, now: float, tolerance: int) -> int:
    """The signed timestamp, if `signature` is good for `body` and it is fresh."""
    if not stamp or not signature:
        raise SignatureRefused(401, "unsigned", "a timestamp and a signature are required")
    if not isinstance(stamp, str) or not stamp.isdigit() or len(stamp) > 12:
        raise SignatureRefused(401, "bad_timestamp", "the timestamp must be unix seconds")
    timestamp = int(stamp)
    if not isinstance(signature, str) or not hmac.compare_digest(
        sign(secret, timestamp, body), signature.strip()
    ):
        raise SignatureRefused(401, "bad_signature", "the signature does not match the body")
    if abs(now - timestamp) > tolerance:
        raise SignatureRefused(
            401, "stale", f"signed {int(now - timestamp)} s from now; at most {tolerance} s allowed"
        )
    return timestamp
