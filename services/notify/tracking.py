"""Tracking links: `<public url>/track/<token>`, where the token names one order and the
generation of its links, signed with HMAC-SHA256 (truncated to 128 bits: unguessable, short enough
for an SMS). It opens that order's tracking page and nothing else. Revoking an order's links moves
its generation on (domain.TrackingAccess), so every earlier token is refused; keys rotate through
OMS_TRACKING_KEYS ("new:secret,old:secret": the first signs, every one verifies)."""

import base64
import hashlib
import hmac
from uuid import UUID

from shared.settings import Settings


def keys_from(settings: Settings) -> dict[str, bytes]:
    """{key id: secret}, the signing key first."""
    keys = {}
    for item in filter(None, (i.strip() for i in settings.tracking_keys.split(","))):
        kid, _, secret = item.partition(":")
        if not kid.isalnum() or len(secret) < 16:
            raise ValueError(
                "OMS_TRACKING_KEYS: each key is id:secret, an alphanumeric id and 16+ characters"
            )
        keys[kid] = secret.encode()
    if not keys:  # derived from the actor secret, so a deployment has one without another setting
        derived = hmac.new(settings.actor_secret.encode(), b"tracking-links", hashlib.sha256)
        keys["a"] = derived.digest()
    return keys


class TrackingLinks:
    def __init__(self, settings: Settings):
        self.keys = keys_from(settings)
        self.signing = next(iter(self.keys))
        self.base = settings.public_base

    def token(self, order_id: str, generation: int) -> str:
        order = _b64(UUID(order_id).bytes)
        return f"{self.signing}.{order}.{generation}.{self._mac(self.signing, order, generation)}"

    def url(self, order_id: str, generation: int) -> str:
        return f"{self.base}/track/{self.token(order_id, generation)}"

    def read(self, token: str) -> tuple[str, int] | None:
        """(order id, generation) of a token signed by a known key; None for anything else."""
        if not isinstance(token, str) or len(token) > 200:
            return None
        parts = token.split(".")
        if len(parts) != 4 or parts[0] not in self.keys or not parts[2].isdigit():
            return None
        kid, order, generation, mac = parts
        if not hmac.compare_digest(mac, self._mac(kid, order, int(generation))):
            return None
        try:
            return str(UUID(bytes=base64.urlsafe_b64decode(order + "=="))), int(generation)
        except ValueError:
            return None

    def _mac(self, kid: str, order: str, generation: int) -> str:
        digest = hmac.new(self.keys[kid], f"{kid}.{order}.{generation}".encode(), hashlib.sha256)
        return _b64(digest.digest()[:16])


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
