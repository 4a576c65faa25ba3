"""Raw limits under the system: kombu publish rates and single-event eventsourcing saves."""

import os
import time
from pathlib import Path

import eventlet
from eventsourcing.domain import Aggregate, event
from kombu import Connection, Queue

from shared import envelope
from shared.relay import PipelinedConfirms
from shared.store import ServiceApplication

RAW_QUEUE = "bench.raw"


class Tick(Aggregate):
    """A tiny aggregate: every `tick()` is one new event."""

    @event("Ticked")
    def tick(self) -> None:
        pass


class SaveBench(ServiceApplication):
    """The project's store (same base class, factory and datastore as the services), no events out."""

    service = "benchsaves"

    def integration_event(self, domain_event):
        return None


def sample_envelope() -> dict:
    """A body the size and shape of a real `invoice_issued` envelope (about 700 bytes of JSON)."""
    data = {
        "invoice_id": "0b9e5f7e-6a55-5c7e-9f55-8f3f1b7c2a10",
        "order_id": "6a1f0f7e-2a55-4c7e-9f55-8f3f1b7c2a10",
        "order_reference": "2026-000123",
        "client": {"name": "Ada Lovelace", "email": "ada@example.com", "phone": "+44 20 7946"},
        "status": "unpaid",
        "total": "63.50",
        "currency": "EUR",
    }
    return envelope.build(
        "billing",
        1,
        "invoice_issued",
        1,
        data["invoice_id"],
        "2026-11-22T00:00:00+00:00",
        data,
        None,
        None,
    )


def publish_rate(uri: str, count: int, confirm: bool) -> float:
    """Persistent messages to a durable queue, one `publish()` each; messages/s until all queued."""
    options = {"confirm_publish": True} if confirm else {}
    with Connection(uri, transport_options=options) as conn:
        queue = Queue(RAW_QUEUE, durable=True, auto_delete=False)(conn.default_channel)
        queue.declare()
        queue.purge()
        producer, body = conn.Producer(), sample_envelope()
        started = time.monotonic()
        for _ in range(count):
            producer.publish(
                body, routing_key=RAW_QUEUE, serializer="json", delivery_mode=2, retry=False
            )
        _wait_queued(queue, count)
        elapsed = time.monotonic() - started
        queue.delete()
    return count / elapsed


def publish_batched_rate(uri: str, count: int, batch: int = 200) -> float:
    """What the relay does: confirms pipelined, awaited once per batch; messages/s."""
    with Connection(uri) as conn:
        queue = Queue(RAW_QUEUE, durable=True, auto_delete=False)(conn.default_channel)
        queue.declare()
        queue.purge()
        channel = conn.channel()
        confirms = PipelinedConfirms(channel)
        producer, body = conn.Producer(channel=channel), sample_envelope()
        started = time.monotonic()
        for sent in range(1, count + 1):
            producer.publish(
                body, routing_key=RAW_QUEUE, serializer="json", delivery_mode=2, retry=False
            )
            confirms.published()
            if sent % batch == 0 or sent == count:
                confirms.wait()
        elapsed = time.monotonic() - started
        queue.delete()
    return count / elapsed


def _wait_queued(queue, count: int, timeout: float = 60) -> None:
    """Without confirms `publish()` only fills a socket: count it done when the broker holds all."""
    deadline = time.monotonic() + timeout
    while queue.queue_declare(passive=True).message_count < count:
        if time.monotonic() > deadline:
            raise RuntimeError(f"broker did not queue {count} messages within {timeout}s")
        eventlet.sleep(0.005)


def save_rate(url: str, count: int, workers: int) -> float:
    """`count` saves of one event each, spread over `workers` greenthreads; saves/s."""
    app = SaveBench(url)
    aggregates = [Tick() for _ in range(workers)]
    for aggregate in aggregates:
        app.save(aggregate)  # created outside the timing: every timed save is one Ticked event
    pool = eventlet.GreenPool(workers)
    started = time.monotonic()
    for aggregate in aggregates:
        pool.spawn(_ticks, app, aggregate, count // workers)
    pool.waitall()
    elapsed = time.monotonic() - started
    app.engine.dispose()
    return (count // workers) * workers / elapsed


def _ticks(app, aggregate, count: int) -> None:
    for _ in range(count):
        aggregate.tick()
        app.save(aggregate)


def fsync_latency(directory: Path, count: int = 200) -> dict:
    """Milliseconds to write 4 KiB and fsync it, `count` times in one file: what a commit waits for."""
    path, block, times = directory / "fsync.probe", b"x" * 4096, []
    with open(path, "wb", buffering=0) as probe:
        for _ in range(count):
            started = time.perf_counter()
            probe.write(block)
            os.fsync(probe.fileno())
            times.append((time.perf_counter() - started) * 1000)
    path.unlink()
    times.sort()
    return {"p50": times[len(times) // 2], "p99": times[int(len(times) * 0.99) - 1]}


def measure(uri: str, saves_url: str, messages: int, saves: int, progress) -> dict:
    """All raw figures for one store and broker."""
    results = {}
    progress(f"raw: {messages} persistent publishes with confirms")
    results["publish_confirm"] = publish_rate(uri, messages, confirm=True)
    progress(f"raw: {messages} persistent publishes, confirms pipelined per batch of 200")
    results["publish_batched"] = publish_batched_rate(uri, messages)
    progress(f"raw: {messages} persistent publishes without confirms")
    results["publish_plain"] = publish_rate(uri, messages, confirm=False)
    progress(f"raw: {saves} single-event saves, sequential")
    results["saves_seq"] = save_rate(saves_url, saves, workers=1)
    progress(f"raw: {saves} single-event saves, 10 greenthreads")
    try:
        results["saves_10"] = save_rate(saves_url, saves, workers=10)
    except Exception as exc:  # noqa: BLE001 - report it in the table rather than losing the run
        progress(f"raw: concurrent saves failed: {exc!r}")
        results["saves_10"] = None
        results.setdefault("problems", []).append(f"concurrent saves: {exc!r}")
    return results
