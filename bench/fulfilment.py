"""`make bench`, part 7: fulfilment's purchase orders and stock checks.

1. **Purchase orders sent per second** to a local distributor (oms/distributor.py, a threaded
   HTTP server in its own process): N purchase orders are raised in fulfilment's store (in this
   process, SQLite and PostgreSQL), then the shared sender sends them all — read the outbox, build
   the request, `POST` it with its idempotency key, record the attempt and the distributor's
   acknowledgement as events — and, for the floor, the API channel alone posts the same bodies
   with nothing recorded.
2. **`check_availability` p50/p99 with 5 distributors, one slow**: four live APIs that answer at
   once and one that takes 3 s (beyond the 800 ms deadline, so it is answered from its feed),
   asked with the answer cache off; then the same with all five fast, and with the cache on.
"""

import eventlet

eventlet.monkey_patch()

import argparse  # noqa: E402
import shutil  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

from bench.system import percentile  # noqa: E402
from oms.postgres import PostgresCluster  # noqa: E402
from services.fulfilment.application import FulfilmentApplication  # noqa: E402
from services.fulfilment.channels import DistributorApi, channels  # noqa: E402
from shared import context  # noqa: E402
from shared.sender import Backoff, Delivery, Sender  # noqa: E402
from shared.settings import Settings  # noqa: E402
from tests.thirdparties import DistributorServer  # noqa: E402

ADDRESS = {"line1": "1 Main St", "city": "Leeds", "postcode": "LS1 1AA", "country": "GB"}


def shipped(i: int, code: str) -> dict:
    order_id = f"00000000-0000-4000-8000-{i:012d}"
    line = {"sku": f"SKU-{i % 50}", "name": "Mug", "quantity": 3, "unit_price": "9.50",
            "currency": "EUR", "distributor": code, "made_in_house": False}  # fmt: skip
    data = {"order_id": order_id, "reference": f"2026-{i:06d}", "status": "shipped",
            "client": {"name": "Ada", "email": "ada@example.com", "phone": "+442079460000"},
            "shipping_id": f"10000000-0000-4000-8000-{i:012d}", "planned_date": "2026-12-20",
            "address": ADDRESS, "lines": [line]}  # fmt: skip
    return {"id": f"orders:{i + 1}", "type": "orders.shipping_shipped", "source": "orders",
            "subject": order_id, "data": data}  # fmt: skip


def sending(url: str, workdir: Path, n: int) -> dict:
    with DistributorServer(workdir / f"distributor-{time.monotonic_ns()}") as distributor:
        settings = Settings.load({"SEND_BACKOFF_SECONDS": "0"})
        app = FulfilmentApplication(url, settings)
        with context.bound(actor="bench", role="admin"):
            app.register_distributor("bench", {
                "name": "Bench", "account_manager_email": "am@bench.example", "currency": "EUR",
                "ordering": distributor.ordering(), "active": True, "delivers_to": []},
                "bench")  # fmt: skip
        for i in range(n):
            envelope = shipped(i, "bench")
            with context.bound(correlation_id=f"bench-{i}", causation_id=envelope["id"]):
                app.save(*app.react(envelope))
        sender = Sender(app, channels(settings), Backoff(0, 1, 8))
        started = time.perf_counter()
        while sender.send_due():
            pass
        sent_in = time.perf_counter() - started
        sender._leader.release()
        taken = distributor.orders()
        assert len(taken) == n and len({o["key"] for o in taken}) == n, "not each one, once"
        acknowledged = sum(
            po.status == "acknowledged"
            for po in (app.repository.get(po_id) for po_id in _po_ids(app))
        )
        assert acknowledged == n, f"{acknowledged}/{n} acknowledged"
        app.close()
    with DistributorServer(workdir / f"floor-{time.monotonic_ns()}") as distributor:
        api = DistributorApi(Settings.load({}))
        started = time.perf_counter()
        for i in range(n):
            body = {"purchase_order_id": f"po-{i}", "lines": shipped(i, "x")["data"]["lines"]}
            content = {"url": f"{distributor.url}/orders", "idempotency_key": f"po-{i}",
                       "body": body}  # fmt: skip
            api(Delivery(f"po-{i}:order", 1, "api", content["url"], content))
        floor_in = time.perf_counter() - started
        api.close()
    return {"sent_per_s": n / sent_in, "floor_per_s": n / floor_in, "n": n}


