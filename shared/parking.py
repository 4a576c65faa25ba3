"""Parked events: reactions that kept failing, kept durably in the consumer's store for operators."""

import json
from datetime import UTC, datetime

import sqlalchemy as sa

from shared import context
from shared.errors import NotFound


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
    )


class Parking:
    """Park, list and retry failed reactions of one service application."""

    def __init__(self, app):
        self.app = app
        self.table = parked_table(app.service, sa.MetaData())
        self.table.create(app.engine, checkfirst=True)

    def park(self, env: dict, tracking, error: Exception, attempts: int) -> None:
        """Record the failure and the tracking record together: the follower moves on."""
        row = {
            "upstream": tracking.application_name,
            "position": tracking.notification_id,
            "event_id": env.get("id", "?"),
            "event_type": env.get("type", "?"),
            "envelope": json.dumps(env),
            "error": repr(error)[:4000],
            "attempts": attempts,
            "parked_at": _now(),
            "status": "parked",
        }
        with self.app.transaction() as session:
            session.execute(self.table.insert().values(**row))
            self.app.save_reaction(tracking)

    def list(self, status: str | None = "parked") -> list[dict]:
        query = sa.select(self.table).order_by(self.table.c.id)
        if status:
            query = query.where(self.table.c.status == status)
        with self.app.engine.connect() as conn:
            return [_public(row._asdict()) for row in conn.execute(query)]

    def count(self, status: str = "parked") -> int:
        query = (
            sa.select(sa.func.count()).select_from(self.table).where(self.table.c.status == status)
        )
        with self.app.engine.connect() as conn:
            return conn.execute(query).scalar_one()

    def retry(self, parked_id: int) -> dict:
        """Run the reaction again; on success the entry is marked retried in the same transaction."""
        row = self._get(parked_id)
        if row["status"] != "parked":
            return _public(row)
        env = json.loads(row["envelope"])
        with context.bound(correlation_id=env.get("correlationid"), causation_id=env.get("id")):
            with self.app.transaction() as session:
                aggregates = self.app.react(env)
                session.execute(
                    self.table.update()
                    .where(self.table.c.id == parked_id)
                    .values(status="retried", resolved_at=_now())
                )
                self.app.save(*aggregates)
        return _public(self._get(parked_id))

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
