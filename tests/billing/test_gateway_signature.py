"""The payment gateway's signature check on its own: what is let through, and why the rest is not."""

import hashlib
import hmac

import pytest

from services.billing.gateway import CallbackRefused, sign, verify

SECRET, NOW, BODY = "s3cret", 1_800_000_000, b'{"transaction_id": "tx-1"}'


def headers(at=NOW, body=BODY, secret=SECRET):
    return {"X-Gateway-Timestamp": str(at), "X-Gateway-Signature": sign(secret, at, body)}


def refusal(secret, given, body=BODY, tolerance=300) -> tuple[int, str]:
    with pytest.raises(CallbackRefused) as refused:
        verify(secret, given, body, NOW, tolerance)
    return refused.value.status, refused.value.error


def test_a_fresh_correctly_signed_body_passes_with_its_timestamp():
    assert verify(SECRET, headers(), BODY, NOW, 300) == NOW
    assert verify(SECRET, headers(at=NOW - 300), BODY, NOW, 300) == NOW - 300  # at the edge


def test_the_signature_is_hmac_sha256_of_timestamp_dot_body():
    expected = hmac.new(SECRET.encode(), b"1800000000." + BODY, hashlib.sha256).hexdigest()
    assert sign(SECRET, NOW, BODY) == f"v1={expected}"


@pytest.mark.parametrize(
    ("secret", "given", "body", "answer"),
    [
        ("", headers(), BODY, (503, "not_configured")),
        (SECRET, {}, BODY, (401, "unsigned")),
        (SECRET, {"X-Gateway-Timestamp": str(NOW)}, BODY, (401, "unsigned")),
        (SECRET, dict(headers(), **{"X-Gateway-Timestamp": "soon"}), BODY, (401, "bad_timestamp")),
        (SECRET, headers(secret="other"), BODY, (401, "bad_signature")),
        (SECRET, headers(), BODY + b" ", (401, "bad_signature")),  # altered body
        (SECRET, dict(headers(), **{"X-Gateway-Timestamp": str(NOW + 1)}), BODY,
         (401, "bad_signature")),  # the signed timestamp changed
        (SECRET, headers(at=NOW - 301), BODY, (401, "stale")),
        (SECRET, headers(at=NOW + 301), BODY, (401, "stale")),
    ],
    ids=["no secret", "unsigned", "no signature", "bad timestamp", "wrong secret",
         "altered body", "re-stamped", "too old", "from the future"],
)  # fmt: skip
def test_everything_else_is_refused_with_its_reason(secret, given, body, answer):
    assert refusal(secret, given, body) == answer
