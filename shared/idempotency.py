"""Idempotency keys of creating commands, Stripe's rule: the same key with the same request returns
the first result; the same key with another request is refused. A key is recorded in the
transaction that stores what it created, so a crash can never leave one without the other."""

import hashlib
import json

import sqlalchemy as sa

from shared.errors import Conflict


def keys_table(service: str, metadata: sa.MetaData) -> sa.Table:
    return sa.Table(
        f"{service}_idempotency_keys",
        metadata,
        sa.Column("key", sa.String(300), primary_key=True),
        sa.Column("fingerprint", sa.String(64), nullable=False),
    )


class IdempotencyKeys:
    """Mixed into `ServiceApplication` (which defines `idempotency_keys` and `engine`)."""

    def check_key(self, key: str, payload) -> bool:
        """True if `key` was used before with this payload; Conflict if with another one."""
        query = sa.select(self.idempotency_keys.c.fingerprint).where(
            self.idempotency_keys.c.key == key
        )
        with self.engine.connect() as conn:
            seen = conn.execute(query).scalar()
        if seen is None:
            return False
        if seen != fingerprint(payload):
            raise Conflict(
                "this idempotency key was used with a different request; use a new key",
                {"idempotency_key": ["Already used with a different request."]},
            )
        return True

    def remember_key(self, session, key: str, payload) -> None:
        """Record the key in the transaction that stores what it created."""
        session.execute(
            self.idempotency_keys.insert().values(key=key, fingerprint=fingerprint(payload))
        )


def fingerprint(payload) -> str:
    """A stable digest of a JSON-like request (dates, decimals and ids as their text)."""
    text = json.dumps(payload, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()
