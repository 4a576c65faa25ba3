"""Leases on the segments of an upstream's stream, kept in the consumer's own database: which
replica follows which segment (shared/segments.py).

A replica claims free or expired segments up to its fair share (the count divided by the replicas
seen alive, rounded up), renews what it holds every third of a lease, and releases what is over
its share when another replica joins; a replica that dies stops renewing, and after one lease its
segments are claimed by the others. Every transaction that saves a reaction first renews the
leases of the segments it tracks (`fence`): a replica that lost one meanwhile (paused past its
lease, then woken) finds it gone and rolls back, so nothing is done twice. Replicas that cut the
stream into another count than this one's are waited for: the two cuts must never run together.
"""

import math
import time
import uuid

import sqlalchemy as sa
from eventsourcing.persistence import IntegrityError

from shared import logging as oms_logging

log = oms_logging.get("leases")


def lease_tables(service: str, metadata: sa.MetaData) -> tuple[sa.Table, sa.Table]:
    leases = sa.Table(
        f"{service}_segment_lease",
        metadata,
        sa.Column("upstream", sa.String(64), primary_key=True),
        sa.Column("segment", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("owner", sa.String(128)),
        sa.Column("expires", sa.Float, nullable=False),  # seconds since the epoch
    )
    members = sa.Table(
        f"{service}_segment_member",
        metadata,
        sa.Column("upstream", sa.String(64), primary_key=True),
        sa.Column("owner", sa.String(128), primary_key=True),
        sa.Column("segments", sa.Integer, nullable=False),  # the count it cuts the stream into
        sa.Column("seen", sa.Float, nullable=False),
    )
    return leases, members


class LeaseLost(Exception):
    """A segment this replica tracked is no longer leased to it: its work is rolled back."""


class Leases:
    """The leases one replica's follower holds on one upstream's stream."""

    def __init__(self, app, upstream: str, count: int, seconds: float, instance: str):
        self.app, self.upstream, self.count, self.seconds = app, upstream, count, seconds
        self.leases, self.members = app.segment_leases, app.segment_members
        self.owner = f"{instance}:{uuid.uuid4().hex[:8]}"  # this follower, not only this process
        self.held: set[int] = set()
        self._renewed = 0.0
        self._rows_made = False

    def due(self) -> bool:
        return time.monotonic() - self._renewed >= self.seconds / 3

    def renew(self) -> tuple[set[int], int]:
        """Say this replica is alive, renew what it holds: (the segments it lost, its fair share;
        0 while replicas cutting the stream otherwise are alive)."""
        now = time.time()
        lease, member = self.leases.c, self.members.c
        self._ensure_rows()
        with self.app.transaction() as conn:
            done = conn.execute(
                self.members.update()
                .where(member.upstream == self.upstream, member.owner == self.owner)
                .values(seen=now, segments=self.count)
            ).rowcount
            if not done:
                conn.execute(
                    self.members.insert().values(
                        upstream=self.upstream, owner=self.owner, segments=self.count, seen=now
                    )
                )
            conn.execute(
                self.leases.update()
                .where(lease.upstream == self.upstream, lease.owner == self.owner)
                .values(expires=now + self.seconds)
            )
            held = conn.execute(
                sa.select(lease.segment).where(
                    lease.upstream == self.upstream, lease.owner == self.owner
                )
            )
            held = {row[0] for row in held}
            alive = conn.execute(
                sa.select(member.segments).where(
                    member.upstream == self.upstream, member.seen > now - self.seconds
                )
            ).all()
            conn.execute(  # replicas gone for long: forget them
                self.members.delete().where(
                    member.upstream == self.upstream, member.seen < now - 20 * self.seconds
                )
            )
        self._renewed = time.monotonic()
        lost, self.held = self.held - held, held
        if any(n != self.count for (n,) in alive):
            log.warning("other_segment_count_alive", upstream=self.upstream, count=self.count)
            return lost, 0
        return lost, math.ceil(self.count / max(1, len(alive)))

    def claim(self, wanted: int) -> set[int]:
        """Claim up to `wanted` free or expired segments; the ones claimed."""
        if wanted <= 0:
            return set()
        now, lease = time.time(), self.leases.c
        start = hash(self.owner) % self.count  # replicas starting together try different ones
        order = [(start + i) % self.count for i in range(self.count)]
        claimed = set()
        with self.app.transaction() as conn:
            for segment in order:
                if len(claimed) >= wanted:
                    break
                if segment in self.held:
                    continue
                taken = conn.execute(
                    self.leases.update()
                    .where(
                        lease.upstream == self.upstream,
                        lease.segment == segment,
                        sa.or_(lease.owner.is_(None), lease.expires < now),
                    )
                    .values(owner=self.owner, expires=now + self.seconds)
                ).rowcount
                if taken:
                    claimed.add(segment)
        self.held |= claimed
        if claimed:
            log.info("segments_claimed", upstream=self.upstream, segments=sorted(claimed))
        return claimed

    def release(self, segments) -> None:
        segments = set(segments) & self.held
        if not segments:
            return
        lease = self.leases.c
        with self.app.transaction() as conn:
            conn.execute(
                self.leases.update()
                .where(
                    lease.upstream == self.upstream,
                    lease.owner == self.owner,
                    lease.segment.in_(sorted(segments)),
                )
                .values(owner=None, expires=0.0)
            )
        self.held -= segments
        log.info("segments_released", upstream=self.upstream, segments=sorted(segments))

    def leave(self) -> None:
        """Stopping: give every segment back at once, and stop counting as a replica."""
        try:
            self.release(set(self.held))
            with self.app.transaction() as conn:
                conn.execute(
                    self.members.delete().where(
                        self.members.c.upstream == self.upstream,
                        self.members.c.owner == self.owner,
                    )
                )
        except Exception as exc:  # noqa: BLE001 - the store is away: the leases run out instead
            log.info("leases_left_to_expire", upstream=self.upstream, error=repr(exc))

    def fence(self, session, segments) -> None:
        """In a transaction about to track `segments`: renew their leases, or raise LeaseLost if
        any is no longer this replica's (the row lock also holds off a claim until commit)."""
        segments = sorted(set(segments))
        if not segments:
            return
        lease = self.leases.c
        renewed = session.execute(
            self.leases.update()
            .where(
                lease.upstream == self.upstream,
                lease.owner == self.owner,
                lease.segment.in_(segments),
            )
            .values(expires=time.time() + self.seconds)
        ).rowcount
        if renewed != len(segments):
            raise LeaseLost(f"{self.upstream} segments {segments}: {renewed} still leased")

    def _ensure_rows(self) -> None:
        """A lease row for every segment (once per follower)."""
        if self._rows_made:
            return
        lease = self.leases.c
        with self.app.engine.connect() as conn:
            existing = {
                row[0]
                for row in conn.execute(
                    sa.select(lease.segment).where(lease.upstream == self.upstream)
                )
            }
        for segment in range(self.count):
            if segment in existing:
                continue
            try:
                with self.app.transaction() as session:
                    session.execute(
                        self.leases.insert().values(
                            upstream=self.upstream, segment=segment, owner=None, expires=0.0
                        )
                    )
            except (sa.exc.IntegrityError, IntegrityError):
                pass  # another replica made it first
        self._rows_made = True


def holders(app, upstream: str) -> dict:
    """Who follows which part of an upstream's stream now: its segment count, the segments each
    live replica (by instance) holds, and how many no live replica holds."""
    count, lease = app.segments(upstream), app.segment_leases.c
    query = sa.select(lease.segment, lease.owner).where(
        lease.upstream == upstream,
        lease.segment < count,
        lease.owner.is_not(None),
        lease.expires > time.time(),
    )
    with app.engine.connect() as conn:
        rows = conn.execute(query).all()
    replicas: dict[str, list[int]] = {}
    for segment, owner in rows:
        replicas.setdefault(owner.rsplit(":", 1)[0], []).append(segment)
    return {
        "count": count,
        "replicas": {name: sorted(held) for name, held in sorted(replicas.items())},
        "unheld": count - len(rows),
    }
