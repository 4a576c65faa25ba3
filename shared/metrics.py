"""Prometheus metrics of a service process (`prometheus-client`), served on `OMS_METRICS_ADDRESS`
(`GET /metrics`; one server per process, every series labelled with its service; the same server
answers the probes' `/livez` and `/readyz`: shared/health.py).

Counters and histograms are moved by the reliability core as it works: events stored, published,
consumed, reaction latency (from the upstream event's time to its reaction saved), sends by
channel and outcome, RPC latency by method, gateway requests. Gauges are read when scraped, from
each running application's store and followers: log and relay positions, the relay's lag, each
follower's position and lag, parked and waiting events, sends by status."""

import logging
import time
from datetime import datetime

from prometheus_client import REGISTRY, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily

from shared import health

log = logging.getLogger("oms.metrics")

STORED = Counter("oms_events_stored", "Domain events stored", ["service"])
PUBLISHED = Counter("oms_events_published", "Integration events the relay published", ["service"])
CONSUMED = Counter(
    "oms_events_consumed", "Upstream events a follower went past", ["service", "upstream"]
)
REACTION = Histogram(
    "oms_reaction_seconds",
    "From an upstream event's time to its reaction saved",
    ["service", "upstream"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
)
SENDS = Counter(
    "oms_sends", "Attempts at sends to third parties", ["service", "channel", "outcome"]
)
RPC = Histogram(
    "oms_rpc_seconds",
    "RPC handling time by method",
    ["service", "method"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10),
)
HTTP = Histogram(
    "oms_http_seconds",
    "Gateway request time by operation and status",
    ["operation", "status"],
    buckets=(0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10),
)

_running: dict[int, tuple] = {}  # id(app) -> (app, followers)


def serve(address: str) -> None:
    """Serve `/metrics`, `/livez` and `/readyz` on `host:port` (once per process; later calls do
    nothing; an empty address: not at all)."""
    if address:
        health.serve(address)


def watch(app, followers=()) -> None:
    """Read this application's gauges at each scrape, until `forget`."""
    _running[id(app)] = (app, list(followers))


def forget(app) -> None:
    _running.pop(id(app), None)


def reacted(service: str, upstream: str, envelopes) -> None:
    now = time.time()
    for env in envelopes:
        try:
            sent = datetime.fromisoformat(env["time"]).timestamp()
        except (KeyError, TypeError, ValueError):
            continue
        REACTION.labels(service, upstream).observe(max(0.0, now - sent))


class StoreCollector:
    """Gauges read from the running applications when Prometheus scrapes."""

    def collect(self):
        log_position = GaugeMetricFamily(
            "oms_log_position", "Last position of the log", labels=["service"]
        )
        relayed = GaugeMetricFamily(
            "oms_relay_position", "Position the relay has read to", labels=["service"]
        )
        relay_lag = GaugeMetricFamily(
            "oms_relay_lag", "Log positions the relay has still to read", labels=["service"]
        )
        parked = GaugeMetricFamily(
            "oms_parked", "Parked and waiting events", labels=["service", "status"]
        )
        position = GaugeMetricFamily(
            "oms_follower_position",
            "Upstream position a follower reached",
            labels=["service", "upstream"],
        )
        lag = GaugeMetricFamily(
            "oms_follower_lag",
            "Upstream positions a follower has seen published and not yet reached",
            labels=["service", "upstream"],
        )
        sends = GaugeMetricFamily("oms_sends_by_status", "Sends in the outbox by status", labels=["service", "status"])  # fmt: skip
        for app, followers in list(_running.values()):
            try:
                last, (read, _) = app.last_position(), app.relay_state()
                summary = app.parking.summary()
                outbox = app.outbox.counts(app.engine) if hasattr(app, "outbox") else {}
            except Exception as exc:  # noqa: BLE001 - a store away must not break the scrape
                log.warning("metrics_unreadable service=%s error=%r", app.service, exc)
                continue
            s = app.service
            log_position.add_metric([s], last)
            relayed.add_metric([s], read)
            relay_lag.add_metric([s], max(0, last - read))
            parked.add_metric([s, "parked"], summary.get("parked", 0))
            parked.add_metric([s, "waiting"], summary.get("waiting", 0))
            for status, n in outbox.items():
                sends.add_metric([s, status], n)
            for f in followers:
                position.add_metric([s, f.upstream], f.position)
                lag.add_metric([s, f.upstream], max(0, f.seen - f.position))
        yield from (log_position, relayed, relay_lag, parked, position, lag, sends)


REGISTRY.register(StoreCollector())
