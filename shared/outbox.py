"""The outbox of a service that sends to third parties: one row per send request, moved on by its
attempts — a read model of the send events, written in their transaction and rebuildable from
them, which the sender (shared/sender.py) reads as its durable queue — and `Sends`, the mixin
that gives an application one."""

from dataclasses import dataclass

import sqlalchemy as sa

from shared.readmodels import ReadModel, rebuilding


class Outbox:
    """The pending sends of a service: one row per send request, moved on by its attempts."""

    def __init__(self, service: str, metadata: sa.MetaData):
        self.table = sa.Table(
            f"{service}_outbox",
            metadata,
            sa.Column("send_id", sa.String(64), primary_key=True),
            sa.Column("aggregate_id", sa.String(36), nullable=False, index=True),
            sa.Column("channel", sa.String(16), nullable=False),
            sa.Column("status", sa.String(8), nullable=False),  # pending | sent | failed | dropped
            sa.Column("attempts", sa.Integer, nullable=False),
            sa.Column("due_at", sa.Float),
            sa.Column("answer", sa.Text),
            sa.Column("position", sa.BigInteger, nullable=False),
            sa.Index(f"{service}_outbox_due", "status", "due_at"),
        )

    def project(
        self, session, recordings, requested: tuple, attempted: tuple, moved: tuple = ()
    ) -> None:
        """`moved`: events that set a pending send's `due_at` again, or drop it (`dropped`)."""
        t = self.table
        for r in recordings:
            event = r.domain_event
            if isinstance(event, requested):
                session.execute(
                    t.insert().values(
                        send_id=event.send_id,
                        aggregate_id=str(event.originator_id),
                        channel=event.channel or "none",
                        status="pending",
                        attempts=0,
                        due_at=getattr(event, "due_at", None) or event.timestamp.timestamp(),
                        position=r.notification.id,
                    )
                )
            elif isinstance(event, moved):
                dropped = getattr(event, "dropped", False)
                session.execute(
                    t.update()
                    .where(t.c.send_id == event.send_id, t.c.status == "pending")
                    .values(
                        status="dropped" if dropped else "pending",
                        due_at=None if dropped else event.due_at,
                    )
                )
            elif isinstance(event, attempted):
                session.execute(
                    t.update()
                    .where(t.c.send_id == event.send_id)
                    .values(
                        status={"retry": "pending", "dropped": "dropped"}.get(
                            event.outcome, event.outcome
                        ),
                        attempts=event.attempt,
                        due_at=event.retry_at,
                        answer=event.answer[:2000],
                    )
                )

    def rebuild(self, app, requested: tuple, attempted: tuple, moved: tuple = ()) -> int:
        """Empty the table and write it again from the whole log; returns the sends written."""
        with rebuilding(app, self.table) as session:
            position = 0
            while batch := app.notifications_after(position, 2000):
                recordings = [_Recording(app.mapper.to_domain_event(n), n) for n in batch]
                self.project(session, recordings, requested, attempted, moved)
                position = batch[-1].id
            return session.execute(sa.select(sa.func.count()).select_from(self.table)).scalar()

    def due(self, engine, now: float, limit: int = 50) -> list[str]:
        t = self.table
        query = (
            sa.select(t.c.send_id)
            .where(t.c.status == "pending", t.c.due_at <= now)
            .order_by(t.c.due_at, t.c.position)
            .limit(limit)
        )
        with engine.connect() as conn:
            return [row.send_id for row in conn.execute(query)]

    def next_due(self, engine) -> float | None:
        t = self.table
        query = sa.select(sa.func.min(t.c.due_at)).where(t.c.status == "pending")
        with engine.connect() as conn:
            return conn.execute(query).scalar()

    def entries(self, engine, status: str | None = None, limit: int = 500) -> list[dict]:
        t = self.table
        query = sa.select(t).order_by(t.c.position.desc()).limit(limit)
        if status is not None:
            query = query.where(t.c.status == status)
        with engine.connect() as conn:
            return [dict(row._mapping) for row in conn.execute(query)]

    def counts(self, engine) -> dict:
        t = self.table
        query = sa.select(t.c.status, sa.func.count()).group_by(t.c.status)
        with engine.connect() as conn:
            return {status: n for status, n in conn.execute(query)}


@dataclass(frozen=True)
class _Recording:
    """What `project` reads of a recorded event, when the log is replayed."""

    domain_event: object
    notification: object


class Sends:
    """Mixin for an application that sends: its send-request and attempt event classes feed the
    outbox. The application answers `delivery(send_id)` (None once settled) and saves
    `record_attempt(delivery, outcome)`."""

    send_requested: tuple[type, ...] = ()
    send_attempted: tuple[type, ...] = ()
    #: events that reschedule a pending send (`due_at`) or drop it (`dropped=True`)
    send_moved: tuple[type, ...] = ()

    def define_tables(self, metadata: sa.MetaData) -> None:
        super().define_tables(metadata)
        self.outbox = Outbox(self.service, metadata)

    def project(self, session, recordings) -> None:
        super().project(session, recordings)
        self.outbox.project(
            session, recordings, self.send_requested, self.send_attempted, self.send_moved
        )

    def rebuild_outbox(self) -> int:
        return self.outbox.rebuild(self, self.send_requested, self.send_attempted, self.send_moved)

    def read_models(self) -> dict:
        return {
            **super().read_models(),
            "outbox": ReadModel((self.outbox.table,), self.rebuild_outbox),
        }
