"""A service's log as integration events: each notification mapped by the service's publishing
map to its public contract and wrapped in a CloudEvents envelope — what the relay publishes and
what `events_after` / `events_page` answer — and where the log, its relay and its followers stand."""

import json
from collections.abc import Iterable
from datetime import UTC, datetime

import sqlalchemy as sa
from eventsourcing.persistence import Notification

from shared import envelope
from shared.contracts import contract_for, dump
from shared.leases import holders


class IntegrationLog:
    """Mixed into `ServiceApplication` (which defines `published`, `event_meta`,
    `relay_positions`, `recorder`, `mapper`, `parking` and `tracked_position`)."""

    def integration_event(self, domain_event) -> tuple[str, dict] | None:
        """A private domain event as its public (name, data), or None if it is not published."""
        rule = self.published.get(type(domain_event))
        return rule.event(self, domain_event) if rule else None

    def notifications_after(self, position: int, limit: int) -> list[Notification]:
        return self.recorder.select_notifications(position, limit, inclusive_of_start=False)

    def last_position(self) -> int:
        return self.recorder.max_notification_id() or 0

    def envelopes(self, notifications: Iterable[Notification]) -> list[dict]:
        notifications = list(notifications)
        metas = self._metas([n.id for n in notifications])
        result = []
        for n in notifications:
            domain_event = self.mapper.to_domain_event(n)
            mapped = self.integration_event(domain_event)
            if mapped is None:
                continue
            name, data = mapped
            meta = metas.get(n.id, {})
            result.append(
                envelope.build(
                    self.service,
                    n.id,
                    name,
                    contract_for(f"{self.service}.{name}").version,
                    str(n.originator_id),
                    _iso(domain_event.timestamp),
                    dump(f"{self.service}.{name}", data),
                    meta.get("correlation_id"),
                    meta.get("causation_id"),
                )
            )
        return result

    def order_aggregates(self, order_id: str) -> list:
        """The ids of this service's aggregates that belong to an order (for its timeline)."""
        return []

    def order_events(self, order_id: str, until: str | None = None) -> list[dict]:
        """The integration events of an order's aggregates here, in log order (up to an ISO
        time `until`): this service's part of the order's timeline."""
        ids = self.order_aggregates(order_id)
        if not ids:
            return []
        events = self.envelopes(self.recorder.select_notifications_of(ids))
        return [e for e in events if until is None or e["time"] <= until]

    def events_after(self, position: int, limit: int) -> list[dict]:
        """The integration events among the `limit` notifications after `position`."""
        return self.envelopes(self.notifications_after(position, limit))

    def events_page(self, position: int, limit: int) -> dict:
        """Like `events_after`, saying how far it scanned: private events publish nothing, so a
        page of them is empty and yet the reader must move past it. `more` says whether the page
        was full (read on from `scanned_to`)."""
        notifications = self.notifications_after(position, limit)
        return {
            "events": self.envelopes(notifications),
            "scanned_to": notifications[-1].id if notifications else position,
            "more": len(notifications) == limit,
        }

    def _metas(self, positions: list[int]) -> dict[int, dict]:
        if not positions:
            return {}
        query = sa.select(self.event_meta).where(self.event_meta.c.position.in_(positions))
        with self.engine.connect() as conn:
            return {row.position: row._asdict() for row in conn.execute(query)}

    def relay_state(self) -> tuple[int, int]:
        """(position the relay has read up to, last position it published)."""
        query = sa.select(self.relay_positions).where(self.relay_positions.c.relay == "main")
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        return (row.position, row.published or 0) if row else (0, 0)

    def relay_vector(self) -> dict[str, int] | None:
        """The last position the relay published of each event name (None: not recorded, a log
        relayed before the relay kept it)."""
        query = sa.select(self.relay_positions.c.published_by_type).where(
            self.relay_positions.c.relay == "main"
        )
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        if row is None:
            return {}
        return json.loads(row[0]) if row[0] else None

    def published_until(self, position: int) -> tuple[int, dict[str, int]]:
        """Read the log up to `position` once: (the last event published, the last of each
        event name). For a relay that takes over a log relayed before it kept them."""
        last, by_type, at = 0, {}, 0
        while at < position:
            notifications = [n for n in self.notifications_after(at, 500) if n.id <= position]
            if not notifications:
                break
            for env in self.envelopes(notifications):
                last = by_type[envelope.name_of(env)] = env["sequence"]
            at = notifications[-1].id
        return last, by_type

    def status(self) -> dict:
        """Where the log, the relay, the parked events and each upstream's tracking stand.

        `last_published` is the newest position followers have to see: the relay's last
        published event, or the end of the log while the relay has not read it all."""
        last = self.last_position()
        relayed, published = self.relay_state()
        return {
            "service": self.service,
            "last_position": last,
            "relayed_position": relayed,
            "last_published": published if relayed >= last else last,
            "published_by_type": self.relay_vector() or {},
            # the names of each upstream's events this service's queue is bound to
            "bound": {upstream: self.bound_names(upstream) for upstream in self.follows},
            "tracking": {upstream: self.tracked_position(upstream) for upstream in self.follows},
            # which replica follows which segments of each upstream's stream (shared/leases.py)
            "segments": {upstream: holders(self, upstream) for upstream in self.follows},
            **self.parking.summary(),  # parked, waiting, oldest_unseen_parked
        }


def bound_names(reactions, upstream: str) -> list[str]:
    """The names of `upstream`'s events a service reacts to: what its follower's queue is bound to."""
    prefix = f"{upstream}."
    return sorted(t.removeprefix(prefix) for t in reactions if t.startswith(prefix))


def last_sent(upstream: dict, names: list[str]) -> int:
    """The last event an upstream (its `status()`) published of `names`: what a follower bound to
    them has to reach. An upstream that does not say per name: its last published event. While
    its relay's saved position is behind its log (saved every 0.25 s and when quiet; not at all
    while its disk is full), the names' positions may be stale: the end of the log, then."""
    if upstream.get("relayed_position", 0) < upstream.get("last_position", 0):
        return upstream["last_position"]
    by_type = upstream.get("published_by_type")
    if "#" in names or (not by_type and upstream.get("last_published")):
        return upstream.get("last_published") or 0
    return max((by_type.get(name, 0) for name in names), default=0)


def _iso(ts: datetime) -> str:
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=UTC)
    return ts.isoformat()
