"""What a service consumed from each upstream and how it reacts to it: the policy as a table
(`reactions`), the tracking records — one per segment of a stream several replicas share out
(shared/segments.py) — and a reaction saved with its record in one transaction, alone or in a
batch. Mixed into shared.store.ServiceApplication."""

from collections.abc import Mapping

from eventsourcing.application import ProcessingEvent
from eventsourcing.persistence import Tracking

from shared import context, sealing, segments
from shared.integration_log import bound_names


class Reactions:
    #: the upstream services whose events this one reacts to
    follows: tuple[str, ...] = ()
    #: the policy as a table: upstream event type -> the method that reacts to it (it takes the
    #: envelope and returns the new or changed aggregates); other events change nothing
    reactions: Mapping[str, str] = {}
    #: the upstreams whose streams several replicas may share out by aggregate (the policy needs
    #: per-aggregate order only: `segment_key`); the others are followed by one at a time
    partitioned: frozenset[str] = frozenset()
    #: the upstream event types whose reactions open clients' sealed details (to render a
    #: document, say): their keys are fetched before the reaction's transaction (`prepare`)
    opening: frozenset[str] = frozenset()

    def segments(self, upstream: str) -> int:
        """How many segments the upstream's stream is cut into (shared/segments.py)."""
        return self.settings.follower_segments if upstream in self.partitioned else 1

    def segment_key(self, envelope: dict) -> str | None:
        """What an event's segment is chosen by: its aggregate. None puts it in every segment
        (a policy says so for events whose reaction is idempotent and others depend on)."""
        return envelope["subject"]

    def tracking_for(self, upstream: str, envelope: dict) -> Tracking | None:
        """The tracking record of an upstream event, in its segment (None: in every segment)."""
        key, count = self.segment_key(envelope), self.segments(upstream)
        if key is None:
            return None
        name = segments.stream_name(upstream, segments.segment_of(key, count), count)
        return Tracking(name, envelope["sequence"])

    def track_all(self, upstream: str, position: int) -> None:
        """Record every segment of `upstream` as done up to `position` (where it is behind)."""
        count = self.segments(upstream)
        with self.transaction():
            for segment, stands in segments.positions(self, upstream, count).items():
                if stands < position:
                    name = segments.stream_name(upstream, segment, count)
                    self.save_reaction(Tracking(name, position))

    def tracked_position(self, upstream: str) -> int:
        """Every event of `upstream` is done up to here (the segment furthest behind)."""
        return min(segments.positions(self, upstream, self.segments(upstream)).values())

    def save_reaction(self, tracking: Tracking | None, *aggregates) -> None:
        """Save what an upstream event led to together with its tracking record (even if nothing)."""
        processing_event = ProcessingEvent(tracking=tracking)
        processing_event.collect_events(*aggregates)
        self._record(processing_event)

    def handle(self, envelope: dict, tracking: Tracking) -> None:
        """React to an upstream event and save the reaction with its tracking record, all in one
        transaction (so a reaction may also take numbers or write rows that must commit with it)."""
        with self.transaction():
            self.save_reaction(tracking, *self.react(envelope))

    def handle_batch(self, envelopes: list[dict], trackings: list[Tracking]) -> None:
        """React to consecutive upstream events in one transaction with the tracking records of
        the segments they touch (each may lie past the last of them: private events between).
        Each reaction is saved as it is made, under its own event's correlation, so the next one
        reads it; an event that changes nothing costs nothing. If any reaction fails, nothing of
        the batch is saved (the caller goes on one event at a time)."""
        with self.transaction() as session:
            if len(envelopes) > 1:
                self.lock_log(session)  # a later reaction may take a number: the log first
            for env in envelopes:
                with context.bound(correlation_id=env["correlationid"], causation_id=env["id"]):
                    aggregates = self.react(env)
                    if aggregates:
                        processing_event = ProcessingEvent()
                        processing_event.collect_events(*aggregates)
                        self._record(processing_event)
            for tracking in trackings:
                self.save_reaction(tracking)

    def bound_names(self, upstream: str) -> list[str]:
        """The names of `upstream`'s events this service's queue is bound to (`#`: all)."""
        return bound_names(self.reactions, upstream)

    def reacts_to(self, event_type: str) -> bool:
        """Does any reaction of this service follow events of this type (`orders.order_placed`)?"""
        return event_type in self.reactions

    def prepare(self, envelopes: list[dict]) -> None:
        """Called by the follower before the transaction `envelopes` are reacted to in: fetch the
        keys of the clients' details that reactions `opening` them will open, so that no
        transaction waits on the network while it holds the store — on SQLite, any other writer
        of the process then waits inside SQLite, where eventlet cannot switch, and the whole
        process stalls. Within the keyring's time the opening then asks nothing."""
        subjects = sealing.subjects_in([e["data"] for e in envelopes if e["type"] in self.opening])
        if subjects:
            self.keyring.keys(sorted(subjects))

    def react(self, envelope: dict) -> list:
        """The policy: the new or changed aggregates an upstream event leads to (saved by the
        caller), by `reactions`."""
        method = self.reactions.get(envelope["type"])
        return getattr(self, method)(envelope) if method else []
