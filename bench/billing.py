"""`make bench`, part 3: billing's own costs, in process, on SQLite and on a throwaway PostgreSQL.

1. Following orders: N orders' `order_placed` and `order_accepted` envelopes go through
   `BillingApplication.handle` exactly as the follower hands them over (reaction, invoice number,
   read-model rows and tracking record in one transaction). Reported as orders invoiced per second.
2. `record_payment` (the use case behind the RPC): p50/p99, sequentially and from 10 greenthreads.
3. The gateway callback as the HTTP handler runs it (signature check, JSON, validation, payment).
4. `list_invoices` over the N invoices (page of 50 plus counts per status).
"""

import eventlet

eventlet.monkey_patch()

import argparse  # noqa: E402
import json  # noqa: E402
import shutil  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from datetime import UTC, date, datetime  # noqa: E402
from decimal import Decimal  # noqa: E402
from pathlib import Path  # noqa: E402
from uuid import NAMESPACE_URL, uuid5  # noqa: E402

from eventsourcing.persistence import Tracking  # noqa: E402

from bench.system import percentile  # noqa: E402
from oms.postgres import PostgresCluster  # noqa: E402
from services.billing import documents as billing_documents  # noqa: E402
from services.billing import gateway  # noqa: E402
from services.billing.application import BillingApplication  # noqa: E402
from services.billing.schemas import ListInvoicesIn  # noqa: E402
from shared import envelope  # noqa: E402
from shared.contracts import dump  # noqa: E402
from shared.settings import Settings  # noqa: E402
from shared.validation import load  # noqa: E402
from tests.support import order_payload  # noqa: E402

SECRET = "bench-secret"


def order_events(n: int, sequence: int) -> list[dict]:
    """The envelopes orders would publish for one order placed and accepted."""
    payload = order_payload()
    order_id = str(uuid5(NAMESPACE_URL, f"bench-order-{n}"))
    lines = [dict(line, delivered=0) for line in payload["lines"]]
    shippings = [
        dict(s, id=f"s{n}", status="pending", address=dict(s["address"], line2=None))
        for s in payload["shippings"]
    ]
    data = {
        "order_id": order_id,
        "reference": f"2026-{n:06d}",
        "client": payload["client"],
        "lines": lines,
        "shippings": shippings,
        "payment_method": "card",
        "total": "63.50",
        "currency": "EUR",
    }
    placed = dict(data, status="new", channel="storefront", note=None)
    accepted = dict(data, status="accepted")
    now = datetime.now(UTC).isoformat()
    return [
        envelope.build(
            "orders", sequence + i, name, 1, order_id, now, dump(f"orders.{name}", body), None, None
        )
        for i, (name, body) in enumerate((("order_placed", placed), ("order_accepted", accepted)))
    ]


def follow(app: BillingApplication, orders: int, first: int = 0) -> tuple[float, list[str]]:
    numbers = range(first, first + orders)
    envelopes = [env for n in numbers for env in order_events(n, 1 + 2 * n)]
    started = time.perf_counter()
    for env in envelopes:
        app.handle(env, Tracking("orders", env["sequence"]))
    elapsed = time.perf_counter() - started
    listed = app.list_invoices(load(ListInvoicesIn, {"limit": 500, "sort": "number"}))
    return orders / elapsed, [i["id"] for i in listed["invoices"]]


def payments(app: BillingApplication, invoice_ids: list[str], callers: int) -> dict:
    def pay(args):
        index, invoice_id = args
        payment = {
            "amount": Decimal("1.00"),
            "method": "bank_transfer",
            "reference": f"TRF-{callers}-{index}",
            "paid_on": date.today(),
            "actor": "bench",
        }
        started = time.perf_counter()
        app.record_payment(invoice_id, payment)
        return (time.perf_counter() - started) * 1000

    samples = list(eventlet.GreenPool(callers).imap(pay, enumerate(invoice_ids)))
    return {"p50": percentile(samples, 50), "p99": percentile(samples, 99)}