def _po_ids(app) -> list:
    return [row["aggregate_id"] for row in app.outbox.entries(app.engine, limit=100000)]


def availability(workdir: Path, calls: int) -> dict:
    slow_options = ("--stock-delay", "3")
    servers = [DistributorServer(workdir / f"live-{i}") for i in range(4)]
    servers.append(DistributorServer(workdir / "slow", *slow_options))
    fast_fifth = DistributorServer(workdir / "fast-5")
    try:
        results = {}
        for label, fifth, keep in (("one slow (3 s)", servers[4], 0), ("all fast", fast_fifth, 0),
                                   ("one slow, answers kept 30 s", servers[4], 30)):  # fmt: skip
            results[label] = _ask(workdir, [*servers[:4], fifth], calls, keep)
        return results
    finally:
        for server in [*servers, fast_fifth]:
            server.close()


def _ask(workdir: Path, servers: list, calls: int, keep: int) -> dict:
    settings = Settings.load({"LIVE_CACHE_SECONDS": str(keep)})
    app = FulfilmentApplication(
        f"sqlite:///{workdir}/stock-{time.monotonic_ns()}.sqlite3", settings
    )
    skus = [f"SKU-{i}" for i in range(5)]
    with context.bound(actor="bench", role="admin"):
        for i, server in enumerate(servers):
            server.stock({sku: {"stock": 10 + i, "cost_price": f"{3 + i}.50"} for sku in skus})
            code = f"d{i}"
            app.register_distributor(code, {
                "name": code, "account_manager_email": f"am@{code}.example", "currency": "EUR",
                "ordering": server.ordering(), "live": server.live(), "feed": server.feed(),
                "delivers_to": [], "active": True}, "bench")  # fmt: skip
            app.import_feed(code)
    lines = [{"sku": sku, "quantity": 2} for sku in skus]
    app.check_availability(lines, 800)  # warm
    took, late = [], 0
    for _ in range(calls):
        started = time.perf_counter()
        answer = app.check_availability(lines, 800)
        took.append((time.perf_counter() - started) * 1000)
        late += sum(o.get("why") == "live answer late" for o in answer["lines"][0]["offers"])
    app.close()
    return {"p50": percentile(took, 50), "p99": percentile(took, 99), "late": late, "calls": calls}


def render(sent: dict, asked: dict) -> str:
    lines = ["purchase orders sent to a local distributor (shared sender, HTTP, attempt recorded):"]
    for store, r in sent.items():
        lines.append(
            f"  {store:<9} {r['sent_per_s']:7.1f} POs/s sent and recorded   "
            f"(the API channel alone: {r['floor_per_s']:7.1f}/s; {r['n']} POs)"
        )
    lines.append("check_availability, 5 skus x 5 distributors, deadline 800 ms:")
    for label, r in asked.items():
        lines.append(
            f"  {label:<30} p50 {r['p50']:7.1f} ms   p99 {r['p99']:7.1f} ms   "
            f"({r['calls']} calls; answered from the feed as late: {r['late']})"
        )
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.fulfilment", description=__doc__)
    parser.add_argument("--pos", type=int, default=500)
    parser.add_argument("--calls", type=int, default=100)
    parser.add_argument("--stores", default="sqlite,postgres")
    args = parser.parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="oms-bench-fulfilment-"))
    workdir.chmod(0o755)
    sent = {}
    try:
        if "sqlite" in args.stores:
            sent["sqlite"] = sending(f"sqlite:///{workdir}/fulfilment.sqlite3", workdir, args.pos)
        if "postgres" in args.stores:
            cluster = PostgresCluster(workdir / "postgres")
            cluster.start()
            try:
                url = cluster.create_database("bench_fulfilment")
                sent["postgres"] = sending(url, workdir, args.pos)
            finally:
                cluster.stop()
        asked = availability(workdir, args.calls)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print(render(sent, asked))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
