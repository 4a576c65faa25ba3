"""The event store's recorder: the eventsourcing-sqlalchemy recorder with its hot paths as Core
statements, a connection pool sized for a service, and the factory a store URL selects."""

import sqlalchemy as sa
from eventsourcing.persistence import IntegrityError, Notification, StoredEvent, Tracking
from eventsourcing_sqlalchemy.datastore import SQLAlchemyDatastore
from eventsourcing_sqlalchemy.factory import SQLAlchemyFactory
from eventsourcing_sqlalchemy.recorders import SQLAlchemyProcessRecorder


class Datastore(SQLAlchemyDatastore):
    """Adds a connection pool big enough for a service's workers, relay and followers."""

    def __init__(self, *, url: str | None = None, **kwargs):
        if url and url.startswith("postgresql"):
            kwargs.setdefault("pool_size", 10)
            kwargs.setdefault("max_overflow", 30)
            kwargs.setdefault("pool_pre_ping", True)
        super().__init__(url=url, **kwargs)


class ProcessRecorder(SQLAlchemyProcessRecorder):
    """The library's recorder with its hot paths as Core statements on its own tables: events are
    read and inserted without the ORM's query and unit-of-work machinery (about a third of each
    service's CPU under load went there), and without the PostgreSQL NOTIFY nobody listens to.
    The table lock before inserting, which keeps notification ids committing in id order, stays.
    A tracking position moves with one UPDATE in the common case (the library issues three ORM
    queries), and a position already reached is refused even when two transactions race for it."""

    def select_events(self, originator_id, gt=None, lte=None, desc=False, limit=None):
        table = self.events_record_cls.__table__
        c = table.c
        query = sa.select(c.originator_id, c.originator_version, c.topic, c.state).where(
            c.originator_id == originator_id
        )
        if gt is not None:
            query = query.where(c.originator_version > gt)
        if lte is not None:
            query = query.where(c.originator_version <= lte)
        query = query.order_by(c.originator_version.desc() if desc else c.originator_version)
        if limit is not None:
            query = query.limit(limit)
        with self.transaction(commit=False) as session:
            rows = session.connection().execute(query).all()
        return [
            StoredEvent(originator_id=r[0], originator_version=r[1], topic=r[2], state=_bytes(r[3]))
            for r in rows
        ]

    def select_notifications_of(self, originator_ids) -> list[Notification]:
        """Every stored event of these aggregates as a notification, in log order."""
        c = self.events_record_cls.__table__.c
        query = (
            sa.select(c.id, c.originator_id, c.originator_version, c.topic, c.state)
            .where(c.originator_id.in_(list(originator_ids)))
            .order_by(c.id)
        )
        return self._notifications(query)

    def _notifications(self, query) -> list[Notification]:
        with self.transaction(commit=False) as session:
            rows = session.connection().execute(query).all()
        return [
            Notification(
                id=r[0], originator_id=r[1], originator_version=r[2], topic=r[3], state=_bytes(r[4])
            )
            for r in rows
        ]

    def select_notifications(
        self, start, limit, stop=None, topics=(), *, inclusive_of_start=True
    ) -> list[Notification]:
        c = self.events_record_cls.__table__.c
        query = sa.select(c.id, c.originator_id, c.originator_version, c.topic, c.state)
        if start is not None:
            query = query.where(c.id >= start if inclusive_of_start else c.id > start)
        if stop is not None:
            query = query.where(c.id <= stop)
        if topics:
            query = query.where(c.topic.in_(topics))
        return self._notifications(query.order_by(c.id).limit(limit))

    def _insert_stored_events(self, session, stored_events, **kwargs) -> list[int]:
        table = self.events_record_cls.__table__
        rows = [
            {
                "originator_id": e.originator_id,
                "originator_version": e.originator_version,
                "topic": e.topic,
                "state": e.state,
            }
            for e in stored_events
        ]
        if not rows:
            return []
        self._lock_table(session)
        conn = session.connection()
        if len(rows) == 1:
            return [conn.execute(table.insert().returning(table.c.id), rows[0]).scalar_one()]
        statement = table.insert().returning(table.c.id, sort_by_parameter_order=True)
        return [r[0] for r in conn.execute(statement, rows)]

    def _insert_tracking(self, session, tracking: Tracking) -> None:
        table, name = self.tracking_table, tracking.application_name
        moved = session.execute(
            table.update()
            .where(
                table.c.application_name == name, table.c.notification_id < tracking.notification_id
            )
            .values(notification_id=tracking.notification_id)
        ).rowcount
        if moved:
            return
        query = sa.select(table.c.notification_id).where(table.c.application_name == name)
        reached = session.execute(query).scalar()
        if reached is not None:
            raise IntegrityError(
                f"{name} position {tracking.notification_id} already tracked ({reached})"
            )
        session.execute(
            table.insert().values(application_name=name, notification_id=tracking.notification_id)
        )


def _bytes(state) -> bytes:
    return bytes(state) if isinstance(state, memoryview) else state


class Factory(SQLAlchemyFactory):
    datastore_class = Datastore
    process_recorder_class = ProcessRecorder


def environment(url: str) -> dict:
    """The eventsourcing settings of a store at `url` (SQLite or PostgreSQL)."""
    return {"PERSISTENCE_MODULE": "shared.recorder:Factory", "SQLALCHEMY_URL": url}
