"""The whole system under load: five service processes, N orders, every invoice timed on the wire."""

import json
import os
import signal
import subprocess
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import eventlet
from kombu import Connection, Exchange, Queue
from nameko.standalone.rpc import ClusterRpcProxy

from oms.infra import free_port
from shared import actors, cloudevents
from shared.settings import SERVICES
from tests.support import order_payload

ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault(
    "OMS_ACTOR_SECRET", "bench-actor-secret-" + "0" * 32
)  # the services get it too


def bench_actor() -> dict:
    """RPC context data acting as "bench" (an admin token minted from the bench's secret)."""
    return actors.rpc_context(os.environ["OMS_ACTOR_SECRET"], "bench")


class Services:
    """The five services, one `python -m oms.serve <service>` process each, as in production."""

    def __init__(
        self,
        amqp_uri: str,
        database_urls: dict,
        log_dir: Path,
        module: str = "oms.serve",
        names: tuple = SERVICES,
    ):
        self.amqp_uri, self.database_urls, self.log_dir = amqp_uri, database_urls, log_dir
        self.module = module  # bench.floor: the same processes, reactions that do nothing
        self.names = names  # the five, and the gateway where it is measured
        self.api_address = f"127.0.0.1:{free_port()}"
        self.procs: dict[str, subprocess.Popen] = {}

    def _env(self) -> dict:
        env = dict(os.environ, OMS_AMQP_URI=self.amqp_uri, OMS_VAR_DIR=str(self.log_dir))
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
        env["OMS_HTTP_ADDRESS"] = f"127.0.0.1:{free_port()}"  # billing's gateway callback
        env["OMS_API_ADDRESS"] = self.api_address
        # notifications are queued and wait, as before sending existed (figures stay comparable;
        # bench.notify measures the sending, with a mail server, setting it to auto)
        env.setdefault("OMS_NOTIFY_POLICY", "manual")
        for service, url in self.database_urls.items():
            env[f"OMS_{service.upper()}_DATABASE_URL"] = url
        return env

    def start(self) -> None:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        for service in self.names:
            with open(self.log_path(service), "ab") as log:
                self.procs[service] = subprocess.Popen(
                    [sys.executable, "-m", self.module, service],
                    env=self._env(),
                    cwd=ROOT,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )

    def log_path(self, service: str) -> Path:
        return self.log_dir / f"{service}.log"

    def check_alive(self) -> None:
        for service, proc in self.procs.items():
            if proc.poll() is not None:
                tail = self.log_path(service).read_text(errors="replace")[-2000:]
                raise RuntimeError(f"{service} exited with {proc.returncode}:\n{tail}")

    def wait_ready(self, timeout: float = 120) -> None:
        """Until every service answers `log_status()` over RPC."""
        deadline, waiting = time.monotonic() + timeout, list(SERVICES)
        with ClusterRpcProxy(
            {"AMQP_URI": self.amqp_uri}, timeout=5, context_data=bench_actor()
        ) as rpc:
            while waiting:
                self.check_alive()
                try:
                    getattr(rpc, waiting[0]).log_status()
                    waiting.pop(0)
                except Exception:  # noqa: BLE001 - not listening yet (UnknownService, timeout)
                    if time.monotonic() > deadline:
                        raise RuntimeError(f"not ready after {timeout}s: {waiting}") from None
                    eventlet.sleep(0.3)

    def stop(self, timeout: float = 30) -> None:
        """SIGTERM all, wait; SIGKILL whatever is still there after `timeout`."""
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)
        self.procs.clear()

    def mark_logs(self) -> None:
        """Count log problems from here on (the start-up noise before the load is not counted)."""
        self.log_marks = {s: self.log_path(s).stat().st_size for s in SERVICES}

    def log_problems(self) -> dict[str, int]:
        """Warning and error lines logged since `mark_logs()`, per service and event."""
        counts: dict[str, int] = defaultdict(int)
        for service in SERVICES:
            with open(self.log_path(service), "rb") as log:
                log.seek(self.log_marks.get(service, 0))
                for line in log.read().decode(errors="replace").splitlines():
                    problem = _problem(line)
                    if problem:
                        counts[f"{service}: {problem}"] += 1
        return dict(counts)


