"""`make bench`: system throughput and latency, and the raw limits under it, on SQLite and PostgreSQL."""

import eventlet

eventlet.monkey_patch()

import argparse  # noqa: E402
import logging  # noqa: E402
import os  # noqa: E402
import platform  # noqa: E402
import shutil  # noqa: E402
import signal  # noqa: E402
import sqlite3  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from contextlib import contextmanager  # noqa: E402
from datetime import UTC, datetime  # noqa: E402
from importlib import metadata  # noqa: E402
from pathlib import Path  # noqa: E402

from kombu import Connection  # noqa: E402
from nameko.standalone.rpc import ClusterRpcProxy  # noqa: E402

from bench import profile, raw  # noqa: E402
from bench.system import (  # noqa: E402
    InvoiceListener,
    Load,
    Services,
    bench_actor,
    cpu_snapshot,
    drive,
    invoice_check,
    invoices_in_store,
    latencies,
    machine_busy_seconds,
    settle,
    spread,
    system_figures,
)
from oms.postgres import PostgresCluster  # noqa: E402
from oms.rabbitmq import RabbitNode  # noqa: E402
from oms.serve import service_class  # noqa: E402
from shared.settings import SERVICES  # noqa: E402
from tests.support import create_vhost  # noqa: E402

DEFAULTS = {
    "orders": 400,
    "callers": 10,
    "messages": 5000,
    "saves": 2000,
    "paced_orders": 60,
    "brisk_orders": 150,
}
QUICK = {
    "orders": 40,
    "callers": 4,
    "messages": 500,
    "saves": 200,
    "paced_orders": 10,
    "brisk_orders": 20,
}
STORES = ("sqlite", "postgres")
STARTED = time.monotonic()
# py-amqp warns "Received method (60, 80) during closing channel" for every RPC proxy that closes
# after an UnknownService while the services are still starting: noise here.
logging.getLogger("amqp").setLevel(logging.ERROR)


def progress(message: str) -> None:
    print(f"[{time.monotonic() - STARTED:6.1f}s] {message}", flush=True)


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__)
    parser.add_argument(
        "--orders", type=int, help=f"orders to drive (default {DEFAULTS['orders']})"
    )
    parser.add_argument("--callers", type=int, help=f"concurrent callers ({DEFAULTS['callers']})")
    parser.add_argument("--messages", type=int, help=f"raw publishes ({DEFAULTS['messages']})")
    parser.add_argument("--saves", type=int, help=f"raw single-event saves ({DEFAULTS['saves']})")
    parser.add_argument(
        "--paced-orders",
        type=int,
        help=f"orders at a steady rate after ({DEFAULTS['paced_orders']}; 0: none)",
    )
    parser.add_argument("--paced-rate", type=float, default=3.0, help="their rate, orders/s (3)")
    parser.add_argument(
        "--brisk-orders",
        type=int,
        help=f"then orders at a brisk steady rate ({DEFAULTS['brisk_orders']}; 0: none)",
    )
    parser.add_argument("--brisk-rate", type=float, default=50.0, help="their rate (50)")
    parser.add_argument("--stores", default=",".join(STORES), help="sqlite,postgres (default both)")
    parser.add_argument("--quick", action="store_true", help=f"small numbers: {QUICK}")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    parser.add_argument(
        "--profile", action="store_true", help="py-spy every service process under full load"
    )
    parser.add_argument(
        "--no-floor", dest="floor", action="store_false", help="skip the floor pipeline"
    )
    args = parser.parse_args(argv)
    for key, value in (QUICK if args.quick else DEFAULTS).items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    args.stores = [s.strip() for s in args.stores.split(",") if s.strip()]
    unknown = set(args.stores) - set(STORES)
    if unknown or not args.stores:
        parser.error(f"--stores: choose from {', '.join(STORES)}")
    return args


