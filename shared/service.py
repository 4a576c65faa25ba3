"""The nameko side of the reliability core: RPC methods whose domain refusals reach callers as
typed errors, the dependency that runs the application with its relay and followers, and the RPC
every service offers over its own log. (The entrypoint itself is shared/rpc.py.)"""

import functools
import time

import nameko.rpc
from nameko.extensions import DependencyProvider

from shared import actors, context, health, metrics, settings
from shared import logging as oms_logging
from shared.errors import (
    EXPECTED,
    Forbidden,
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
            ssl=self.settings.amqp_ssl(),
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
        # ready from now on while the store answers; live while each watched loop beats
        store = health.store_answers(self.app.engine)
        health.register(self.app.service, {"store": store}, self.watchdogs())

    def watchdogs(self) -> list:
        """The watchdogs of this service's loops: every follower's, and the relay's, the
        sender's or a worker's if it has one (`watchdog`, a shared.watchdog.Watched)."""
        others = (self.relay, self.sender, *self.workers)
        return [f.watchdog for f in self.followers] + [
            loop.watchdog for loop in others if getattr(loop, "watchdog", None) is not None
        ]

    def stop(self):
        health.forget(self.app.service)
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
