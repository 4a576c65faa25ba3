"""The RPC entrypoint every service uses: nameko's, made safe at the edge — wrong calls, oversized
or undecodable requests and redeliveries are all answered, and a lost reply does not kill the
service (see `Rpc`)."""

import hashlib
import inspect
from functools import partial

import amqp.exceptions
import kombu.exceptions
import nameko.rpc
from nameko.exceptions import ContainerBeingKilled
from nameko.messaging import QueueConsumer

from shared import logging as oms_logging
from shared import settings
from shared.errors import ValidationFailed

log = oms_logging.get("rpc")
BROKER_ERRORS = (OSError, kombu.exceptions.KombuError, amqp.exceptions.AMQPError)
REQUEST_ID = "oms_request_id"  # context data: the identity of the request message being handled


STOP_CHECK_SECONDS = 0.1


class QuickQueueConsumer(QueueConsumer):
    """nameko's queue consumer, looking for a stop request every tenth of a second instead of
    every second (kombu's `safety_interval`): a service stops in a fraction of a second rather
    than one or two — a rolling restart, `make run`'s Ctrl-C and every test that stops services
    wait that much less. Waking ten times a second costs nothing measurable."""

    def consume(self, limit=None, timeout=None, safety_interval=STOP_CHECK_SECONDS, **kwargs):
        return super().consume(limit, timeout, safety_interval, **kwargs)


class ReplyListener(nameko.rpc.ReplyListener):
    queue_consumer = QuickQueueConsumer()


class RpcProxy(nameko.rpc.RpcProxy):
    """nameko's RPC proxy dependency, with the quick-stopping reply consumer."""

    rpc_reply_listener = ReplyListener()


class GuardedQueueConsumer(QuickQueueConsumer):
    """nameko's consumer of the RPC queue, except that a request too large to read or impossible
    to decode (nested too deeply, not JSON) is answered with `ValidationFailed` instead of
    leaving its caller waiting."""

    def setup(self):
        super().setup()
        self.max_bytes = settings.Settings.load(self.container.config).max_message_bytes

    def get_consumers(self, consumer_cls, channel):
        consumers = super().get_consumers(consumer_cls, channel)
        for provider, consumer in self._consumers.items():
            consumer.on_message = partial(self._on_raw_message, provider)
        return consumers

    def _on_raw_message(self, provider, message) -> None:
        limit = self.max_bytes
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


rpc = Rpc.decorator
