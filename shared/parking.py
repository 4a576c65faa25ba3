"""Parked events: reactions that kept failing, kept durably in the consumer's store for operators.

Per-aggregate order holds through failures. Once an event about a subject (the upstream aggregate
in the envelope's `subject`) is parked, later events of the same upstream about the same subject
are parked behind it (status `waiting`) instead of being applied out of order. When an operator
retries the parked event (or discards it), the ones behind it are replayed in log order; if one of
them fails it becomes the parked one and the rest wait behind it. Events about other subjects keep
flowing all along.
"""

import json
from datetime import UTC, datetime

import sqlalchemy as sa

from shared import context
from shared.envelope import service_of
from shared.errors import InvalidTransition, NotFound
from shared.leadership import ReplicasLock
from shared.logging import get as get_log

log = get_log("parking")
OPEN = ("parked", "waiting")


def parked_table(service: str, metadata: sa.MetaData) -> sa.Table:
    return sa.Table(
        f"{service}_parked",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("upstream", sa.String(64), nullable=False),
        sa.Column("position", sa.BigInteger, nullable=False),
        sa.Column("event_id", sa.String(128), nullable=False),
        sa.Column("event_type", sa.String(128), nullable=False),
        sa.Column("envelope", sa.Text, nullable=False),
        sa.Column("error", sa.Text, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("parked_at", sa.String(40), nullable=False),
        sa.Column("status", sa.String(16), nullable=False, default="parked"),
        sa.Column("resolved_at", sa.String(40)),
        sa.Column("subject", sa.String(128)),
        sa.Column("behind", sa.Integer),  # the parked entry a waiting one waits behind
        sa.Column("resolution", sa.Text),  # why it was discarded
        sa.Column("seen_at", sa.String(40)),  # when an operator first listed it
        sa.Index(f"ix_{service}_parked_open", "upstream", "subject", "status"),
    )


class Parking:
    """Park, list, retry and discard failed reactions of one service application."""

    def __init__(self, app, metadata: sa.MetaData):
        self.app = app
        self.table = parked_table(app.service, metadata)
        # held while deciding whether an event waits, and while a retry releases the waiting
        # ones (a retry may run in another replica than the one holding the event's segment)
        self.lock = ReplicasLock(app, "parking")
        self._open: int | None = None  # open entries (cached: only the replica holding
        # an event's segment parks it; `forget_counts` when it takes more segments)

    # -- the follower's side ---------------------------------------------------------------------
    def holds(self, upstream: str, subject: str) -> bool:
        """Is an earlier event of `upstream` about `subject` parked or waiting?"""
        if self._open == 0:
            return False
        if self._open is None:
            self._open = self.count(OPEN)
            if not self._open:
                return False
        t = self.table
        query = (
            sa.select(t.c.id)
            .where(t.c.upstream == upstream, t.c.subject == subject, t.c.status.in_(OPEN))
            .limit(1)
        )
        with self.app.engine.connect() as conn:
            return conn.execute(query).first() is not None

    def park(self, env: dict, tracking, error: Exception, attempts: int) -> None:
        """Record the failure and the tracking record together: the follower moves on."""
        self._insert(env, tracking, "parked", repr(error)[:4000], attempts, behind=None)
        log.error("reaction_parked", event_id=env.get("id"), error=repr(error)[:500])

    def park_behind(self, env: dict, tracking) -> None:
        head = self._head(service_of(env), env.get("subject"))
        self._insert(env, tracking, "waiting", f"waiting behind parked #{head}", 0, behind=head)
        log.warning("reaction_waiting", event_id=env.get("id"), behind=head)

    def _insert(self, env, tracking, status, error, attempts, behind) -> None:
        """The entry, with the tracking record of the event's segment (None: an event of every
        segment, whose reaction may be done again)."""
        row = {
            "upstream": service_of(env),
            "position": env["sequence"],
            "event_id": env.get("id", "?"),
            "event_type": env.get("type", "?"),
            "envelope": json.dumps(env),
            "error": error,
            "attempts": attempts,
            "parked_at": _now(),
            "status": status,
            "subject": env.get("subject"),
            "behind": behind,
        }
        with self.app.transaction() as session:
            session.execute(self.table.insert().values(**row))
            if tracking is not None:
                self.app.save_reaction(tracking)
        self._open = (self._open or 0) + 1

    def forget_counts(self) -> None:
        """Another replica may have parked events of segments this one now holds: count again."""
        self._open = None

    # -- the operator's side ---------------------------------------------------------------------
    def entries(self, status: str | None = "open") -> list[dict]:
        """Entries by status: `open` (parked and waiting), one status, or None for all."""
        query = sa.select(self.table).order_by(self.table.c.id)
        if status == "open":
            query = query.where(self.table.c.status.in_(OPEN))
        elif status:
            query = query.where(self.table.c.status == status)
        with self.app.engine.connect() as conn:
            return [_public(row._asdict()) for row in conn.execute(query)]

    def count(self, statuses=("parked",)) -> int:
        query = (
            sa.select(sa.func.count())
            .select_from(self.table)
            .where(self.table.c.status.in_(statuses))
        )
        with self.app.engine.connect() as conn:
            return conn.execute(query).scalar_one()

    def summary(self) -> dict:
        """Open entries by status, and when the oldest one no operator has listed was parked."""
        t = self.table
        unseen = sa.case((t.c.seen_at.is_(None), t.c.parked_at))
        query = (
            sa.select(t.c.status, sa.func.count(), sa.func.min(unseen))
            .where(t.c.status.in_(OPEN))
            .group_by(t.c.status)
        )
        with self.app.engine.connect() as conn:
            rows = conn.execute(query).all()
        counts = {status: n for status, n, _ in rows}
        oldest = min((first for *_, first in rows if first), default=None)
        return {
            "parked": counts.get("parked", 0),
            "waiting": counts.get("waiting", 0),
            "oldest_unseen_parked": oldest,
        }

    def mark_seen(self, ids: list[int]) -> None:
        if not ids:
            return
        t = self.table
        with self.app.transaction() as session:
            session.execute(
                t.update().where(t.c.id.in_(ids), t.c.seen_at.is_(None)).values(seen_at=_now())
            )

    def retry(self, parked_id: int) -> dict:
        """Run the parked reaction again; on success, replay the ones waiting behind it."""
        with self.lock:
            row = self._get(parked_id)
            if row["status"] in ("retried", "discarded"):
                return _public(row)  # done already: retrying again changes nothing
            self._refuse_waiting(row, "retry")
            if self._replay(row):
                self._release(row["upstream"], row["subject"])
            return _public(self._get(parked_id))

    def discard(self, parked_id: int, reason: str, actor: str) -> dict:
        """Give up on a parked event (its reaction never applies); the ones behind it replay."""
        with self.lock:
            row = self._get(parked_id)
            if row["status"] == "discarded":
                return _public(row)
            if row["status"] == "retried":
                raise InvalidTransition(
                    f"parked event {parked_id} was retried already; it cannot be discarded",
                    {"rule": "discard_requires_parked", "status": row["status"]},
                )
            self._refuse_waiting(row, "discard")
            with self.app.transaction() as session:
                session.execute(
                    self.table.update()
                    .where(self.table.c.id == parked_id)
                    .values(status="discarded", resolved_at=_now(), resolution=f"{actor}: {reason}")
                )
            self._release(row["upstream"], row["subject"])
            return _public(self._get(parked_id))

    @staticmethod
    def _refuse_waiting(row: dict, command: str) -> None:
        if row["status"] == "waiting":
            raise InvalidTransition(
                f"parked event {row['id']} waits behind #{row['behind']}: {command} that one,"
                " and this one follows in order",
                {"rule": "waits_behind_parked", "behind": row["behind"]},
            )

    def _replay(self, row: dict) -> bool:
        """Apply the entry's reaction, marking it retried in the same transaction; on failure
        keep it parked with the new error."""
        env = json.loads(row["envelope"])
        t = self.table
        try:
            with context.bound(correlation_id=env.get("correlationid"), causation_id=env.get("id")):
                with self.app.transaction() as session:
                    self.app.save(*self.app.react(env))
                    session.execute(
                        t.update()
                        .where(t.c.id == row["id"])
                        .values(status="retried", resolved_at=_now(), behind=None)
                    )
        except Exception as exc:  # noqa: BLE001 - the reaction failed again: it stays parked
            log.warning("parked_retry_failed", event_id=row["event_id"], error=repr(exc))
            with self.app.transaction() as session:
                session.execute(
                    t.update()
                    .where(t.c.id == row["id"])
                    .values(
                        status="parked",
                        behind=None,
                        error=repr(exc)[:4000],
                        attempts=row["attempts"] + 1,
                    )
                )
            return False
        return True

    def _release(self, upstream: str, subject: str | None) -> None:
        """Replay the entries waiting on this subject in log order, until one fails."""
        t = self.table
        while True:
            with self.app.engine.connect() as conn:
                waiting = conn.execute(
                    sa.select(t)
                    .where(
                        t.c.upstream == upstream, t.c.subject == subject, t.c.status == "waiting"
                    )
                    .order_by(t.c.position)
                ).first()
            if waiting is None:
                break
            if not self._replay(waiting._asdict()):
                with self.app.transaction() as session:  # the rest now wait behind this one
                    session.execute(
                        t.update()
                        .where(
                            t.c.upstream == upstream,
                            t.c.subject == subject,
                            t.c.status == "waiting",
                        )
                        .values(behind=waiting.id)
                    )
                break
        self._open = self.count(OPEN)

    def _head(self, upstream: str, subject: str | None) -> int | None:
        t = self.table
        query = sa.select(t.c.id).where(
            t.c.upstream == upstream, t.c.subject == subject, t.c.status == "parked"
        )
        with self.app.engine.connect() as conn:
            return conn.execute(query.order_by(t.c.position).limit(1)).scalar()

    def _get(self, parked_id: int) -> dict:
        with self.app.engine.connect() as conn:
            row = conn.execute(sa.select(self.table).where(self.table.c.id == parked_id)).first()
        if row is None:
            raise NotFound(f"parked event {parked_id} not found", {"id": parked_id})
        return row._asdict()


def _public(row: dict) -> dict:
    row = dict(row)
    row["envelope"] = json.loads(row["envelope"])
    return row


def _now() -> str:
    return datetime.now(UTC).isoformat()
