"""The nameko side of the reliability core: the RPC entrypoint every service uses, the one table
that turns domain refusals into typed errors, the dependency that runs the application with its
relay and followers, and the RPC every service offers over its own log."""

import functools
import hashlib
import inspect
from functools import partial

import amqp.exceptions
import kombu.exceptions
import nameko.rpc
from nameko.exceptions import ContainerBeingKilled
from nameko.extensions import DependencyProvider
from nameko.messaging import QueueConsumer

from shared import context, settings
from shared import logging as oms_logging
from shared.errors import (
    EXPECTED,
    InvalidTransition,
    NotFound,
    OmsError,
    Unavailable,
    ValidationFailed,
)
from shared.follower import STORE_DOWN, Follower
from shared.paging import CursorRefused
from shared.refusals import Missing, Refused
from shared.relay import Relay
from shared.validation import reason_of

log = oms_logging.get("rpc")
BROKER_ERRORS = (OSError, kombu.exceptions.KombuError, amqp.exceptions.AMQPError)
REQUEST_ID = "oms_request_id"  # context data: the identity of the request message being handled


# -- the RPC entrypoint -----------------------------------------------------------------------------
class GuardedQueueConsumer(QueueConsumer):
    """nameko's consumer of the RPC queue, except that a request too large to read or impossible
    to decode (nested too deeply, not JSON) is answered with `ValidationFailed` instead of
    leaving its caller waiting."""

    def get_consumers(self, consumer_cls, channel):
        consumers = super().get_consumers(consumer_cls, channel)
        for provider, consumer in self._consumers.items():
            consumer.on_message = partial(self._on_raw_message, provider)
        return consumers

    def _on_raw_message(self, provider, message) -> None:
        limit = settings.Settings.load(self.container.config).max_message_bytes
        size = len(_raw(message.body))
        if size > limit:
            problem = f"The request is {size} bytes; at most {limit} are read."
            return self._refuse(provider, message, "request too large", problem)
        try:
            body = message.decode()
        except Exception as exc:  # noqa: BLE001 - any decoding failure is the caller's
            problem = "Nested too deeply." if _too_deep(exc) else f"Not decodable: {exc}"
            return self._refuse(provider, message, "undecodable request", problem)
        self.handle_message(provider, body, message)

    def _refuse(self, provider, message, title: str, problem: str) -> None:
        error = ValidationFailed(title, {"_request": [problem]})
        log.warning(
            "rpc_request_refused", problem=problem, key=message.delivery_info.get("routing_key")
        )

        def reply():
            try:
                provider.handle_result(message, None, (type(error), error, None))
            except Exception as exc:  # noqa: BLE001 - no way to answer (no reply_to…): drop it
                log.warning("rpc_refusal_unanswered", error=repr(exc))
                self.ack_message(message)

        self.container.spawn_managed_thread(reply, identifier="rpc.refuse")


def _too_deep(exc: BaseException | None) -> bool:
    """kombu wraps the decoder's RecursionError in its own DecodeError."""
    while exc is not None:
        if isinstance(exc, RecursionError):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


class GuardedRpcConsumer(nameko.rpc.RpcConsumer):
    queue_consumer = GuardedQueueConsumer()


class Rpc(nameko.rpc.Rpc):
    """nameko's RPC entrypoint, with four changes:

    - a wrong call (unknown keyword, missing or extra argument) is refused with ValidationFailed
      naming the argument, before any worker runs;
    - each request carries its identity (its message's correlation id and a digest of its body),
      the same on a redelivery, so a command can tell it already ran (see `ServiceApplication.
      retrying`) and creating commands default their idempotency key to it;
    - oversized or undecodable requests are answered, not dropped (`GuardedQueueConsumer`);
    - a reply lost to a broker outage does not kill the service: nameko retries the reply a few
      times, then raises in a managed thread, which kills the whole container (relay and
      followers with it). The caller has timed out by then; the command itself is saved or not,
      and a redelivery of the request is recognised.
    """

    rpc_consumer = GuardedRpcConsumer()

    def handle_message(self, body, message):
        if not isinstance(body, dict) or "args" not in body or "kwargs" not in body:
            raise ValidationFailed(
                "malformed request", {"_request": ["Must be an object with args and kwargs."]}
            )
        args, kwargs = body["args"], body["kwargs"]
        self.check_signature(args, kwargs)
        context_data = self.unpack_message_headers(message)
        context_data[REQUEST_ID] = request_identity(message)
        try:
            self.container.spawn_worker(
                self,
                args,
                kwargs,
                context_data={k: v for k, v in context_data.items() if v is not None},
                handle_result=partial(self.handle_result, message),
            )
        except ContainerBeingKilled:
            self.rpc_consumer.requeue_message(message)

    def check_signature(self, args, kwargs):
        if not isinstance(args, list | tuple) or not isinstance(kwargs, dict):
            raise ValidationFailed(
                "malformed request", {"_request": ["args must be a list and kwargs an object."]}
            )
        method = getattr(self.container.service_cls, self.method_name)
        signature = inspect.signature(method)  # follows functools.wraps to the real parameters
        errors = argument_errors(signature, args, kwargs)
        if errors:
            raise ValidationFailed(f"wrong arguments for {self.method_name}", errors)

    def handle_result(self, message, worker_ctx, result, exc_info):
        try:
            return super().handle_result(message, worker_ctx, result, exc_info)
        except BROKER_ERRORS as exc:
            method = worker_ctx.entrypoint.method_name if worker_ctx else "?"
            log.warning("rpc_reply_lost", method=method, error=repr(exc))
            return result, exc_info