def callbacks(app: BillingApplication, invoice_ids: list[str]) -> dict:
    samples = []
    for index, invoice_id in enumerate(invoice_ids):
        body = json.dumps(
            {
                "transaction_id": f"tx-{index}",
                "invoice_id": invoice_id,
                "outcome": "confirmed",
                "amount": "2.00",
                "currency": "EUR",
            }
        ).encode()
        at = int(time.time())
        headers = {
            gateway.TIMESTAMP_HEADER: str(at),
            gateway.SIGNATURE_HEADER: gateway.sign(SECRET, at, body),
        }
        started = time.perf_counter()
        status, answer = gateway.answer(app, headers, body, SECRET, time.time(), 300)
        samples.append((time.perf_counter() - started) * 1000)
        assert status == 200 and answer["result"] == "recorded", answer
    return {"p50": percentile(samples, 50), "p99": percentile(samples, 99)}


def listing(app: BillingApplication, repeat: int) -> dict:
    queries = {
        "newest first": {},
        "unpaid, by due date": {"statuses": ["unpaid"], "sort": "due_on", "direction": "asc"},
        "overdue at a future date": {"overdue": True, "overdue_on": "2099-01-01"},
        "a client name word": {"client": "lovelace"},
    }
    figures = {}
    for label, query in queries.items():
        samples = []
        for _ in range(repeat):
            started = time.perf_counter()
            app.list_invoices(load(ListInvoicesIn, query))
            samples.append((time.perf_counter() - started) * 1000)
        figures[label] = {"p50": percentile(samples, 50), "p99": percentile(samples, 99)}
    return figures


def bench_store(url: str, orders: int, sample: int, repeat: int) -> dict:
    app = BillingApplication(url, Settings.load({"GATEWAY_SECRET": SECRET}))
    rate, invoice_ids = follow(app, orders)
    figures = {"orders invoiced per second (placed + accepted followed)": rate}
    # the same, each invoice's PDF not rendered (its SHA-256 a constant): what rendering costs
    rendering = billing_documents.fingerprint
    billing_documents.fingerprint = lambda document: "0" * 64
    try:
        floor, _ = follow(app, orders // 4, first=orders)
    finally:
        billing_documents.fingerprint = rendering
    figures["  the same without rendering each invoice's PDF (floor)"] = floor
    some = invoice_ids[:sample]
    for label, figure in (
        ("record_payment, sequential", payments(app, some, 1)),
        ("record_payment, 10 callers", payments(app, some, 10)),
        ("gateway callback (verify, parse, pay)", callbacks(app, some)),
        *((f"list_invoices: {k}", v) for k, v in listing(app, repeat).items()),
    ):
        figures[label] = figure
    before = app.read_model_rows()
    started = time.perf_counter()
    app.rebuild_read_model()
    seconds = time.perf_counter() - started
    if app.read_model_rows() != before:
        raise SystemExit("billing: the rebuilt documents list differs from the incremental one")
    figures["rebuild the documents list from the log (events/s; rows identical)"] = (
        app.last_position() / seconds
    )
    app.close()
    return figures


def render(results: dict, orders: int, sample: int, repeat: int) -> str:
    stores = list(results)
    lines = [
        f"billing in process: {orders:,} orders followed; {sample} payments and callbacks;"
        f" lists over {repeat} runs (p50 / p99 ms)",
        "",
        f"| figure | {' | '.join(stores)} |",
        "|---|" + "---|" * len(stores),
    ]
    for label in next(iter(results.values())):
        cells = []
        for store in stores:
            value = results[store][label]
            cells.append(
                f"{value:.0f}"
                if isinstance(value, float)
                else f"{value['p50']:.1f} / {value['p99']:.1f}"
            )
        lines.append(f"| {label} | {' | '.join(cells)} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.billing", description=__doc__)
    parser.add_argument("--orders", type=int, default=2000)
    parser.add_argument("--sample", type=int, default=200, help="payments and callbacks timed")
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--stores", default="sqlite,postgres")
    args = parser.parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="oms-bench-billing-"))
    workdir.chmod(0o755)
    results = {}
    try:
        if "sqlite" in args.stores:
            url = f"sqlite:///{workdir}/billing.sqlite3"
            results["sqlite"] = bench_store(url, args.orders, args.sample, args.repeat)
        if "postgres" in args.stores:
            cluster = PostgresCluster(workdir / "postgres")
            cluster.start()
            try:
                url = cluster.create_database("bench_billing")
                results["postgres"] = bench_store(url, args.orders, args.sample, args.repeat)
            finally:
                cluster.stop()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print(render(results, args.orders, args.sample, args.repeat))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
