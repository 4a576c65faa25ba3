"""Signed links: tokens `<key id>.<field>.<field>….<mac>`, the MAC an HMAC-SHA256 (truncated to
128 bits: unguessable, short enough for an SMS) over everything before it. A token opens what its
fields name and nothing else; changing any field breaks the MAC. Keys rotate through
OMS_TRACKING_KEYS ("new:secret,old:secret": the first signs, every one verifies); without them a
key is derived from OMS_ACTOR_SECRET. Each purpose (tracking pages, couriers' tasks) has keys of
its own, so a token made for one is refused by the other."""

import base64
import hashlib
import hmac
from uuid import UUID

from shared.settings import Settings

TRACKING = b"tracking-links"


def keys_from(settings: Settings, purpose: bytes) -> dict[str, bytes]:
    """{key id: secret}, the signing key first."""
    keys = {}
    for item in filter(None, (i.strip() for i in settings.tracking_keys.split(","))):
        kid, _, secret = item.partition(":")
        if not kid.isalnum() or len(secret) < 16:
            raise ValueError(
                "OMS_TRACKING_KEYS: each key is id:secret, an alphanumeric id and 16+ characters"
            )
        # tracking links sign with the key itself (as they always have); other purposes with a
        # key derived from it
        raw = secret.encode()
        keys[kid] = raw if purpose == TRACKING else hmac.new(raw, purpose, hashlib.sha256).digest()
    if not keys:
        keys["a"] = hmac.new(settings.actor_secret.encode(), purpose, hashlib.sha256).digest()
    return keys


class Signer:
    def __init__(self, keys: dict[str, bytes]):
        self.keys = keys
        self.signing = next(iter(keys))

    def sign(self, *fields: str) -> str:
        body = ".".join((self.signing, *fields))
        return f"{body}.{self._mac(self.signing, body)}"

    def read(self, token, count: int) -> list[str] | None:
        """The `count` fields of a token signed by a known key; None for anything else."""
        if not isinstance(token, str) or len(token) > 300:
            return None
        parts = token.split(".")
        if len(parts) != count + 2 or parts[0] not in self.keys:
            return None
        body = ".".join(parts[:-1])
        if not hmac.compare_digest(parts[-1], self._mac(parts[0], body)):
            return None
        return parts[1:-1]

    def _mac(self, kid: str, body: str) -> str:
        return b64(hmac.new(self.keys[kid], body.encode(), hashlib.sha256).digest()[:16])


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def uuid_field(value: str) -> str:
    return b64(UUID(str(value)).bytes)


def uuid_of(field: str) -> str | None:
    try:
        return str(UUID(bytes=base64.urlsafe_b64decode(field + "==")))
    except ValueError:
        return None


COURIER = b"courier-links"


class CourierLinks:
    """A courier's link to one delivery: `<public url>/courier/<token>`, naming the run, its
    generation (a reassignment moves it on) and when it expires (unix seconds)."""

    def __init__(self, settings: Settings):
        self.signer = Signer(keys_from(settings, COURIER))
        self.base = settings.public_base

    def url(self, run_id: str, generation: int, expires: int) -> str:
        token = self.signer.sign(uuid_field(run_id), str(generation), str(expires))
        return f"{self.base}/courier/{token}"

    def read(self, token) -> tuple[str, int, int] | None:
        """(run id, generation, expires) of a genuine token; None for anything else."""
        fields = self.signer.read(token, 3)
        if fields is None or not (fields[1].isdigit() and fields[2].isdigit()):
            return None
        run_id = uuid_of(fields[0])
        return None if run_id is None else (run_id, int(fields[1]), int(fields[2]))
