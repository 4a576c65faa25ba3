"""The nameko side of the reliability core: RPC methods whose domain refusals reach callers as
typed errors, the dependency that runs the application with its relay and followers, and the RPC
every service offers over its own log. (The entrypoint itself is shared/rpc.py.)"""

import functools
import time

import nameko.rpc
from nameko.extensions import DependencyProvider

from shared import actors, context, metrics, readmodels, settings
from shared import logging as oms_logging
from shared.errors import (
    EXPECTED,
    Forbidden,
    NotFound,
    Unauthenticated,
    Unavailable,
    ValidationFailed,
    translated,
)
from shared.follower import Follower
from shared.paging import CursorRefused
from shared.refusals import Missing, Refused
from shared.relay import Relay
from shared.rpc import REQUEST_ID, rpc
from shared.sender import Backoff, Sender
from shared.store import STORE_DOWN
from shared.validation import reason_of

log = oms_logging.get("rpc")


# -- the translation of domain refusals at the RPC edge (the table is shared.errors.translated) --
def command(method):
    """An RPC method whose domain refusals reach callers as typed errors."""

    @functools.wraps(method)
    def wrapper(*args, **kwargs):
        try:
            return method(*args, **kwargs)
        except (Refused, Missing, CursorRefused) as exc:
            raise translated(exc) from None
        except STORE_DOWN as exc:
            log.warning("store_unavailable", error=repr(exc)[:300])
            raise Unavailable(
                "the service's store is unavailable; nothing was done: retry later", {}
            ) from None

    return rpc(expected_exceptions=EXPECTED)(wrapper)


# -- who is calling ---------------------------------------------------------------------------------
class Callers(DependencyProvider):
    """Binds each worker's correlation context, with the caller its actor token names (verified
    here, once per request; `who` then answers from it)."""

    def setup(self):
        self.settings = settings.Settings.load(self.container.config)

    def worker_setup(self, worker_ctx):
        worker_ctx._oms_started = time.perf_counter()
        data = worker_ctx.context_data
        request = data.get(REQUEST_ID)
        causation = context.request_causation(request) if request else f"rpc:{worker_ctx.call_id}"
        caller, problem = {}, None
        try:
            caller = actors.verify(self.settings.actor_secret, data.get(actors.TOKEN_KEY))
        except actors.BadToken as exc:
            problem = str(exc)
        worker_ctx._oms_token = context.enter(
            correlation_id=data.get("correlation_id"),
            causation_id=causation,
            actor=caller.get("name"),
            role=caller.get("role"),
            auth_problem=problem,
            request_id=request,
            if_match=_version(data.get("if_match")),
        )

    def worker_teardown(self, worker_ctx):
        started = getattr(worker_ctx, "_oms_started", None)
        if started is not None and isinstance(worker_ctx.entrypoint, nameko.rpc.Rpc):
            method = worker_ctx.entrypoint.method_name
            elapsed = time.perf_counter() - started
            metrics.RPC.labels(self.container.service_name, method).observe(elapsed)
        token = getattr(worker_ctx, "_oms_token", None)
        if token is not None:
            context.exit(token)


