"""The webhooks' read models: each subscription as it stands (its position moves with its
deliveries) and each delivery's state, written from the aggregates' events in their transaction
and rebuilt from the log; the queries the feeder, the RPC and the dashboard ask."""

import json

import sqlalchemy as sa

from services.notify.subscriptions import Subscription, WebhookDelivery
from shared.readmodels import rebuilding

POSITION = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


class WebhookViews:
    def __init__(self, metadata: sa.MetaData):
        self.subscriptions = sa.Table(
            "notify_webhooks",
            metadata,
            sa.Column("id", sa.String(36), primary_key=True),
            sa.Column("url", sa.Text, nullable=False),
            sa.Column("event_types", sa.Text, nullable=False),  # JSON list
            sa.Column("description", sa.Text, nullable=False),
            sa.Column("status", sa.String(8), nullable=False),
            sa.Column("paused_reason", sa.Text),
            sa.Column("round", sa.Integer, nullable=False),
            sa.Column("position", POSITION, nullable=False),  # the last journal entry sent on
            sa.Column("secret_hint", sa.String(16), nullable=False),
            sa.Column("created_at", sa.String(40), nullable=False),
            sa.Column("created_by", sa.Text, nullable=False),
        )
        self.deliveries = sa.Table(
            "notify_webhook_deliveries",
            metadata,
            sa.Column("id", sa.String(36), primary_key=True),
            sa.Column("subscription_id", sa.String(36), nullable=False),
            sa.Column("round", sa.Integer, nullable=False),
            sa.Column("seq", POSITION, nullable=False),
            sa.Column("event_id", sa.String(80), nullable=False),
            sa.Column("event_type", sa.String(120), nullable=False),
            # pending | delivered | dead | queued (a dead letter to go again) | dropped
            sa.Column("status", sa.String(10), nullable=False),
            sa.Column("attempts", sa.Integer, nullable=False),
            sa.Column("answer", sa.Text),
            sa.Column("updated_at", sa.String(40), nullable=False),
            sa.Index("notify_webhook_deliveries_by_status", "subscription_id", "status", "seq"),
        )

    # -- projection ------------------------------------------------------------------------------
    def project(self, session, recordings) -> None:
        for r in recordings:
            handler = _HANDLERS.get(type(r.domain_event))
            if handler is not None:
                handler(self, session, r.domain_event)

    def _created(self, session, e) -> None:
        session.execute(
            self.subscriptions.insert().values(
                id=str(e.originator_id),
                url=e.url,
                event_types=json.dumps(e.event_types),
                description=e.description,
                status="active",
                round=1,
                position=e.position,
                secret_hint=_hint(e.secret),
                created_at=e.timestamp.isoformat(),
                created_by=e.created_by,
            )
        )

    def _subscription(self, session, e, **values) -> None:
        s = self.subscriptions
        session.execute(s.update().where(s.c.id == str(e.originator_id)).values(**values))

    def _resumed(self, session, e) -> None:
        self._subscription(session, e, status="active", paused_reason=None)
        if e.redeliver:  # its dead letters go again, before anything new
            d = self.deliveries
            session.execute(
                d.update()
                .where(d.c.subscription_id == str(e.originator_id), d.c.status == "dead")
                .values(status="queued", updated_at=e.timestamp.isoformat())
            )

    def _requested(self, session, e) -> None:
        session.execute(
            self.deliveries.insert().values(
                id=str(e.originator_id),
                subscription_id=e.subscription_id,
                round=e.round,
                seq=e.seq,
                event_id=e.event_id,
                event_type=e.event_type,
                status="pending",
                attempts=0,
                updated_at=e.timestamp.isoformat(),
            )
        )
        s = self.subscriptions
        session.execute(
            s.update()
            .where(s.c.id == e.subscription_id, s.c.round == e.round, s.c.position < e.seq)
            .values(position=e.seq)
        )

    def _delivery(self, session, e, **values) -> None:
        d = self.deliveries
        values["updated_at"] = e.timestamp.isoformat()
        session.execute(d.update().where(d.c.id == str(e.originator_id)).values(**values))

    def _attempted(self, session, e) -> None:
        status = {"sent": "delivered", "failed": "dead"}.get(e.outcome, "pending")
        self._delivery(session, e, status=status, attempts=e.attempt, answer=e.answer[:2000])

    def rebuild(self, app) -> int:
        """Both tables emptied and written again from the whole log; returns the subscriptions."""
        with rebuilding(app, self.subscriptions, self.deliveries) as session:
            position = 0
            while batch := app.notifications_after(position, 2000):
                for n in batch:
                    self.project(session, [_Recording(app.mapper.to_domain_event(n))])
                position = batch[-1].id
            count = sa.select(sa.func.count()).select_from(self.subscriptions)
            return session.execute(count).scalar()

    # -- queries ---------------------------------------------------------------------------------
    def listed(self, engine, subscription_id: str | None = None) -> list[dict]:
        s, d = self.subscriptions, self.deliveries
        counts = (
            sa.select(d.c.subscription_id, d.c.status, sa.func.count().label("n"))
            .group_by(d.c.subscription_id, d.c.status)
            .subquery()
        )
        query = sa.select(s).where(s.c.status != "removed").order_by(s.c.created_at)
        if subscription_id is not None:
            query = sa.select(s).where(s.c.id == subscription_id)
        with engine.connect() as conn:
            rows = [dict(r._mapping) for r in conn.execute(query)]
            tally: dict = {}
            for sub, status, n in conn.execute(sa.select(counts)):
                tally.setdefault(sub, {})[status] = n
        for row in rows:
            row["event_types"] = json.loads(row["event_types"])
            row["deliveries"] = tally.get(row["id"], {})
        return rows

    def active(self, engine) -> list[dict]:
        s = self.subscriptions
        query = sa.select(s.c.id, s.c.round, s.c.position, s.c.event_types).where(
            s.c.status == "active"
        )
        with engine.connect() as conn:
            return [
                dict(r._mapping, event_types=json.loads(r.event_types)) for r in conn.execute(query)
            ]

    def next_of(self, engine, subscription_id: str, status: str) -> dict | None:
        """The earliest delivery of a subscription in `status` (pending, queued, …)."""
        d = self.deliveries
        query = (
            sa.select(d)
            .where(d.c.subscription_id == subscription_id, d.c.status == status)
            .order_by(d.c.seq)
            .limit(1)
        )
        with engine.connect() as conn:
            row = conn.execute(query).first()
        return None if row is None else dict(row._mapping)

    def dead_in_a_row(self, engine, subscription_id: str, limit: int) -> int:
        """How many of the subscription's latest settled deliveries in a row are dead letters."""
        d = self.deliveries
        query = (
            sa.select(d.c.status)
            .where(d.c.subscription_id == subscription_id, d.c.status.in_(("delivered", "dead")))
            .order_by(d.c.updated_at.desc(), d.c.seq.desc())
            .limit(limit)
        )
        with engine.connect() as conn:
            statuses = [row.status for row in conn.execute(query)]
        run = 0
        for status in statuses:
            if status != "dead":
                break
            run += 1
        return run

    def of(self, engine, subscription_id: str, status: str | None, limit: int) -> list[dict]:
        d = self.deliveries
        query = sa.select(d).where(d.c.subscription_id == subscription_id)
        if status is not None:
            query = query.where(d.c.status == status)
        with engine.connect() as conn:
            rows = conn.execute(query.order_by(d.c.seq.desc(), d.c.round.desc()).limit(limit))
            return [dict(r._mapping) for r in rows]

    def pending_ids(self, engine, subscription_id: str) -> list[str]:
        d = self.deliveries
        query = sa.select(d.c.id).where(
            d.c.subscription_id == subscription_id, d.c.status == "pending"
        )
        with engine.connect() as conn:
            return [row.id for row in conn.execute(query)]


def _hint(secret: str) -> str:
    return f"whsec_…{secret[-4:]}"


class _Recording:
    def __init__(self, domain_event):
        self.domain_event = domain_event


_HANDLERS = {
    Subscription.Created: WebhookViews._created,
    Subscription.SecretRotated: lambda v, s, e: v._subscription(s, e, secret_hint=_hint(e.secret)),
    Subscription.Rewound: lambda v, s, e: v._subscription(s, e, position=e.position, round=e.round),
    Subscription.Paused: lambda v, s, e: v._subscription(
        s, e, status="paused", paused_reason=e.reason
    ),
    Subscription.Resumed: WebhookViews._resumed,
    Subscription.Removed: lambda v, s, e: v._subscription(s, e, status="removed"),
    WebhookDelivery.Requested: WebhookViews._requested,
    WebhookDelivery.Requeued: lambda v, s, e: v._delivery(s, e, status="pending"),
    WebhookDelivery.Attempted: WebhookViews._attempted,
    WebhookDelivery.Dropped: lambda v, s, e: v._delivery(s, e, status="dropped"),
}
