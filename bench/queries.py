"""`make bench`, part 2: the back office's list and search queries at 10,000 and 100,000 orders.

Generates an order desk (oms.generate: every status, 60 clients, 300 products, two years of
placing dates) in the orders service's own store, then times `list_orders` as the RPC method runs it
(validated query in, a page of rows plus counts per status out), in process, on SQLite and on a
throwaway PostgreSQL cluster. An RPC call adds its own 2-3 ms on top (docs/benchmarks.md).
"""

import eventlet

eventlet.monkey_patch()

import argparse  # noqa: E402
import random  # noqa: E402
import shutil  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

from bench.system import percentile  # noqa: E402
from oms.generate import CLIENTS, PRODUCTS, WORDS, generate  # noqa: E402
from oms.postgres import PostgresCluster  # noqa: E402
from services.orders.application import OrdersApplication  # noqa: E402
from services.orders.schemas import ListOrdersIn  # noqa: E402
from shared.validation import load  # noqa: E402

SIZES = (10_000, 100_000)


def queries(rng: random.Random, references: list[str]) -> dict:
    """Each kind of query the back office sends, drawn afresh for every repetition."""
    return {
        "newest open orders (default list)": lambda: {},
        "sorted by title, ascending": lambda: {"sort": "title", "direction": "asc"},
        "sorted by total, descending": lambda: {"sort": "total"},
        "status filter (in production, ready)": lambda: {"statuses": ["in_production", "ready"]},
        "one client": lambda: {"client_code": rng.choice(CLIENTS)[0], "include_closed": True},
        "one product": lambda: {"sku": rng.choice(PRODUCTS)[0], "include_closed": True},
        "a month of placing dates": lambda: _month(rng),
        "search: a reference": lambda: {"search": rng.choice(references), "include_closed": True},
        "search: a client name word": lambda: {"search": rng.choice(CLIENTS)[1].split()[1]},
        "search: a sku": lambda: {"search": rng.choice(PRODUCTS)[0].lower()},
        "search: two words": lambda: {"search": f"{rng.choice(WORDS)} {rng.choice(WORDS)}"},
    }


def _month(rng: random.Random) -> dict:
    month = rng.randint(1, 12)
    return {"placed_from": f"2025-{month:02d}-01", "placed_to": f"2025-{month:02d}-28"}


def time_queries(app: OrdersApplication, repeat: int, seed: int = 11) -> dict:
    rng = random.Random(seed)
    references = _some_references(app)
    figures = {}
    for label, make in queries(rng, references).items():
        figures[label] = _timed(app, make, repeat)
    figures["page 20 of newest open orders"] = _deep_page(app, 20, max(3, repeat // 10))
    return figures


def _timed(app, make, repeat: int) -> dict:
    samples, rows = [], 0
    for _ in range(repeat):
        query = load(ListOrdersIn, make())
        started = time.perf_counter()
        page = app.list_orders(query)
        samples.append((time.perf_counter() - started) * 1000)
        rows += len(page["orders"])
    return {"p50": percentile(samples, 50), "p99": percentile(samples, 99), "rows": rows / repeat}


def _deep_page(app, depth: int, repeat: int) -> dict:
    samples = []
    for _ in range(repeat):
        cursor = None
        for _ in range(depth):
            query = load(ListOrdersIn, {"cursor": cursor} if cursor else {})
            started = time.perf_counter()
            cursor = app.list_orders(query)["next_cursor"]
        samples.append((time.perf_counter() - started) * 1000)
    return {"p50": percentile(samples, 50), "p99": percentile(samples, 99), "rows": 50}


def _some_references(app) -> list[str]:
    page = app.list_orders(load(ListOrdersIn, {"limit": 500, "include_closed": True}))
    return [row["reference"] for row in page["orders"]]


def bench_store(name: str, url: str, sizes, repeat: int) -> dict:
    app = OrdersApplication(url)
    results, have = {}, 0
    for size in sizes:
        started = time.monotonic()
        generate(app, size - have, seed=size)
        print(
            f"  {name}: {size:,} orders generated (+{time.monotonic() - started:.0f} s)", flush=True
        )
        have = size
        results[size] = time_queries(app, repeat)
        results[size]["rebuild"] = time_rebuild(app)
        print(f"  {name}: {size:,} orders: rebuild {results[size]['rebuild']}", flush=True)
    app.close()
    return results


def time_rebuild(app) -> dict:
    """`oms rebuild` in process: the whole list read model dropped and written again from one
    replay of the log; the rows must come out identical to those written as the orders went."""
    before = app.read_model_rows()
    started = time.perf_counter()
    app.rebuild_read_model()
    seconds = time.perf_counter() - started
    events = app.last_position()
    return {
        "events": events,
        "seconds": round(seconds, 2),
        "events_per_second": round(events / seconds),
        "identical": app.read_model_rows() == before,
    }


def render(results: dict, sizes, repeat: int) -> str:
    stores = list(results)
    header = " | ".join(f"{s} {n:,}" for s in stores for n in sizes)
    lines = [
        f"list_orders, p50 / p99 ms over {repeat} queries each (page of 50 + counts per status)",
        "",
        f"| query | {header} |",
        "|---|" + "---|" * (len(stores) * len(sizes)),
    ]
    labels = [k for k in next(iter(next(iter(results.values())).values())) if k != "rebuild"]
    for label in labels:
        cells = [
            f"{results[s][n][label]['p50']:.1f} / {results[s][n][label]['p99']:.1f}"
            for s in stores
            for n in sizes
        ]
        lines.append(f"| {label} | {' | '.join(cells)} |")
    cells = []
    for s in stores:
        for n in sizes:
            r = results[s][n]["rebuild"]
            same = "identical" if r["identical"] else "**DIFFERENT**"
            cells.append(
                f"{r['events_per_second']:,} ev/s ({r['events']:,} in {r['seconds']} s, {same})"
            )
    lines.append(f"| rebuild the list from the log | {' | '.join(cells)} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.queries", description=__doc__)
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)))
    parser.add_argument("--stores", default="sqlite,postgres")
    parser.add_argument("--repeat", type=int, default=50)
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    workdir = Path(tempfile.mkdtemp(prefix="oms-bench-queries-"))
    workdir.chmod(0o755)
    results = {}
    try:
        if "sqlite" in args.stores:
            results["sqlite"] = bench_store(
                "sqlite", f"sqlite:///{workdir}/orders.sqlite3", sizes, args.repeat
            )
        if "postgres" in args.stores:
            cluster = PostgresCluster(workdir / "postgres")
            cluster.start()
            try:
                url = cluster.create_database("bench_orders")
                results["postgres"] = bench_store("postgres", url, sizes, args.repeat)
            finally:
                cluster.stop()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print(render(results, sizes, args.repeat))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
