"""`make bench`, part 8: webhooks and the operators' live feed.

1. **Webhooks delivered per second**: notify in this process (SQLite file, then PostgreSQL) has N
   events journaled and one subscription to every type; the shared sender delivers them in order,
   one at a time — feed the next delivery (an event), sign it with Standard Webhooks, POST it to the
   local verifying receiver (oms/hookbox.py, its own process), record the attempt (an event) —
   until all are delivered. The floor: the webhook channel alone POSTing the same signed bodies,
   nothing recorded.
2. **RPC → the dashboard's live feed**: the five services and the gateway as in production (one
   process each, SQLite, a throwaway RabbitMQ); an SSE client holds `/dashboard/events?type=order_placed`
   open while orders are placed one at a time at a steady pace; for each, the time from
   `place_order` returning to its event arriving on the stream. p50 and p99.
"""

import eventlet

eventlet.monkey_patch()

import argparse  # noqa: E402
import json  # noqa: E402
import shutil  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from datetime import UTC, datetime  # noqa: E402
from pathlib import Path  # noqa: E402

import requests  # noqa: E402
from eventsourcing.persistence import Tracking  # noqa: E402
from nameko.standalone.rpc import ClusterRpcProxy  # noqa: E402
from standardwebhooks import Webhook as Signer  # noqa: E402

from bench.system import Services, bench_actor, percentile  # noqa: E402
from oms.postgres import PostgresCluster  # noqa: E402
from oms.rabbitmq import RabbitNode  # noqa: E402
from services.notify.application import NotifyApplication  # noqa: E402
from services.notify.channels import Webhook  # noqa: E402
from shared import context  # noqa: E402
from shared.sender import Delivery  # noqa: E402
from shared.service import make_sender  # noqa: E402
from shared.settings import SERVICES, Settings  # noqa: E402
from tests.support import create_vhost, order_payload  # noqa: E402
from tests.thirdparties import WebhookReceiver  # noqa: E402


def envelope(i: int) -> dict:
    order_id = f"00000000-0000-4000-8000-{i:012d}"
    return {
        "specversion": "1.0", "id": f"orders:{i}", "source": "oms/orders",
        "type": "orders.order_placed", "dataversion": 1, "time": "2026-12-02T10:00:00+00:00",
        "subject": order_id, "datacontenttype": "application/json", "sequence": i,
        "correlationid": f"bench-{i}", "causationid": f"rpc:bench-{i}",
        "data": {"order_id": order_id, "reference": f"2026-{i:06d}", "total": "63.50"},
    }  # fmt: skip


def delivering(url: str, workdir: Path, n: int) -> dict:
    settings = Settings.load({"WEBHOOK_ALLOW": "loopback", "NOTIFY_POLICY": "off"})
    app = NotifyApplication(url, settings)
    with WebhookReceiver(workdir / f"hooks-{time.monotonic_ns()}") as receiver:
        with context.bound(actor="bench", role="admin"):
            hook = app.create_webhook({"url": receiver.url, "event_types": ["*"]}, "bench", None)
        receiver.trust(hook.secrets[0]["secret"])
        for i in range(1, n + 1):
            app.handle(envelope(i), Tracking("orders", i))
        sender = make_sender(app, {"webhook": Webhook(settings)}, settings)
        started = time.perf_counter()
        while len(receiver.accepted()) < n:
            if not sender.send_due():
                eventlet.sleep(0.01)
        elapsed = time.perf_counter() - started
        sender._leader.release()
        floor = _floor(app, receiver, n)
    app.close()
    return {"n": n, "per_s": n / elapsed, "floor_per_s": floor}


def _floor(app, receiver, n: int) -> float:
    """The channel alone: the same events signed and POSTed again, nothing recorded."""
    channel = Webhook(app.settings)
    subscription = app.get(app.webhooks()[0]["id"])
    rows = app.webhook_views.of(app.engine, str(subscription.id), "delivered", n)
    built = [_signed(app, subscription, row) for row in rows]
    started = time.perf_counter()
    for delivery in built:
        channel(delivery)
    return len(built) / (time.perf_counter() - started)


