"""The one place the subjects' keys live (shared/sealing.py): a plain table in the store of the
service that owns the clients (orders), never an event, so that destroying a key is a DELETE of
its bytes that no replay brings back. A destroyed subject keeps its row — who forgot it, when
— so it is told apart from one never known. Backups of the table hold keys too: they must be kept
no longer than the promise made to forgotten clients (docs).
"""

from datetime import UTC, datetime

import sqlalchemy as sa

from shared import sealing


def keys_table(service: str, metadata: sa.MetaData) -> sa.Table:
    return sa.Table(
        f"{service}_personal_keys",
        metadata,
        sa.Column("subject", sa.String(200), primary_key=True),
        sa.Column("key", sa.LargeBinary),  # None once destroyed
        sa.Column("created_at", sa.String(40), nullable=False),
        sa.Column("forgotten_at", sa.String(40)),
        sa.Column("forgotten_by", sa.Text),
    )


class KeyStore:
    """The keys of one service's store (`app.engine`), in the table `keys_table` made."""

    def __init__(self, app, table: sa.Table):
        self.app, self.table = app, table

    def key_for(self, session, subject: str) -> bytes | None:
        """The subject's key, made now if it has none (in the caller's transaction `session`,
        so it commits with what it seals); None if the subject was forgotten."""
        c = self.table.c
        found = session.execute(sa.select(c.key, c.forgotten_at).where(c.subject == subject))
        row = found.first()
        if row is not None:
            return None if row.forgotten_at else bytes(row.key)
        key = sealing.new_key()
        session.execute(self.table.insert().values(subject=subject, key=key, created_at=_now()))
        return key

    def keys(self, subjects=None, session=None) -> dict[str, bytes | None]:
        """{subject: its key, or None if forgotten} for the subjects known (others left out;
        every subject if None), read in `session` if given (it sees keys it made)."""
        c = self.table.c
        query = sa.select(c.subject, c.key)
        if subjects is not None:
            query = query.where(c.subject.in_(sorted(set(subjects))))
        if session is not None:
            rows = session.execute(query).all()
        else:
            with self.app.engine.connect() as conn:
                rows = conn.execute(query).all()
        return {s: (bytes(k) if k is not None else None) for s, k in rows}

    def destroy(self, session, subject: str, actor: str) -> bool:
        """Destroy the subject's key (in the caller's transaction, with the event saying so);
        False if it was forgotten already. A subject never known is recorded as forgotten, so a
        key is never made for it later."""
        c = self.table.c
        done = session.execute(
            self.table.update()
            .where(c.subject == subject, c.forgotten_at.is_(None))
            .values(key=None, forgotten_at=_now(), forgotten_by=actor)
        ).rowcount
        if done:
            return True
        known = session.execute(sa.select(c.subject).where(c.subject == subject)).first()
        if known is not None:
            return False
        session.execute(
            self.table.insert().values(
                subject=subject,
                key=None,
                created_at=_now(),
                forgotten_at=_now(),
                forgotten_by=actor,
            )
        )
        return True


def _now() -> str:
    return datetime.now(UTC).isoformat()
