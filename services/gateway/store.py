"""The gateway's own small database: API keys (stored hashed) and the responses kept for
`Idempotency-Key` replays. No business state lives here; orders and money stay in the services.

Keys are 256-bit random strings (`oms_…`), so a SHA-256 of the key is enough to store (nothing to
brute-force, unlike a password); the plain key is shown once, when it is created.
"""

import hashlib
import json
import secrets
import time

import sqlalchemy as sa
from marshmallow import fields, validate

from shared import schema
from shared.actors import ROLES
from shared.errors import Conflict, NotFound, ValidationFailed
from shared.validation import Strict, Text

KEY_PREFIX = "oms_"
STARTED = -1  # the status of a replay record whose request is still running
FORGET_SECONDS = 24 * 3600  # how long a response is kept for replays (Stripe keeps 24 hours)


class KeyIn(Strict):
    """`{"name": "web-shop", "role": "storefront"}`: the name is the actor events record."""

    name = Text(required=True, max_length=64, validate=validate.Regexp(r"^[A-Za-z0-9][\w.@-]*$"))
    role = fields.String(required=True, validate=validate.OneOf(ROLES))


def digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


class GatewayStore:
    def __init__(self, url: str):
        self.engine = sa.create_engine(url, pool_pre_ping=True)
        if self.engine.dialect.name == "sqlite":
            sa.event.listen(self.engine, "connect", _sqlite_pragmas)
        metadata = sa.MetaData()
        self.keys = sa.Table(
            "gateway_keys",
            metadata,
            sa.Column("name", sa.String(64), primary_key=True),
            sa.Column("role", sa.String(20), nullable=False),
            sa.Column("digest", sa.String(64), nullable=False, unique=True),
            sa.Column("hint", sa.String(12), nullable=False),  # the key's first characters
            sa.Column("created_at", sa.Float, nullable=False),
            sa.Column("created_by", sa.String(200), nullable=False),
            sa.Column("revoked_at", sa.Float),
            sa.Column("revoked_by", sa.String(200)),
        )
        self.replays = sa.Table(
            "gateway_replays",
            metadata,
            sa.Column("key_name", sa.String(64), primary_key=True),
            sa.Column("idempotency_key", sa.String(255), primary_key=True),
            sa.Column("fingerprint", sa.String(64), nullable=False),
            sa.Column("status", sa.Integer, nullable=False),
            sa.Column("response", sa.Text),
            sa.Column("at", sa.Float, nullable=False, index=True),
        )
        schema.create(self.engine, metadata)

    # -- API keys ----------------------------------------------------------------------------------
    def create_key(self, name: str, role: str, actor: str) -> dict:
        """A new key: its record, with the plain `key` (shown this once)."""
        key = KEY_PREFIX + secrets.token_urlsafe(32)
        row = {"name": name, "role": role, "digest": digest(key), "hint": key[:10]}
        row.update(created_at=time.time(), created_by=actor)
        try:
            with self.engine.begin() as conn:
                conn.execute(self.keys.insert(), row)
        except sa.exc.IntegrityError:
            raise Conflict(
                f"a key named {name} exists (names are never reused: they are actors)",
                {"name": ["Taken."]},
            ) from None
        return dict(_shown(row), key=key)

    def revoke_key(self, name: str, actor: str) -> dict:
        with self.engine.begin() as conn:
            row = conn.execute(sa.select(self.keys).where(self.keys.c.name == name)).first()
            if row is None:
                raise NotFound(f"no key named {name}", {"name": name})
            if row.revoked_at is None:
                conn.execute(
                    self.keys.update()
                    .where(self.keys.c.name == name)
                    .values(revoked_at=time.time(), revoked_by=actor)
                )
            row = conn.execute(sa.select(self.keys).where(self.keys.c.name == name)).first()
        return _shown(row._asdict())

    def list_keys(self) -> list[dict]:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(self.keys).order_by(self.keys.c.created_at))
            return [_shown(r._asdict()) for r in rows]

    def key_named(self, name: str) -> dict:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(self.keys).where(self.keys.c.name == name)).first()
        if row is None or row.revoked_at is not None:
            raise NotFound(f"no active key named {name}", {"name": name})
        return _shown(row._asdict())

    def caller(self, key: str) -> dict | None:
        """The active key's `{"name", "role"}`, or None for an unknown or revoked key."""
        if not key.startswith(KEY_PREFIX) or len(key) > 100:
            return None
        query = sa.select(self.keys.c.name, self.keys.c.role).where(
            self.keys.c.digest == digest(key), self.keys.c.revoked_at.is_(None)
        )
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        return {"name": row.name, "role": row.role} if row else None

    # -- Idempotency-Key replays -------------------------------------------------------------------
    def begin(self, key_name: str, idempotency_key: str, fingerprint: str):
        """Claim a key for a request: None if it is new (run it, then `finish`); else the
        response kept for it. Refused when the key came with another request, or while the
        first request with it is still running."""
        replays = self.replays.c
        now = time.time()
        with self.engine.begin() as conn:
            conn.execute(self.replays.delete().where(replays.at < now - FORGET_SECONDS))
            try:
                with conn.begin_nested():
                    row = {"key_name": key_name, "idempotency_key": idempotency_key}
                    row.update(fingerprint=fingerprint, status=STARTED, at=now)
                    conn.execute(self.replays.insert(), row)
                    return None
            except sa.exc.IntegrityError:
                pass
            kept = conn.execute(
                sa.select(self.replays).where(
                    replays.key_name == key_name, replays.idempotency_key == idempotency_key
                )
            ).first()
        if kept.fingerprint != fingerprint:
            raise ValidationFailed(
                "this Idempotency-Key was used with another request",
                {"Idempotency-Key": ["Used before with another method, path or body."]},
            )
        if kept.status == STARTED:
            raise Conflict(
                "a request with this Idempotency-Key is still running; retry in a moment",
                {"Idempotency-Key": ["In progress."]},
            )
        return kept.status, json.loads(kept.response)

    def finish(self, key_name: str, idempotency_key: str, status: int, response: dict) -> None:
        """Keep the response for replays; a server error is not kept (the retry runs again)."""
        where = (
            self.replays.c.key_name == key_name,
            self.replays.c.idempotency_key == idempotency_key,
        )
        with self.engine.begin() as conn:
            if status >= 500:
                conn.execute(self.replays.delete().where(*where))
            else:
                values = {"status": status, "response": json.dumps(response)}
                conn.execute(self.replays.update().where(*where).values(**values))


def _shown(row: dict) -> dict:
    return {
        "name": row["name"],
        "role": row["role"],
        "hint": row["hint"] + "…",
        "created_at": _iso(row["created_at"]),
        "created_by": row["created_by"],
        "revoked_at": _iso(row.get("revoked_at")),
        "revoked_by": row.get("revoked_by"),
    }


def _iso(stamp: float | None) -> str | None:
    if stamp is None:
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(stamp))


def _sqlite_pragmas(connection, _record) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()
