"""`make bench`, part 10: what sealing clients' personal data costs (docs/privacy.md).

1. **Seal and open, in process**: a client (name, e-mail, phone) and an address sealed with the
   client's key as orders does before saving (shared/personal.py), then opened again as a service
   does before it shows them (AES-256-GCM, shared/sealing.py). Microseconds per client; the floor
   is a JSON round trip of the same dicts (what any copy of them costs).
2. **Asking orders for a key** (`orders.personal_keys`), with the five services running (SQLite,
   a throwaway RabbitMQ): each call from a new short-lived greenthread, as RPC workers are,
   (a) through `remote_fetch`'s pooled proxies, and (b) opening a new `ClusterRpcProxy` per call,
   which is what each worker greenthread did before the pool. Calls/s and p50, in the same run;
   and (c) a `Keyring` hit (the key kept, `OMS_PERSONAL_KEYS_SECONDS`), which asks nothing.
"""

import eventlet

eventlet.monkey_patch()

import argparse  # noqa: E402
import json  # noqa: E402
import shutil  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

from nameko.standalone.rpc import ClusterRpcProxy  # noqa: E402

from bench.system import Services, bench_actor, percentile  # noqa: E402
from oms.rabbitmq import RabbitNode  # noqa: E402
from shared import sealing  # noqa: E402
from shared.personal import remote_fetch, seal_address, seal_client  # noqa: E402
from shared.settings import SERVICES  # noqa: E402
from tests.support import create_vhost, order_payload, random_ref  # noqa: E402


def in_process(n: int) -> dict:
    payload = order_payload()
    client, address = payload["client"], payload["shippings"][0]["address"]
    keys = {f"client:C{i}": sealing.new_key() for i in range(n)}
    started = time.perf_counter()
    for subject, key in keys.items():
        sealed = {
            "client": seal_client(dict(client), key, subject),
            "address": seal_address(dict(address), key, subject),
        }
        sealing.open_all(sealed, {subject: key})
    sealed_us = (time.perf_counter() - started) / n * 1e6
    started = time.perf_counter()
    for _ in keys:
        json.loads(json.dumps({"client": client, "address": address}))
    floor_us = (time.perf_counter() - started) / n * 1e6
    return {"n": n, "sealed_us": sealed_us, "floor_us": floor_us}


def timed_calls(call, n: int) -> tuple[float, list[float]]:
    """`call()` n times, each in a new greenthread, one after another: (calls/s, ms each)."""
    each, started = [], time.perf_counter()
    for _ in range(n):
        t0 = time.perf_counter()
        eventlet.spawn(call).wait()
        each.append((time.perf_counter() - t0) * 1000)
    return n / (time.perf_counter() - started), each


def key_fetches(workdir: Path, n: int) -> dict:
    node = RabbitNode(workdir / "rabbitmq")
    node.start()
    services = None
    try:
        create_vhost(node, "sealing")
        uri = f"{node.amqp_uri}sealing"
        urls = {s: f"sqlite:///{workdir}/{s}.sqlite3" for s in SERVICES}
        services = Services(uri, urls, workdir / "logs")
        services.start()
        services.wait_ready()
        code = random_ref("BENCH").upper()
        with ClusterRpcProxy({"AMQP_URI": uri}, timeout=30, context_data=bench_actor()) as rpc:
            rpc.orders.register_client(
                code,
                {"name": "Bea Benchley", "email": "bea@bench.example", "phone": "+447700900321"},
            )
        subjects = [f"client:{code}"]

        fetch = remote_fetch(lambda: {"AMQP_URI": uri})
        fetch(subjects)  # its first proxy started before the clock
        pooled = timed_calls(lambda: fetch(subjects), n)

        def unpooled():
            with ClusterRpcProxy({"AMQP_URI": uri}, timeout=5) as proxy:
                proxy.orders.personal_keys(subjects)

        fresh = timed_calls(unpooled, n)
        keyring = sealing.Keyring(fetch, seconds=60)
        keyring.keys(subjects)
        started = time.perf_counter()
        for _ in range(n * 10):
            keyring.keys(subjects)
        hit_us = (time.perf_counter() - started) / (n * 10) * 1e6
        return {
            "n": n,
            "pooled": pooled,
            "fresh": fresh,
            "hit_us": hit_us,
            "started": fetch.started,
        }
    finally:
        if services is not None:
            services.stop()
        node.stop()


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=5000, help="sealed and opened in process")
    parser.add_argument("--calls", type=int, default=300, help="key fetches of each kind")
    args = parser.parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="oms-bench-sealing-"))
    try:
        local = in_process(args.clients)
        remote = key_fetches(workdir, args.calls)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print("\n## sealing clients' personal data (AES-256-GCM; keys asked of orders over RPC)")
    print("| what | figure |")
    print("|---|---|")
    print(
        f"| seal a client and an address, then open them ({local['n']} clients)"
        f" | {local['sealed_us']:.0f} µs per client |"
    )
    print(f"| the same dicts through a JSON round trip (floor) | {local['floor_us']:.0f} µs |")
    for label, (rate, each) in (
        (f"key asked of orders, pooled proxies ({remote['started']} started)", remote["pooled"]),
        ("key asked of orders, a new proxy per call (before the pool)", remote["fresh"]),
    ):
        print(
            f"| {label}, {remote['n']} calls from new greenthreads"
            f" | {rate:.0f} calls/s, p50 {percentile(each, 50):.1f} ms |"
        )
    print(f"| a key kept by the keyring (no call) | {remote['hit_us']:.1f} µs |")


if __name__ == "__main__":
    main()