def _interrupted(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


@contextmanager
def servers(workdir: Path, with_postgres: bool):
    """A private RabbitMQ node and PostgreSQL cluster under `workdir`, stopped whatever happens."""
    node = RabbitNode(workdir / "rabbitmq")
    cluster = PostgresCluster(workdir / "postgres") if with_postgres else None
    try:
        progress(f"starting a private RabbitMQ node on 127.0.0.1:{node.amqp_port}")
        node.start()
        if cluster:
            progress(f"starting a throwaway PostgreSQL cluster on 127.0.0.1:{cluster.port}")
            cluster.start()
        yield node, cluster
    finally:
        progress("stopping RabbitMQ and PostgreSQL")
        for server in (cluster, node):
            try:
                server and server.stop()
            except Exception as exc:  # noqa: BLE001 - stop the other one anyway
                print(f"warning: could not stop {server}: {exc!r}", file=sys.stderr)


def database_urls(store: str, cluster, directory: Path, prefix: str = "bench") -> tuple[dict, str]:
    """Fresh databases: one per service, and one for the raw saves."""
    directory.mkdir(parents=True, exist_ok=True)
    names = [*SERVICES, "saves"]
    if store == "sqlite":
        urls = {name: f"sqlite:///{directory / name}.sqlite3" for name in names}
    else:
        urls = {name: cluster.create_database(f"{prefix}_{name}") for name in names}
    return {s: urls[s] for s in SERVICES}, urls["saves"]


def fresh_vhost(node, name: str) -> str:
    vhost = f"bench-{name}"
    create_vhost(node, vhost)
    return f"{node.amqp_uri}{vhost}"


def bench_store(store: str, node, cluster, workdir: Path, args) -> dict:
    """The floor, then the system, then (services stopped) the raw limits: all on one store."""
    floor = run_floor(store, node, cluster, workdir, args) if args.floor else None
    uri = fresh_vhost(node, store)
    urls, saves_url = database_urls(store, cluster, workdir / store)
    services = Services(uri, urls, workdir / store)
    progress(f"{store}: starting orders, billing, fulfilment, production, notify (5 processes)")
    services.start()
    try:
        services.wait_ready()
        progress(f"{store}: all five services answer log_status()")
        watched = watched_processes(services, node, cluster if store == "postgres" else None)
        results = run_system(store, uri, args, services, watched)
    finally:
        progress(f"{store}: stopping the services (SIGTERM)")
        services.stop()
    results["floor"] = floor
    results.update(raw.measure(uri, saves_url, args.messages, args.saves, progress))
    results["sqlite_pragmas"] = sqlite_pragmas(saves_url) if store == "sqlite" else None
    return results


def run_floor(store: str, node, cluster, workdir: Path, args) -> dict:
    """The same five processes, broker, store and load, with reactions that only record their
    tracking (`bench.floor`): done when every follower of orders has tracked its last event."""
    uri = fresh_vhost(node, f"{store}-floor")
    urls, _ = database_urls(store, cluster, workdir / f"{store}-floor", prefix="floor")
    services = Services(uri, urls, workdir / f"{store}-floor", module="bench.floor")
    progress(f"{store}: floor: starting the five services with reactions that do nothing")
    services.start()
    try:
        services.wait_ready()
        watched = watched_processes(services, node, cluster if store == "postgres" else None)
        progress(f"{store}: floor: driving {args.orders} orders with {args.callers} callers")
        profiler = start_profiler(args, watched, store, "floor-profiles")
        cpu_before = cpu_snapshot(watched)
        load = drive(uri, args.orders, args.callers)
        tracked_at = all_tracked(uri, timeout=180)
        settle(uri)
        profiles = profiler.stop() if profiler else {}
        cpu = _cpu_used(cpu_before, cpu_snapshot(watched), time.monotonic() - load.first_place)
        services.check_alive()
    finally:
        services.stop()
    elapsed = tracked_at - load.first_place if tracked_at else None
    progress(f"{store}: floor: {len(load.accepted_at)} accepted, tracked in {elapsed or 0:.1f} s")
    return {
        "accepted": len(load.accepted_at),
        "errors": load.errors,
        "throughput": len(load.accepted_at) / elapsed if elapsed else None,
        "place_accept": spread([p + a for p, a in zip(load.place_ms, load.accept_ms, strict=True)]),
        "cpu": cpu,
        "profiles": profiles,
    }


def start_profiler(args, watched: dict, store: str, name: str):
    if not args.profile:
        return None
    pids = {service: pid for service, (pid, _) in watched.items() if service in SERVICES}
    profiler = profile.Profiler(pids, args.workdir / store / name)
    profiler.start()
    return profiler


def all_tracked(uri: str, timeout: float) -> float | None:
    """When every follower of orders had tracked the last event it is sent (the last orders
    published of the names its queue is bound to); None if not within `timeout`."""
    bound = {
        service: [
            t.split(".", 1)[1] for t in app_class(service).reactions if t.startswith("orders.")
        ]
        for service in SERVICES
        if "orders" in app_class(service).follows
    }
    deadline = time.monotonic() + timeout
    with ClusterRpcProxy({"AMQP_URI": uri}, timeout=30, context_data=bench_actor()) as rpc:
        while time.monotonic() < deadline:
            now = time.monotonic()
            orders = rpc.orders.log_status()
            sent = orders["published_by_type"]
            if orders["relayed_position"] == orders["last_position"] and all(
                getattr(rpc, service).log_status()["tracking"]["orders"]
                >= max((sent.get(name, 0) for name in names), default=0)
                for service, names in bound.items()
            ):
                return now
            eventlet.sleep(0.05)
    return None


def app_class(service: str):
    return vars(service_class(service))["app"].app_class


def watched_processes(services, node, cluster) -> dict:
    """The processes whose CPU time is counted: {name: (pid, with its children)}."""
    pids = {name: (proc.pid, False) for name, proc in services.procs.items()}
    pids["rabbitmq"] = (node.beam_pid(), True)
    if cluster:
        pids["postgres"] = (cluster.postmaster_pid(), True)
    pids["driver"] = (os.getpid(), False)
    return pids


def run_system(store: str, uri: str, args, services, watched: dict) -> dict:
    """Full load, then paced load, with every invoice and order_accepted timed on the wire."""
    listener = InvoiceListener(uri)
    listener.start()  # bound before any load
    try:
        services.mark_logs()
        figures = full_load(store, uri, args, listener, watched)
        paced, paced_complete = paced_load(
            store, uri, listener, args.paced_orders, args.paced_rate, args.callers
        )
        callers = max(args.callers, int(args.brisk_rate))  # enough to keep the pace
        brisk, brisk_complete = paced_load(
            store, uri, listener, args.brisk_orders, args.brisk_rate, callers
        )
        services.check_alive()
        accepted = (
            set(figures.pop("load").accepted_at) | set(paced.accepted_at) | set(brisk.accepted_at)
        )
        in_store = invoices_in_store(uri, accepted)
    finally:
        listener.stop()
    complete = figures["complete"] and paced_complete and brisk_complete
    figures.update(invoice_check(accepted, listener, complete, in_store))
    for name, load in (("paced", paced), ("brisk", brisk)):
        figures[name] = {
            "latency": spread(latencies(load, listener.first_arrival)),
            "accepted_hop": spread(latencies(load, listener.accepted_arrival)),
            "accepted": len(load.accepted_at),
            "errors": load.errors,
        }
    errors = figures["errors"] or paced.errors or brisk.errors
    figures["ok"] = figures["exactly_one"] and not errors
    figures["log_problems"] = services.log_problems()
    return figures


def full_load(store: str, uri: str, args, listener, watched: dict) -> dict:
    """As fast as the callers are answered; figures up to the moment all five services are idle."""
    progress(f"{store}: driving {args.orders} orders with {args.callers} callers")
    profiler = start_profiler(args, watched, store, "profiles")
    cpu_before, machine_before = cpu_snapshot(watched), machine_busy_seconds()
    load = drive(uri, args.orders, args.callers)
    progress(f"{store}: {len(load.accepted_at)} accepted, {len(load.errors)} errors; invoices…")
    complete = listener.wait_for(load.accepted_at, timeout=180)
    progress(f"{store}: {len(listener.first_arrival)} invoices arrived; waiting until idle")
    status, settled_at = settle(uri)
    profiles = profiler.stop() if profiler else {}
    cpu = _cpu_used(cpu_before, cpu_snapshot(watched), time.monotonic() - load.first_place)
    cpu["machine"] = machine_busy_seconds() - machine_before
    figures = system_figures(args.orders, load, listener, status, settled_at, cpu)
    return dict(figures, load=load, complete=complete, profiles=profiles)


def paced_load(store: str, uri: str, listener, orders: int, rate: float, callers: int):
    """Orders started at a steady rate: the latency without (or with less of) a backlog."""
    if not orders:
        return Load(), True
    progress(f"{store}: pacing {orders} more orders at {rate:g}/s")
    paced = drive(uri, orders, callers, rate=rate)
    complete = listener.wait_for(paced.accepted_at, timeout=180)
    settle(uri)
    return paced, complete


def _cpu_used(before: dict, after: dict, wall: float) -> dict:
    used = {name: after[name] - before[name] for name in before}
    return {"seconds": used, "wall": wall}


def run(args, argv) -> dict:
    workdir = args.workdir = Path(tempfile.mkdtemp(prefix="oms-bench-"))
    os.chmod(workdir, 0o755)  # the postgres user must reach its cluster directory
    progress(f"working directory {workdir}")
    keep = args.keep
    try:
        with servers(workdir, "postgres" in args.stores) as (node, cluster):
            about = facts(node, cluster, argv)
            fsync = raw.fsync_latency(workdir)
            about["disk"] = (
                f"fsync after a 4 KiB write: p50 {fsync['p50']:.1f} ms, p99 {fsync['p99']:.1f} ms"
            )
            results = {
                store: bench_store(store, node, cluster, workdir, args) for store in args.stores
            }
        keep = keep or not all(r["ok"] for r in results.values())
        return {"facts": about, "results": results}
    except BaseException:
        keep = True
        raise
    finally:
        if keep:
            print(f"kept {workdir} (service logs under <store>/, server logs)", flush=True)
        else:
            shutil.rmtree(workdir, ignore_errors=True)


# ---------------------------------------------------------------- report

LIBRARIES = (
    "nameko",
    "eventlet",
    "kombu",
    "eventsourcing",
    "eventsourcing-sqlalchemy",
    "SQLAlchemy",
    "psycopg2-binary",
)


def facts(node, cluster, argv) -> dict:
    """The command, the machine, the versions and the server settings the figures belong to."""
    return {
        "command": " ".join(["python -m bench.run", *argv]),
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine(),
        "python": f"Python {platform.python_version()}",
        "libraries": ", ".join(f"{name} {metadata.version(name)}" for name in LIBRARIES),
        "rabbitmq": rabbitmq_version(node.amqp_uri),
        "postgres": postgres_facts(cluster) if cluster else None,
    }


def machine() -> str:
    cpuinfo = Path("/proc/cpuinfo").read_text()
    model = next(
        (ln.split(":", 1)[1].strip() for ln in cpuinfo.splitlines() if ln.startswith("model name")),
        "?",
    )
    mem = next(
        ln.split()[1]
        for ln in Path("/proc/meminfo").read_text().splitlines()
        if ln.startswith("MemTotal")
    )
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return (
        f"nproc {len(os.sched_getaffinity(0))} ({model}), {int(mem) / 2**20:.1f} GiB RAM, "
        f"Linux {platform.release()}, load average at start {load}"
    )


def rabbitmq_version(uri: str) -> str:
    with Connection(uri) as conn:
        conn.connect()
        props = conn.connection.server_properties
    return f"RabbitMQ {props.get('version')} ({props.get('platform')}), private node, one durable disk node"


def postgres_facts(cluster) -> str:
    import psycopg2

    conn = psycopg2.connect(host="127.0.0.1", port=cluster.port, user="postgres", dbname="postgres")
    try:
        with conn.cursor() as cur:
            shown = {}
            for name in ("server_version", *PG_SETTINGS):
                cur.execute(f"SHOW {name}")
                shown[name] = cur.fetchone()[0]
    finally:
        conn.close()
    settings = ", ".join(f"{name}={shown[name]}" for name in PG_SETTINGS)
    return f"PostgreSQL {shown['server_version']}, throwaway cluster: {settings}"


PG_SETTINGS = (
    "fsync",
    "synchronous_commit",
    "full_page_writes",
    "shared_buffers",
    "max_connections",
)


def sqlite_pragmas(url: str) -> str:
    conn = sqlite3.connect(url.removeprefix("sqlite:///"))
    try:
        journal = conn.execute("PRAGMA journal_mode").fetchone()[0]
        sync = conn.execute("PRAGMA synchronous").fetchone()[0]
    finally:
        conn.close()
    names = {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}
    path = url.removeprefix("sqlite:///")
    return (
        f"SQLite {sqlite3.sqlite_version}, journal_mode={journal}, "
        f"synchronous={names.get(sync, sync)} (library defaults), files on {filesystem(path)}"
    )


def filesystem(path: str) -> str:
    """The device and type of the mount holding `path` (longest matching mount point)."""
    mounts = [line.split() for line in Path("/proc/mounts").read_text().splitlines()]
    dev, point, kind = max(
        ((m[0], m[1], m[2]) for m in mounts if path.startswith(m[1].rstrip("/") + "/")),
        key=lambda m: len(m[1]),
    )
    return f"{kind} ({dev} at {point})"


def _ms(spread: dict, keys=("p50", "p99", "max")) -> str:
    return " / ".join("–" if spread[k] is None else f"{spread[k]:.0f}" for k in keys)


def _rate(value) -> str:
    return "–" if value is None else f"{value:,.0f}"


def _per_order(r: dict) -> str:
    status = r["status"] or {}
    return " / ".join(
        f"{status[s]['last_position'] / max(r['accepted'], 1):.1f}" if s in status else "?"
        for s in SERVICES
    )


def _cpu_per_order(r: dict) -> str:
    used, orders = r["cpu"]["seconds"], max(r["accepted"], 1)
    return ", ".join(f"{name} {seconds * 1000 / orders:.0f}" for name, seconds in used.items())


def _cpu_total(r: dict) -> str:
    return f"{sum(r['cpu']['seconds'].values()) * 1000 / max(r['accepted'], 1):.0f}"


def _floor(cell):
    return lambda r: cell(r["floor"]) if r.get("floor") else "–"


def _ratio(r: dict) -> str:
    floor = r.get("floor") or {}
    if not (r["throughput"] and floor.get("throughput")):
        return "–"
    return f"{r['throughput'] / floor['throughput']:.2f}"


def _cpu_busy(r: dict) -> str:
    ours = sum(r["cpu"]["seconds"].values()) / r["cpu"]["wall"]
    machine = r["cpu"]["machine"] / r["cpu"]["wall"]
    return f"{ours:.2f} of {len(os.sched_getaffinity(0))} cores (whole machine: {machine:.2f})"


def _exactly_one(r: dict) -> str:
    verdict = "yes" if r["exactly_one"] else "**NO**"
    return (
        f"{verdict}: {r['invoiced']}/{r['checked']} accepted orders invoiced, {r['duplicated']} duplicated, "
        f"{r['strangers']} unknown, billing store per order {r['store_counts']}"
    )


PACED_LABEL = "paced, {paced_orders} more orders at {paced_rate:g}/s: accept → invoice (ms)"

ROWS = (
    (
        "orders placed + accepted",
        lambda r: f"{r['accepted']}/{r['orders']} ({len(r['errors'])} RPC errors)",
    ),
    (
        "throughput, first place → last invoice (orders/s)",
        lambda r: f"{r['throughput']:.1f}" if r["throughput"] else "–",
    ),
    ("  wall time for all orders (s)", lambda r: f"{r['elapsed']:.1f}" if r["elapsed"] else "–"),
    ("accept → invoice on the wire, p50 / p99 / max (ms)", lambda r: _ms(r["latency"])),
    ("  of which accept → order_accepted on the wire (ms)", lambda r: _ms(r["accepted_hop"])),
    (PACED_LABEL, lambda r: _ms(r["paced"]["latency"])),
    (
        "brisk, {brisk_orders} more orders at {brisk_rate:g}/s: accept → invoice (ms)",
        lambda r: _ms(r["brisk"]["latency"]),
    ),
    (
        "  of which accept → order_accepted on the wire (ms)",
        lambda r: _ms(r["paced"]["accepted_hop"]),
    ),
    ("place_order RPC, p50 / p99 / max (ms)", lambda r: _ms(r["place"])),
    ("accept_order RPC, p50 / p99 / max (ms)", lambda r: _ms(r["accept"])),
    ("place + accept per order, p50 / p99 / max (ms)", lambda r: _ms(r["place_accept"])),
    ("exactly one invoice per order (full and paced load)", _exactly_one),
    ("  invoice messages redelivered (same id)", lambda r: str(r["redelivered"])),
    (
        "all five services idle after (s, ±0.5)",
        lambda r: f"{r['settled']:.1f}" if r["settled"] else "not within 180 s",
    ),
    ("events stored per order: " + " / ".join(SERVICES), _per_order),
    ("parked reactions", lambda r: str(sum(v["parked"] for v in (r["status"] or {}).values()))),
    ("service log warnings+errors during the run", lambda r: str(sum(r["log_problems"].values()))),
    ("CPU ms per order, by process", _cpu_per_order),
    ("CPU ms per order, all processes", _cpu_total),
    (
        "floor: throughput, first place → every follower tracked it (orders/s)",
        _floor(lambda f: f"{f['throughput']:.1f}" if f["throughput"] else "–"),
    ),
    (
        "floor: place + accept per order, p50 / p99 / max (ms)",
        _floor(lambda f: _ms(f["place_accept"])),
    ),
    ("floor: CPU ms per order, by process", _floor(_cpu_per_order)),
    ("floor: CPU ms per order, all processes", _floor(_cpu_total)),
    ("**system / floor (throughput)**", _ratio),
    ("CPU busy, first place → idle (processes above)", _cpu_busy),
    ("raw: kombu publish, confirm each (msg/s)", lambda r: _rate(r["publish_confirm"])),
    (
        "raw: kombu publish, confirms per batch of 200, as the relay (msg/s)",
        lambda r: _rate(r["publish_batched"]),
    ),
    ("raw: kombu publish, no confirms (msg/s)", lambda r: _rate(r["publish_plain"])),
    ("raw: single-event saves, sequential (saves/s)", lambda r: _rate(r["saves_seq"])),
    ("raw: single-event saves, 10 greenthreads (saves/s)", lambda r: _rate(r["saves_10"])),
)


def render(facts: dict, results: dict, args) -> str:
    stores = list(results)
    lines = [
        "",
        f"command:   {facts['command']}   (make bench runs it with defaults)",
        f"date:      {facts['date']}",
        f"machine:   {facts['machine']}",
        f"disk:      {facts['disk']} (measured in the working directory at start)",
        f"software:  {facts['python']}; {facts['libraries']}",
        f"broker:    {facts['rabbitmq']}",
    ]
    if facts["postgres"]:
        lines.append(f"postgres:  {facts['postgres']}")
    lines += [f"sqlite:    {r['sqlite_pragmas']}" for r in results.values() if r["sqlite_pragmas"]]
    lines.append(
        f"load:      {args.orders} orders as fast as {args.callers} callers are answered, then "
        f"{args.paced_orders} at {args.paced_rate:g}/s, then {args.brisk_orders} at "
        f"{args.brisk_rate:g}/s; raw: {args.messages} messages, "
        f"{args.saves} saves; each service in its own process with its own database"
    )
    lines += ["", f"| figure | {' | '.join(stores)} |", f"|---|{'---|' * len(stores)}"]
    for label, cell in ROWS:
        cells = " | ".join(cell(results[s]) for s in stores)
        lines.append(f"| {label.format(**vars(args))} | {cells} |")
    lines += _problems(results)
    for store, r in results.items():
        if (r.get("floor") or {}).get("profiles"):
            lines += ["", f"## {store}: floor", *profile.render(r["floor"]["profiles"])]
        if r.get("profiles"):
            lines += ["", f"## {store}: system", *profile.render(r["profiles"])]
    return "\n".join(lines)


def _problems(results: dict) -> list[str]:
    out = []
    for store, r in results.items():
        errors = r["errors"] + r["paced"]["errors"] + r["brisk"]["errors"]
        for error in sorted(set(errors))[:5]:
            out.append(f"{store}: RPC error ({errors.count(error)}x): {error}")
        for problem in r.get("problems", []):
            out.append(f"{store}: {problem}")
        if r["log_problems"]:
            out.append(
                f"{store}: warning/error log lines (service.event: count): {r['log_problems']}"
            )
    return ["", *out] if out else []


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _interrupted)
    try:
        outcome = run(args, argv)
    except KeyboardInterrupt:
        print("interrupted; servers and services stopped", file=sys.stderr)
        return 130
    print(render(outcome["facts"], outcome["results"], args), flush=True)
    return 0 if all(r["ok"] for r in outcome["results"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
