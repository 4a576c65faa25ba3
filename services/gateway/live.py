"""What the gateway's self-updating pages listen to: one AMQP consumer per gateway process, on a
queue of its own (exclusive, gone with the process) bound to every service's events, handing
each event to the pages open on its order. A page that misses an event while the consumer
reconnects loses nothing: it re-reads the order whenever it is told something changed, and
EventSource reconnects by itself."""

import collections
import time
import uuid

import eventlet
from eventlet.queue import LightQueue
from kombu import Connection, Queue, binding

from shared import cloudevents
from shared import logging as oms_logging
from shared import settings as oms_settings
from shared.relay import event_exchange

log = oms_logging.get("gateway.live")
WATCHER_BACKLOG = 2000  # events kept for one dashboard that is slow to read them


class LiveEvents:
    """Run by the gateway's dependency (`run` in a managed thread, `stop` when it stops)."""

    def __init__(self, settings: oms_settings.Settings):
        self.settings = settings
        self.subscribers: dict[str, set[LightQueue]] = collections.defaultdict(set)
        self.watchers: set[LightQueue] = set()  # dashboards: every event
        self.seen: collections.deque = collections.deque()  # (monotonic time, service)
        self.stopping = False

    def stop(self) -> None:
        self.stopping = True
        for queues in [*self.subscribers.values(), self.watchers]:
            for queue in list(queues):
                queue.put(None)  # every open page ends its stream

    # -- dashboards -----------------------------------------------------------------------------
    def watch(self) -> LightQueue:
        queue = LightQueue()
        self.watchers.add(queue)
        return queue

    def unwatch(self, queue: LightQueue) -> None:
        self.watchers.discard(queue)

    def rates(self, window: float = 10.0) -> dict[str, float]:
        """Events per second of each service over the last `window` seconds (as this gateway
        received them)."""
        since = time.monotonic() - window
        counts = collections.Counter(service for at, service in self.seen if at >= since)
        return {s: round(counts[s] / window, 1) for s in oms_settings.SERVICES}

    # -- pages ----------------------------------------------------------------------------------
    def subscribe(self, order_id: str) -> LightQueue:
        queue = LightQueue()
        self.subscribers[order_id].add(queue)
        return queue

    def unsubscribe(self, order_id: str, queue: LightQueue) -> None:
        queues = self.subscribers.get(order_id)
        if queues is not None:
            queues.discard(queue)
            if not queues:
                self.subscribers.pop(order_id, None)

    # -- the consumer ---------------------------------------------------------------------------
    def run(self) -> None:
        backoff = 0.2
        while not self.stopping:
            try:
                self._consume()
            except Exception as exc:  # noqa: BLE001 - the broker went away: connect again
                log.warning("live_events_failed", error=repr(exc)[:300], retry_in=backoff)
                eventlet.sleep(backoff)
                backoff = min(backoff * 2, 5.0)

    def _consume(self) -> None:
        bindings = [
            binding(event_exchange(service, passive=True), routing_key="#")
            for service in oms_settings.SERVICES
        ]
        # named, not server-named: the gateway's broker user may make `gateway.live.*` only
        queue = Queue(
            f"gateway.live.{uuid.uuid4().hex}",
            exclusive=True,
            auto_delete=True,
            durable=False,
            bindings=bindings,
        )
        settings = self.settings
        ssl = settings.amqp_ssl()
        with Connection(settings.amqp_uri, heartbeat=settings.heartbeat, ssl=ssl) as conn:
            with conn.Consumer(
                queue, callbacks=[self._on_event], accept=cloudevents.ACCEPT, no_ack=True
            ):
                while not self.stopping:
                    try:
                        conn.drain_events(timeout=1)
                    except TimeoutError:
                        conn.heartbeat_check()

    def _on_event(self, body, message) -> None:
        if not isinstance(body, dict):
            return
        now = time.monotonic()
        self.seen.append((now, str(body.get("type", "")).split(".", 1)[0]))
        while self.seen and self.seen[0][0] < now - 60:
            self.seen.popleft()
        for queue in list(self.watchers):
            if queue.qsize() < WATCHER_BACKLOG:  # a dashboard that stopped reading misses some
                queue.put(body)
        data = body.get("data") if isinstance(body.get("data"), dict) else {}
        order_id = data.get("order_id") or body.get("subject")
        for queue in list(self.subscribers.get(str(order_id), ())):
            queue.put(body.get("type"))


def stream(live: LiveEvents, order_id: str, keepalive: float = 15.0, lifetime: float = 1800.0):
    """Server-Sent Events for one page: `change` when its order changes."""
    queue = live.subscribe(order_id)
    yield from sse(
        live,
        queue,
        lambda kind: f"event: change\ndata: {kind}\n\n",
        lambda: live.unsubscribe(order_id, queue),
        keepalive,
        lifetime,
    )


def sse(live: LiveEvents, queue, render, done, keepalive: float, lifetime: float):
    """The stream of one open page: `render(item)` for each item its queue gets (None to skip
    it), a comment now and then (proxies keep the connection), the end after `lifetime` (the
    browser reconnects) or when the gateway stops; `done()` when it ends."""
    started = time.monotonic()
    try:
        yield "retry: 3000\n\n"
        while not live.stopping and time.monotonic() - started < lifetime:
            try:
                item = queue.get(timeout=keepalive)
            except eventlet.queue.Empty:
                yield ": still here\n\n"
                continue
            if item is None:
                return
            rendered = render(item)
            if rendered is not None:
                yield rendered
    finally:
        done()
