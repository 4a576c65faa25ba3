"""The nameko side of the reliability core: one dependency provider and the RPC every service offers."""

import amqp.exceptions
import kombu.exceptions
import nameko.rpc
from nameko.extensions import DependencyProvider

from shared import context, settings
from shared import logging as oms_logging
from shared.errors import EXPECTED, ValidationFailed
from shared.follower import Follower
from shared.parking import Parking
from shared.relay import Relay

log = oms_logging.get("rpc")
BROKER_ERRORS = (OSError, kombu.exceptions.KombuError, amqp.exceptions.AMQPError)


class Rpc(nameko.rpc.Rpc):
    """nameko's RPC entrypoint, except that a reply lost to a broker outage does not kill the service.

    nameko retries the reply a few times, then raises in a managed thread, which kills the whole
    container (relay and followers with it). The caller has timed out by then; the command itself
    is saved or not, and a retry with the same idempotency key returns the same result.
    """

    def handle_result(self, message, worker_ctx, result, exc_info):
        try:
            return super().handle_result(message, worker_ctx, result, exc_info)
        except BROKER_ERRORS as exc:
            log.warning("rpc_reply_lost", method=worker_ctx.entrypoint.method_name, error=repr(exc))
            return result, exc_info


rpc = Rpc.decorator


class EventSourced(DependencyProvider):
    """Builds the service's application once, runs its relay and followers, lends it to workers.

    Container config may override the environment: `DATABASE_URLS: {service: url}`.
    """

    def __init__(self, app_class):
        self.app_class = app_class

    def setup(self):
        service = self.app_class.service
        config = self.container.config
        url = config.get("DATABASE_URLS", {}).get(service) or settings.database_url(service)
        amqp_uri = config["AMQP_URI"]
        self.app = self.app_class(url, config)
        self.parking = Parking(self.app)
        self.relay = Relay(self.app, amqp_uri, settings.relay_poll_seconds())
        self.app.add_listener(self.relay.prompt)
        self.app.parking, self.app.relay = self.parking, self.relay
        self.followers = [
            Follower(
                self.app,
                self.parking,
                upstream,
                amqp_uri,
                poll_seconds=settings.follower_poll_seconds(),
                attempts=settings.reaction_attempts(),
                backoff=settings.reaction_backoff_seconds(),
                rpc_timeout=settings.rpc_timeout(),
            )
            for upstream in self.app_class.follows
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
        worker_ctx._oms_token = context.enter(
            correlation_id=data.get("correlation_id"),
            causation_id=f"rpc:{worker_ctx.call_id}",
            actor=data.get("actor"),
        )

    def worker_teardown(self, worker_ctx):
        token = getattr(worker_ctx, "_oms_token", None)
        if token is not None:
            context.exit(token)


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


def check_position(position, limit) -> None:
    errors = {}
    if not isinstance(position, int) or isinstance(position, bool) or position < 0:
        errors["position"] = ["must be a whole number, 0 or more"]
    if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= 1000:
        errors["limit"] = ["must be a whole number from 1 to 1000"]
    if errors:
        raise ValidationFailed("invalid log position", errors)


class EventLogRpc:
    """RPC that every service offers over its own log and its parked events.

    Expects the service class to name its `EventSourced` dependency `store`.
    """

    @rpc(expected_exceptions=EXPECTED)
    def events_after(self, position, limit=100):
        """The integration events after `position`, in log order: `events_after(0, 100)`."""
        check_position(position, limit)
        return self.store.events_after(position, limit)

    @rpc(expected_exceptions=EXPECTED)
    def log_status(self):
        """Where the log, the relay and each upstream's tracking stand: for `oms status`."""
        return self.store.status()

    @rpc(expected_exceptions=EXPECTED)
    def parked_events(self, status="parked"):
        """Reactions that failed every retry: `[{"id": 1, "event_id": "orders:7", "error": ...}]`."""
        return self.store.parking.list(status)

    @rpc(expected_exceptions=EXPECTED)
    def retry_parked(self, parked_id):
        """Run a parked reaction again; returns the entry with its new status."""
        if not isinstance(parked_id, int) or isinstance(parked_id, bool):
            raise ValidationFailed("invalid parked id", {"parked_id": ["must be a whole number"]})
        return self.store.parking.retry(parked_id)