# -- the application, its relay and its followers --------------------------------------------------
class EventSourced(Callers):
    """Builds the service's application once, runs its relay and followers, lends it to workers.

    Settings come from the environment, overridden by the container's config (`INVOICE_ON`,
    `DATABASE_URLS: {service: url}`, …), read once when the container is set up.
    """

    def __init__(self, app_class, channels=None, workers=()):
        """`channels(settings) -> {name: channel}`: the service sends to third parties, through
        a sender of its own (shared/sender.py) that runs beside the relay. `workers`: more
        threads beside it, each `make(app, settings)` -> an object with `run()` and `stop()`."""
        self.app_class, self.channels, self.worker_makers = app_class, channels, workers
        self.sender = None
        self.workers = []

    def setup(self):
        service = self.app_class.service
        config = self.container.config
        self.settings = settings.Settings.load(config)
        self.app = self.app_class(settings.database_url(service, config), self.settings)
        self.relay = Relay(
            self.app,
            self.settings.amqp_uri,
            self.settings.relay_poll_seconds,
            heartbeat=self.settings.heartbeat,
        )
        self.app.add_listener(self.relay.prompt)
        self.followers = [
            Follower(self.app, upstream, self.settings) for upstream in self.app_class.follows
        ]
        if self.channels is not None:
            self.sender = make_sender(self.app, self.channels(self.settings), self.settings)
            self.app.add_listener(self.sender.prompt)
        self.workers = [make(self.app, self.settings) for make in self.worker_makers]

    def start(self):
        metrics.watch(self.app, self.followers)
        metrics.serve(self.settings.metrics_address)
        self.container.spawn_managed_thread(self.relay.run, identifier=f"{self.app.service}.relay")
        for follower in self.followers:
            self.container.spawn_managed_thread(
                follower.run, identifier=f"follower.{follower.upstream}"
            )
        if self.sender is not None:
            self.container.spawn_managed_thread(self.sender.run, identifier="sender")
        for worker in self.workers:
            self.container.spawn_managed_thread(worker.run, identifier=type(worker).__name__)

    def stop(self):
        metrics.forget(self.app)
        self.relay.stop()
        if self.sender is not None:
            self.sender.stop()
        for worker in self.workers:
            worker.stop()
        for follower in self.followers:
            follower.stop()

    def kill(self):
        self.stop()

    def get_dependency(self, worker_ctx):
        return self.app


def make_sender(app, channels: dict, s: settings.Settings) -> Sender:
    """The sender of a service's application, with the retry schedules the settings give (one
    for webhooks, which retry over hours; one for everything else)."""
    backoff = Backoff(s.send_backoff_seconds, s.send_backoff_max_seconds, s.send_max_attempts)
    webhooks = Backoff(
        s.webhook_backoff_seconds, s.webhook_backoff_max_seconds, s.webhook_max_attempts
    )
    return Sender(app, channels, backoff, s.send_poll_seconds, backoffs={"webhook": webhooks})


# -- argument checks every service shares -----------------------------------------------------------
def check_id(**values) -> None:
    """Ids cross RPC as strings; anything else is refused by name."""
    bad = {
        k: ["Must be an id string."]
        for k, v in values.items()
        if not isinstance(v, str) or not 0 < len(v) <= 64
    }
    if bad:
        raise ValidationFailed("invalid id", bad)


def who(needed: str = "operator") -> str:
    """The acting caller, from the actor token its request carried (shared/actors.py), if its
    role may do what `needed` may; the name in the token is what events record."""
    ctx = context.current()
    actor = ctx.get("actor")
    if not actor:
        problem = ctx.get("auth_problem") or "no actor token was sent"
        raise Unauthenticated(
            f"who is acting? {problem}",
            {actors.TOKEN_KEY: ["Required: a valid actor token in the RPC context."]},
        )
    if not actors.allows(ctx.get("role"), needed):
        raise Forbidden(
            f"{actor} ({ctx.get('role')}) may not do this: it takes the {needed} role",
            {"needed": needed, "role": ctx.get("role")},
        )
    return actor


def _version(value) -> int | None:
    """The `if_match` context entry: the aggregate version a caller expects (an int or digits)."""
    if isinstance(value, str) and value.isdigit() and len(value) < 12:
        return int(value)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def whole(value, field: str, low: int = 0, high: int | None = None) -> int:
    if (
        not isinstance(value, int)
        or isinstance(value, bool)
        or value < low
        or (high is not None and value > high)
    ):
        bounds = f"from {low} to {high}" if high is not None else f"{low} or more"
        raise ValidationFailed(f"invalid {field}", {field: [f"Must be a whole number {bounds}."]})
    return value


def check_position(position, limit) -> None:
    errors = {}
    for field, value, low, high in (("position", position, 0, None), ("limit", limit, 1, 1000)):
        try:
            whole(value, field, low, high)
        except ValidationFailed as exc:
            errors.update(exc.details)
    if errors:
        raise ValidationFailed("invalid log position", errors)