def _signed(app, subscription, row: dict) -> Delivery:
    body = app.journal.envelope(app.engine, row["seq"])
    now = datetime.now(UTC)
    headers = {
        "webhook-id": row["event_id"],
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": Signer(subscription.secrets[0]["secret"]).sign(
            row["event_id"], now, body
        ),
        "content-type": "application/json",
    }
    content = {"url": subscription.url, "body": body, "headers": headers}
    return Delivery(f"wh:{row['id']}:floor", 1, "webhook", subscription.url, content)


def feed_latency(workdir: Path, n: int, pace: float) -> list[float]:
    node = RabbitNode(workdir / "rabbitmq")
    node.start()
    services = None
    try:
        create_vhost(node, "dashboard")
        uri = f"{node.amqp_uri}dashboard"
        urls = {s: f"sqlite:///{workdir}/{s}-system.sqlite3" for s in (*SERVICES, "gateway")}
        services = Services(uri, urls, workdir / "logs", names=(*SERVICES, "gateway"))
        services.start()
        services.wait_ready()
        api = f"http://{services.api_address}"
        with ClusterRpcProxy({"AMQP_URI": uri}, timeout=30, context_data=bench_actor()) as rpc:
            key = rpc.gateway.create_key(f"bench-{time.monotonic_ns()}", "operator")["key"]
            _wait_for(api)
            stream = requests.get(
                f"{api}/dashboard/events?type=order_placed",
                headers={"Authorization": f"Bearer {key}"},
                stream=True,
                timeout=60,
            )
            arrived: dict[str, float] = {}
            reader = eventlet.spawn(_read, stream, arrived)
            eventlet.sleep(1)  # the stream is open
            placed = {}
            for _ in range(n):
                order = rpc.orders.place_order(order_payload())
                placed[order["id"]] = time.perf_counter()
                eventlet.sleep(pace)
            deadline = time.monotonic() + 30
            while len(set(placed) & set(arrived)) < n and time.monotonic() < deadline:
                eventlet.sleep(0.05)
            reader.kill()
            stream.close()
        return [(arrived[o] - at) * 1000 for o, at in placed.items() if o in arrived]
    finally:
        if services is not None:
            services.stop()
        node.stop()


def _wait_for(api: str) -> None:
    for _ in range(200):
        try:
            if requests.get(f"{api}/v1/health", timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        eventlet.sleep(0.1)


def _read(stream, arrived: dict) -> None:
    for line in stream.iter_lines(decode_unicode=True):
        if line and line.startswith("data: "):
            event = json.loads(line[6:])
            arrived.setdefault(event["subject"], time.perf_counter())


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.integrators", description=__doc__)
    parser.add_argument("--events", type=int, default=300)
    parser.add_argument("--orders", type=int, default=40)
    parser.add_argument("--pace", type=float, default=0.25)
    parser.add_argument("--stores", default="sqlite,postgres")
    args = parser.parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="oms-bench-integrators-"))
    workdir.chmod(0o755)
    sent = {}
    try:
        if "sqlite" in args.stores:
            sent["sqlite"] = delivering(f"sqlite:///{workdir}/notify.sqlite3", workdir, args.events)
        if "postgres" in args.stores:
            cluster = PostgresCluster(workdir / "postgres")
            cluster.start()
            try:
                url = cluster.create_database("bench_notify")
                sent["postgres"] = delivering(url, workdir, args.events)
            finally:
                cluster.stop()
        delays = feed_latency(workdir, args.orders, args.pace)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print("\n## webhooks and the live feed")
    for store, r in sent.items():
        print(
            f"webhooks delivered in order, {store:<8} {r['per_s']:7.1f}/s"
            f"   (the channel alone: {r['floor_per_s']:7.1f}/s; {r['n']} events)"
        )
    print(
        f"place_order → the dashboard's live feed: p50 {percentile(delays, 50):.0f} ms,"
        f" p99 {percentile(delays, 99):.0f} ms ({len(delays)} of {args.orders} orders,"
        f" one every {args.pace} s)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