def _problem(line: str) -> str | None:
    """The event of a warning/error line: structlog JSON, or nameko's plain `error handling …`."""
    try:
        entry = json.loads(line)
    except ValueError:
        head = line.split(" at 0x", 1)[0].split(":", 1)[0][:80]
        return head if head.lower().startswith(("error", "warning", "critical")) else None
    if isinstance(entry, dict) and entry.get("level") in ("warning", "error", "critical"):
        return str(entry.get("event"))
    return None


class InvoiceListener:
    """Plain AMQP queues, as an integrator would bind them: `billing.events`/`invoice_issued`
    (the figures and the exactly-once check) and `orders.events`/`order_accepted` (to split the
    latency into the orders relay's hop and billing's)."""

    def __init__(self, amqp_uri: str):
        self.conn = Connection(amqp_uri)
        self.first_arrival: dict[str, float] = {}
        self.accepted_arrival: dict[str, float] = {}
        self.ids: dict[str, set] = defaultdict(set)
        self.messages = 0
        self._stopping = False
        self._thread = None

    def start(self) -> None:
        """Declare and bind the queue now (before any load), then drain it in a greenthread."""
        queues = [
            Queue(
                f"bench.{service}.{name}",
                Exchange(f"{service}.events", type="topic", durable=True),
                routing_key=name,
                exclusive=True,
                auto_delete=True,
            )
            for service, name in (("billing", "invoice_issued"), ("orders", "order_accepted"))
        ]
        self.consumer = self.conn.Consumer(
            queues, callbacks=[self._on_message], accept=cloudevents.ACCEPT, no_ack=True
        )
        self.consumer.consume()
        self._thread = eventlet.spawn(self._drain)

    def _drain(self) -> None:
        while not self._stopping:
            try:
                self.conn.drain_events(timeout=0.5)
            except TimeoutError:
                pass

    def _on_message(self, body, message) -> None:
        now, order_id = time.monotonic(), body["data"]["order_id"]
        if body["type"] == "orders.order_accepted":
            self.accepted_arrival.setdefault(order_id, now)
            return
        self.messages += 1
        self.first_arrival.setdefault(order_id, now)
        self.ids[order_id].add(body["id"])

    def wait_for(self, order_ids, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while not all(o in self.first_arrival for o in order_ids):
            if time.monotonic() > deadline:
                return False
            eventlet.sleep(0.05)
        return True

    def stop(self) -> None:
        self._stopping = True
        if self._thread is not None:
            self._thread.wait()
        self.conn.release()


@dataclass
class Load:
    """What the callers saw: per-call latencies and when each order's acceptance returned."""

    place_ms: list = field(default_factory=list)
    accept_ms: list = field(default_factory=list)
    accepted_at: dict = field(default_factory=dict)
    first_place: float | None = None
    errors: list = field(default_factory=list)


def drive(amqp_uri: str, orders: int, callers: int, rate: float | None = None) -> Load:
    """`orders` orders placed then accepted by `callers` greenthreads, each with its own proxy:
    as fast as they answer, or (with `rate`) the i-th order started at i/rate seconds."""
    load, todo = Load(), iter(range(orders))
    pool = eventlet.GreenPool(callers)
    start = time.monotonic()
    for _ in range(callers):
        pool.spawn(_caller, amqp_uri, todo, load, start, rate)
    pool.waitall()
    return load


def _caller(amqp_uri: str, todo, load: Load, start: float, rate: float | None) -> None:
    with ClusterRpcProxy({"AMQP_URI": amqp_uri}, timeout=30, context_data=bench_actor()) as rpc:
        for i in todo:
            if rate:
                eventlet.sleep(max(0.0, start + i / rate - time.monotonic()))
            try:
                _one_order(rpc, load)
            except Exception as exc:  # noqa: BLE001 - counted and reported, never hidden
                load.errors.append(repr(exc))


def _one_order(rpc, load: Load) -> None:
    started = time.monotonic()
    if load.first_place is None or started < load.first_place:
        load.first_place = started
    order_id = rpc.orders.place_order(order_payload())["id"]
    placed = time.monotonic()
    status = rpc.orders.accept_order(order_id)["status"]
    accepted = time.monotonic()
    if status != "accepted":
        raise RuntimeError(f"accept_order({order_id}) returned status {status!r}")
    load.place_ms.append((placed - started) * 1000)
    load.accept_ms.append((accepted - placed) * 1000)
    load.accepted_at[order_id] = accepted


def settle(amqp_uri: str, timeout: float = 180, interval: float = 0.5):
    """Wait until every relay has published its whole log and no position moves for `interval`.

    Returns (the settled statuses, when they first held), or (last statuses, None) on timeout.
    """
    deadline, last, since = time.monotonic() + timeout, None, None
    with ClusterRpcProxy({"AMQP_URI": amqp_uri}, timeout=30, context_data=bench_actor()) as rpc:
        while time.monotonic() < deadline:
            now = time.monotonic()
            status = {s: getattr(rpc, s).log_status() for s in SERVICES}
            relayed = all(v["relayed_position"] == v["last_position"] for v in status.values())
            if relayed and status == last:
                return status, since
            last, since = status, now
            eventlet.sleep(interval)
    return last, None


def invoices_in_store(amqp_uri: str, order_ids) -> dict[str, int]:
    """How many invoices billing's own store holds per order (`invoices_for_order`)."""
    with ClusterRpcProxy({"AMQP_URI": amqp_uri}, timeout=30, context_data=bench_actor()) as rpc:
        return {o: len(rpc.billing.invoices_for_order(o)) for o in order_ids}


def percentile(values, pct: float) -> float | None:
    """Nearest-rank percentile (None for no values)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * pct // 100))
    return ordered[int(rank) - 1]


def spread(values) -> dict:
    return {
        "p50": percentile(values, 50),
        "p99": percentile(values, 99),
        "max": max(values, default=None),
    }


def latencies(load: Load, arrivals: dict) -> list[float]:
    """Milliseconds from each accept_order's return to its order's first arrival in `arrivals`."""
    return [(arrivals[o] - t) * 1000 for o, t in load.accepted_at.items() if o in arrivals]


def system_figures(orders, load, listener, status, settled_at, cpu) -> dict:
    """The system's figures and the exactly-once verdict, from what callers and listener saw."""
    arrivals = listener.first_arrival
    latency, hop = latencies(load, arrivals), latencies(load, listener.accepted_arrival)
    last = max(arrivals.values(), default=None)
    elapsed = last - load.first_place if last and load.first_place else None
    figures = {
        "orders": orders,
        "accepted": len(load.accepted_at),
        "errors": load.errors,
        "throughput": len(arrivals) / elapsed if elapsed else None,
        "elapsed": elapsed,
        "latency": spread(latency),
        "accepted_hop": spread(hop),
        "place": spread(load.place_ms),
        "accept": spread(load.accept_ms),
        "place_accept": spread([p + a for p, a in zip(load.place_ms, load.accept_ms, strict=True)]),
        "settled": settled_at - load.first_place if settled_at and load.first_place else None,
        "status": status,
        "cpu": cpu,
    }
    return figures


def invoice_check(accepted: set, listener, complete: bool, in_store: dict) -> dict:
    """Exactly one invoice per accepted order: on the wire (distinct envelope ids) and in billing."""
    arrivals = listener.first_arrival
    duplicated = sum(1 for ids in listener.ids.values() if len(ids) > 1)
    strangers = len(set(arrivals) - accepted)
    store_ok = all(n == 1 for n in in_store.values())
    return {
        "checked": len(accepted),
        "invoiced": len(set(arrivals) & accepted),
        "duplicated": duplicated,
        "redelivered": listener.messages - sum(len(ids) for ids in listener.ids.values()),
        "strangers": strangers,
        "store_counts": sorted(set(in_store.values())),
        "exactly_one": bool(complete and not duplicated and not strangers and store_ok),
    }


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int, with_children: bool = True) -> float:
    """CPU time of `pid` (user + system); with its children, live and reaped."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    own = sum(int(f) for f in fields[11 : 15 if with_children else 13]) / CLOCK_TICKS
    if not with_children:
        return own
    return own + sum(cpu_seconds(child, False) for child in _children(pid))


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            if ppid == pid:
                found.append(int(entry.name))
    return found


def cpu_snapshot(pids: dict[str, tuple[int, bool]]) -> dict[str, float]:
    """CPU seconds so far of each named process: {name: (pid, count its children)}."""
    return {name: cpu_seconds(pid, children) for name, (pid, children) in pids.items()}


def machine_busy_seconds() -> float:
    """CPU seconds the whole machine has spent not idle (all processes, anyone's)."""
    fields = [int(f) for f in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle, iowait
    return (sum(fields[:8]) - idle) / CLOCK_TICKS