class EventLogRpc:
    """RPC that every service offers over its own log and its parked events.

    Expects the service class to name its `EventSourced` dependency `app`.
    """

    @rpc(expected_exceptions=EXPECTED)
    def events_after(self, position, limit=100):
        """The integration events after `position`, in log order: `events_after(0, 100)`.
        Private events are left out, so fewer than `limit` may come back before the end."""
        check_position(position, limit)
        return self.app.events_after(position, limit)

    @rpc(expected_exceptions=EXPECTED)
    def events_page(self, position, limit=100):
        """The same, saying how far the log was read: `{"events": [...], "scanned_to": 812,
        "more": true}`; read on from `scanned_to` while `more` (what followers do)."""
        check_position(position, limit)
        return self.app.events_page(position, limit)

    @rpc(expected_exceptions=EXPECTED)
    def read_models(self):
        """The names of this service's read models: `["by_order", "outbox", "webhooks"]`."""
        return sorted(self.app.read_models())

    @rpc(expected_exceptions=EXPECTED)
    def rebuild(self, read_model, verify=False):
        """Write one read model again from the whole log: `{"read_model": "outbox",
        "written_from": 12}`. `verify=True` rebuilds it into the same transaction as a scratch
        copy, compares that with the live rows and rolls back: `{"read_model": "outbox",
        "differences": []}` (empty: a rebuild would change nothing)."""
        who("admin")
        models = self.app.read_models()
        if read_model not in models:
            raise NotFound(
                f"no read model {read_model!r} here",
                {"read_model": read_model, "known": sorted(models)},
            )
        if not isinstance(verify, bool):
            raise ValidationFailed("invalid verify", {"verify": ["Must be true or false."]})
        if verify:
            return {"read_model": read_model, "differences": readmodels.verify(models[read_model])}
        return {"read_model": read_model, "written_from": models[read_model].rebuild()}

    @rpc(expected_exceptions=EXPECTED)
    def order_events(self, order_id, until=None):
        """This service's part of an order's timeline: the integration events of its
        aggregates that belong to the order, in log order (up to an ISO time `until`)."""
        check_id(order_id=order_id)
        if until is not None and not isinstance(until, str):
            raise ValidationFailed("invalid time", {"until": ["Must be an ISO 8601 time."]})
        who("operator")
        return self.app.order_events(order_id, until)

    @rpc(expected_exceptions=EXPECTED)
    def log_status(self):
        """Where the log, the relay, parked events and each upstream's tracking stand."""
        return self.app.status()

    @rpc(expected_exceptions=EXPECTED)
    def parked_events(self, status="open"):
        """Failed reactions and those waiting behind them: `[{"id": 1, "status": "parked",
        "event_id": "orders:7", "error": …}, {"id": 2, "status": "waiting", "behind": 1, …}]`;
        `status` is open (the default: parked and waiting), parked, waiting, retried, discarded
        or null for all."""
        allowed = ("open", "parked", "waiting", "retried", "discarded", None)
        if status not in allowed:
            raise ValidationFailed(
                "invalid status", {"status": [f"One of {', '.join(map(str, allowed))}."]}
            )
        return self.app.parking.entries(status)

    @rpc(expected_exceptions=EXPECTED)
    def mark_parked_seen(self, parked_ids):
        """An operator has seen these entries (`oms parked` calls it): `mark_parked_seen([1, 2])`."""
        if not isinstance(parked_ids, list) or len(parked_ids) > 10_000:
            raise ValidationFailed("invalid ids", {"parked_ids": ["Must be a list of ids."]})
        who("admin")
        for i in parked_ids:
            whole(i, "parked_ids")
        self.app.parking.mark_seen(parked_ids)
        return len(parked_ids)

    @rpc(expected_exceptions=EXPECTED)
    def retry_parked(self, parked_id):
        """Run a parked reaction again, then the ones waiting behind it; returns the entry with
        its new status (`retried`, or still `parked` with the new error)."""
        who("admin")
        return self.app.parking.retry(whole(parked_id, "parked_id"))

    @rpc(expected_exceptions=EXPECTED)
    def discard_parked(self, parked_id, reason):
        """Give up on a parked reaction (it is never applied); the ones behind it are replayed."""
        reason, actor = reason_of(reason), who("admin")
        return self.app.parking.discard(whole(parked_id, "parked_id"), reason, actor)