def request_identity(message) -> str | None:
    """The same for every delivery of one request message, different for different requests
    (even from a client that reuses a correlation id)."""
    correlation = message.properties.get("correlation_id")
    if not correlation:
        return None
    digest = hashlib.sha256(message.delivery_info.get("routing_key", "").encode())
    digest.update(str(correlation).encode() + b"\0" + _raw(message.body))
    return digest.hexdigest()[:32]


def _raw(body) -> bytes:
    return body.encode() if isinstance(body, str) else (body or b"")


def argument_errors(signature: inspect.Signature, args, kwargs) -> dict:
    """Every way a call does not fit `signature` (after `self`), named by argument:
    `{"order": ["Required."], "bogus": ["Unknown argument."]}`."""
    params = list(signature.parameters.values())[1:]
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    names = {p.name for p in params}
    errors = {}
    if len(args) > len(positional):
        listed = ", ".join(p.name for p in params)
        errors["_arguments"] = [f"Too many arguments: it takes {len(params)} ({listed})."]
    by_position = {p.name for p in positional[: len(args)]}
    for name in kwargs:
        if name not in names:
            errors[name] = ["Unknown argument."]
        elif name in by_position:
            errors[name] = ["Given twice (by position and by name)."]
    for p in params:
        if p.default is p.empty and p.name not in by_position and p.name not in kwargs:
            errors[p.name] = ["Required."]
    return errors


# -- one translation table from domain refusals to the typed errors callers catch --------------------
def translated(error: Exception) -> OmsError | None:
    if isinstance(error, Missing):
        return NotFound(str(error), dict(error.ids))
    if isinstance(error, Refused) and error.field:
        return ValidationFailed(str(error), {error.field: [str(error)], "rule": error.rule})
    if isinstance(error, Refused):
        return InvalidTransition(str(error), error.details())
    if isinstance(error, CursorRefused):
        return ValidationFailed("invalid cursor", {"cursor": [str(error)]})
    return None


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


rpc = Rpc.decorator


# -- the application, its relay and its followers --------------------------------------------------
class EventSourced(DependencyProvider):
    """Builds the service's application once, runs its relay and followers, lends it to workers.

    Settings come from the environment, overridden by the container's config (`INVOICE_ON`,
    `DATABASE_URLS: {service: url}`, …), read once when the container is set up.
    """

    def __init__(self, app_class):
        self.app_class = app_class

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

    def start(self):
        self.container.spawn_managed_thread(self.relay.run, identifier=f"{self.app.service}.relay")
        for follower in self.followers:
            self.container.spawn_managed_thread(
                follower.run, identifier=f"follower.{follower.upstream}"
            )

    def stop(self):
        self.relay.stop()
        for follower in self.followers:
            follower.stop()

    def kill(self):
        self.stop()

    def get_dependency(self, worker_ctx):
        return self.app

    def worker_setup(self, worker_ctx):
        data = worker_ctx.context_data
        request = data.get(REQUEST_ID)
        causation = context.request_causation(request) if request else f"rpc:{worker_ctx.call_id}"
        worker_ctx._oms_token = context.enter(
            correlation_id=data.get("correlation_id"),
            causation_id=causation,
            actor=data.get("actor"),
            request_id=request,
        )

    def worker_teardown(self, worker_ctx):
        token = getattr(worker_ctx, "_oms_token", None)
        if token is not None:
            context.exit(token)


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


def who(actor) -> str:
    """The acting user: the `actor` argument, else the RPC context's; one of them is required."""
    actor = actor if actor is not None else context.current().get("actor")
    if not isinstance(actor, str) or not 0 < len(actor.strip()) <= 200:
        raise ValidationFailed(
            "who is acting?",
            {"actor": ["Required: the acting user, a string of 1-200 characters."]},
        )
    return actor.strip()


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
        for i in parked_ids:
            whole(i, "parked_ids")
        self.app.parking.mark_seen(parked_ids)
        return len(parked_ids)

    @rpc(expected_exceptions=EXPECTED)
    def retry_parked(self, parked_id):
        """Run a parked reaction again, then the ones waiting behind it; returns the entry with
        its new status (`retried`, or still `parked` with the new error)."""
        return self.app.parking.retry(whole(parked_id, "parked_id"))

    @rpc(expected_exceptions=EXPECTED)
    def discard_parked(self, parked_id, reason, actor=None):
        """Give up on a parked reaction (it is never applied); the ones behind it are replayed."""
        reason, actor = reason_of(reason), who(actor)
        return self.app.parking.discard(whole(parked_id, "parked_id"), reason, actor)
