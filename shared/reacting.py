"""How a follower does the events of the segments it holds: in batches, each one transaction that
renews the leases of the segments it tracks, saves the reactions and moves those segments'
tracking records on; a batch that fails, one event at a time, with retries and then parking. An
event about an aggregate with a parked event waits behind it (shared/parking.py)."""

import eventlet
from eventsourcing.persistence import IntegrityError, Tracking

from shared import context, faults, metrics, segments
from shared import logging as oms_logging
from shared.leases import LeaseLost
from shared.store import STORE_DOWN

log = oms_logging.get("follower")


class Reacting:
    """The follower's side that saves (mixed into shared.follower.Follower: `app`, `parking`,
    `upstream`, `count`, `leases`, `done`, `tracked`, `heard`, `seen`, `settings`)."""

    def segment(self, env: dict) -> int | None:
        """The segment an event belongs to; None: every segment (an idempotent reaction)."""
        key = self.app.segment_key(env)
        return None if key is None else segments.segment_of(key, self.count)

    def _wanted(self, env: dict) -> bool:
        """Is the event of a segment this replica holds, and not done yet?"""
        segment = self.segment(env)
        if segment is None:
            return any(position < env["sequence"] for position in self.done.values())
        return segment in self.done and self.done[segment] < env["sequence"]

    def _tracking(self, segment: int, position: int) -> Tracking:
        return Tracking(segments.stream_name(self.upstream, segment, self.count), position)

    def _advance(self, up_to: int, tracked=()) -> None:
        """Every held segment is done up to `up_to`; those in `tracked` are recorded there."""
        self.heard = max(self.heard, up_to)
        for segment in self.done:
            self.done[segment] = max(self.done[segment], up_to)
        for segment in tracked:
            self.tracked[segment] = up_to

    def process_batch(self, envs: list[dict], up_to: int = 0) -> None:
        """Consecutive events (and everything up to `up_to`, private to the upstream) in one
        transaction; if a reaction fails or an event's aggregate is held by a parked one, one by
        one instead, each with its retries and parking."""
        up_to = max([up_to, *(env["sequence"] for env in envs)])
        if up_to <= self.position:
            return
        self.seen = max(self.seen, up_to)
        mine = [env for env in envs if self._wanted(env)]
        metrics.CONSUMED.labels(self.app.service, self.upstream).inc(len(mine))
        reacting = [env for env in mine if self.app.reacts_to(env["type"])]
        if not reacting:
            # nothing to save: the tracking records wait for the next reaction or a quiet moment
            # (a crash meanwhile only has these events read again, and ignored again)
            self._advance(up_to)
            return
        if not any(self.parking.holds(self.upstream, env["subject"]) for env in reacting):
            touched = {s for s in map(self.segment, reacting) if s is not None}
            # and those whose record lags far behind (under steady load no quiet moment comes)
            far = self.settings.follower_pull_limit
            touched |= {s for s, stands in self.tracked.items() if up_to - stands > far}
            try:
                for env in reacting:
                    faults.fail_reaction(env)
                self.app.prepare(reacting)  # before the transaction: it may call other services
                with self.app.transaction() as session:
                    self.leases.fence(session, touched)
                    self.app.handle_batch(reacting, [self._tracking(s, up_to) for s in touched])
                self._advance(up_to, touched)
                metrics.reacted(self.app.service, self.upstream, reacting)
                eventlet.sleep(0)  # SQLite calls never yield: let RPC workers in between batches
                return
            except (*STORE_DOWN, LeaseLost):
                raise  # an outage is not a poison event: never park it; start over once it ends
            except Exception as exc:  # noqa: BLE001 - sorted out one event at a time below
                log.info(
                    "batch_one_by_one", upstream=self.upstream, events=len(envs), error=repr(exc)
                )
        for env in reacting:
            self.process(env)
        self._advance(up_to)

    def save_tracking(self) -> None:
        """Record the positions reached through events nothing reacted to."""
        behind = {s: p for s, p in self.done.items() if p > self.tracked[s]}
        if not behind:
            return
        try:
            with self.app.transaction() as session:
                self.leases.fence(session, behind)
                for segment, position in behind.items():
                    self.app.save_reaction(self._tracking(segment, position))
        except IntegrityError:
            pass  # recorded already (a redelivered page)
        self.tracked.update(behind)

    def process(self, env: dict) -> None:
        segment = self.segment(env)
        tracking = None if segment is None else self._tracking(segment, env["sequence"])
        with context.bound(correlation_id=env["correlationid"], causation_id=env["id"]):
            if self.parking.holds(self.upstream, env["subject"]):
                with self.parking.lock:  # a retry may be releasing this subject right now
                    if self.parking.holds(self.upstream, env["subject"]):
                        self._fenced(segment, lambda: self.parking.park_behind(env, tracking))
                    else:
                        self._react(env, tracking, segment)
            else:
                self._react(env, tracking, segment)
        if segment is not None:
            self.done[segment] = self.tracked[segment] = env["sequence"]
        eventlet.sleep(0)  # SQLite calls never yield: let RPC workers in between events

    def _fenced(self, segment: int | None, save) -> None:
        """`save()` in one transaction with the renewal of the segment's lease."""
        with self.app.transaction() as session:
            self.leases.fence(session, [] if segment is None else [segment])
            save()

    def _react(self, env: dict, tracking: Tracking | None, segment: int | None) -> None:
        """Apply the reaction, retrying with backoff; after the last try, park it."""
        error = None
        for attempt in range(1, self.settings.reaction_attempts + 1):
            try:
                faults.fail_reaction(env)
                self.app.prepare([env])
                self._fenced(segment, lambda: self.app.handle(env, tracking))
                metrics.reacted(self.app.service, self.upstream, [env])
                return
            except IntegrityError as exc:
                if tracking and self._stands_at(tracking) >= tracking.notification_id:
                    return  # recorded already
                error = exc  # a command changed the aggregate meanwhile: read it again
                log.info("reaction_raced", event_id=env["id"], attempt=attempt)
                continue
            except (*STORE_DOWN, LeaseLost):
                raise  # an outage is not a poison event: never park it; start over once it ends
            except Exception as exc:  # noqa: BLE001 - any failing reaction is retried, then parked
                error = exc
            log.warning("reaction_failed", event_id=env["id"], attempt=attempt, error=repr(error))
            eventlet.sleep(self.settings.reaction_backoff_seconds * 2 ** (attempt - 1))
        attempts = self.settings.reaction_attempts
        self._fenced(segment, lambda: self.parking.park(env, tracking, error, attempts))

    def _stands_at(self, tracking: Tracking) -> int:
        return self.app.recorder.max_tracking_id(tracking.application_name) or 0
