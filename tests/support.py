"""Test helpers: run the services for real, call them over RPC, wait for eventual effects."""

import base64
import json
import os
import signal
import subprocess
import sys
import time
import urllib.parse
import urllib.request
import uuid
from contextlib import contextmanager
from pathlib import Path

import eventlet
from kombu import Connection, Exchange, Queue
from nameko.standalone.rpc import ClusterRpcProxy

from oms import broker_setup
from oms.infra import free_port
from oms.serve import RUNNABLE, SERVICE_CLASSES, build_runner
from shared import actors

ROOT = Path(__file__).resolve().parent.parent
GATEWAY_SECRET = "test-gateway-secret"


def acting(name: str = "tests", role: str = "admin") -> dict:
    """RPC context data carrying an actor token for `name` (tests mint their own, like the CLI)."""
    return actors.rpc_context(os.environ["OMS_ACTOR_SECRET"], name, role)


def management(node, method: str, path: str, body: dict | None = None):
    request = urllib.request.Request(
        f"http://127.0.0.1:{node.management_port}/api/{path}",
        method=method,
        data=json.dumps(body).encode() if body is not None else None,
        headers={
            "content-type": "application/json",
            "authorization": "Basic " + base64.b64encode(b"guest:guest").decode(),
        },
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        raw = response.read()
        return json.loads(raw) if raw else None


#: {AMQP port: {user: password}} of the nodes whose broker users this process has made
BROKER_USERS: dict[int, dict[str, str]] = {}
_MADE_ON: dict[int, Path] = {}  # the node (its directory) each port's users were made on


def create_vhost(node, vhost: str) -> None:
    """A vhost where guest (the tests' administrator) may do anything and every broker user
    (oms/broker_users.py; made on the node the first time) may do what its role may."""
    management(node, "PUT", f"vhosts/{vhost}", {})
    management(
        node, "PUT", f"permissions/{vhost}/guest", {"configure": ".*", "write": ".*", "read": ".*"}
    )
    admin = broker_setup.Management(node.management_uri)
    if _MADE_ON.get(node.amqp_port) != node.base_dir:  # (a port is reused by a later node)
        users = broker_setup.passwords(node.base_dir / "broker-users.json")
        broker_setup.create_users(admin, users)
        BROKER_USERS[node.amqp_port], _MADE_ON[node.amqp_port] = users, node.base_dir
    broker_setup.grant(admin, vhost)


def user_uri(amqp_uri: str, user: str) -> str:
    """`amqp_uri` (guest's, on a vhost made by `create_vhost`) as `user`."""
    port = urllib.parse.urlsplit(amqp_uri).port
    return broker_setup.uri_as(amqp_uri, user, BROKER_USERS[port][user])


def service_uris(amqp_uri: str) -> dict[str, str]:
    """Each service's own URI on the vhost of `amqp_uri`, if its node has the broker users;
    else none (the services then log in as whoever `amqp_uri` names)."""
    if urllib.parse.urlsplit(amqp_uri).port not in BROKER_USERS:
        return {}
    return {name: user_uri(amqp_uri, name) for name in RUNNABLE}


def delete_vhost(node, vhost: str) -> None:
    try:
        management(node, "DELETE", f"vhosts/{vhost}")
    except OSError:
        pass  # the node may have been killed by the test


def eventually(check, timeout: float = 30.0, interval: float = 0.1):
    """Poll `check` until it returns a truthy value; fail with its last result after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s; last result: {result!r}")
        eventlet.sleep(interval)


def wait_until_answers(system, service: str) -> None:
    def answers():
        # bounded as a whole: a publish waiting for its confirm on a connection the network
        # lost has no timeout of its own (py-amqp), and the RPC timeout starts after it
        try:
            with eventlet.Timeout(5), system.rpc(timeout=2) as rpc:
                return getattr(rpc, service).log_status() is not None
        except (Exception, eventlet.Timeout):  # noqa: BLE001 - not up yet, or cut off
            return False

    try:
        eventually(answers, timeout=60)
    except AssertionError:
        print(greenthread_stacks(), file=sys.stderr)  # what the silent service was doing
        raise AssertionError(f"{service} did not answer an RPC within 60 s") from None


def greenthread_stacks() -> str:
    """Every live greenthread's stack in this process: what a test that hangs was waiting on."""
    import gc
    import traceback

    import greenlet

    parts = []
    for obj in gc.get_objects():
        if isinstance(obj, greenlet.greenlet) and obj.gr_frame is not None:
            parts.append(f"--- {obj!r}\n" + "".join(traceback.format_stack(obj.gr_frame)))
    return "\n".join(parts)


def settled(rpc, consumer: str = "billing") -> bool:
    """Everything orders logged is relayed, and `consumer` has processed all of it."""
    orders = rpc.orders.log_status()
    tracked = getattr(rpc, consumer).log_status()["tracking"]["orders"]
    return orders["relayed_position"] == orders["last_position"] == tracked


def random_ref(prefix: str = "") -> str:
    return f"{prefix}{uuid.uuid4().hex[:10]}"


def order_payload(**overrides) -> dict:
    """The README's example order, with a unique client name."""
    order = {
        "client": {
            "name": f"Ada Lovelace {random_ref()}",
            "email": "ada@example.com",
            "phone": "+44 20 7946 0000",
        },
        "channel": "storefront",
        "lines": [
            {
                "sku": "MUG-1",
                "name": "Mug",
                "quantity": 3,
                "unit_price": "9.50",
                "currency": "EUR",
                "distributor": "acme",
                "made_in_house": False,
                "vat_rate": "20",
            },
            {
                "sku": "CARD-9",
                "name": "Printed card",
                "quantity": 100,
                "unit_price": "0.35",
                "currency": "EUR",
                "distributor": None,
                "made_in_house": True,
                "vat_rate": "20",
            },
        ],
        "shippings": [
            {
                "planned_date": "2026-12-01",
                "address": {
                    "line1": "12 St James's Sq",
                    "city": "London",
                    "postcode": "SW1Y 4JH",
                    "country": "GB",
                },
                "lines": [{"sku": "MUG-1", "quantity": 3}, {"sku": "CARD-9", "quantity": 100}],
            }
        ],
        "payment_method": "card",
        "note": "Ring twice",
    }
    order.update(overrides)
    return order


def order_with_every_document(desk, language: str = "en") -> dict:
    """In process (`tests.inprocess.InProcess` with orders, billing, production and
    fulfilment), an order with every document: pro-forma, confirmation, invoice, credit note and
    supplementary invoice, a purchase order and a work sheet."""
    payload = order_payload()
    payload["client"]["language"] = language
    order = desk.orders.place_order(payload)
    pro_forma = desk.billing.issue_pro_forma(order["id"])
    desk.orders.accept_order(order["id"])
    shipping = desk.orders.get_order(order["id"])["shippings"][0]["id"]
    less = [{"sku": "MUG-1", "quantity": 2}, {"sku": "CARD-9", "quantity": 100}]
    desk.orders.edit_order(order["id"], {"shippings": [{"id": shipping, "lines": less}],
                                         "reason": "one mug less"})  # fmt: skip
    more = [{"sku": "MUG-1", "quantity": 4}, {"sku": "CARD-9", "quantity": 100}]
    desk.orders.edit_order(order["id"], {"shippings": [{"id": shipping, "lines": more}],
                                         "reason": "two mugs more"})  # fmt: skip
    (job,) = desk.production.production_orders_for_order(order["id"])
    desk.orders.add_note(order["id"], {"kind": "production", "text": "Pantone 186 C"})
    file = base64.b64encode(b"artwork").decode()
    attached = desk.production.attach_file(job["id"], {"name": "front.pdf", "content": file})
    desk.production.certify_file(job["id"], attached["files"][0]["id"])
    desk.production.release_production_order(job["id"])
    desk.orders.ship_shipping(order["id"], shipping)
    documents = desk.billing.invoices_for_order(order["id"])
    (po,) = desk.fulfilment.purchase_orders_for_order(order["id"])
    return {
        "order": order,
        "pro_forma": pro_forma,
        "invoice": next(d for d in documents if d["kind"] == "invoice"),
        "credit_note": next(d for d in documents if d["kind"] == "credit_note"),
        "supplementary": next(d for d in documents if d["kind"] == "supplementary"),
        "job": job,
        "purchase_order": po,
    }


class System:
    """The services running in this process (nameko ServiceRunners), one runner per service,
    each logged in as its own broker user where the node has them (`RPC` proxies as guest)."""

    def __init__(
        self,
        amqp_uri: str,
        database_urls: dict,
        services=tuple(SERVICE_CLASSES),
        **config,
    ):
        self.amqp_uri, self.database_urls = amqp_uri, database_urls
        self.http_port, self.api_port = free_port(), free_port()
        self.api_url = f"http://127.0.0.1:{self.api_port}"  # the gateway, when it runs
        self.config = {
            "AMQP_URI": amqp_uri,
            "AMQP_URIS": service_uris(amqp_uri),
            "DATABASE_URLS": database_urls,
            "WEB_SERVER_ADDRESS": f"127.0.0.1:{self.http_port}",
            "API_ADDRESS": f"127.0.0.1:{self.api_port}",
            "GATEWAY_SECRET": GATEWAY_SECRET,
            "max_workers": 20,
            "serializer": "json",
            **config,
        }
        self.runners = {}
        self.initial = services

    def __enter__(self):
        self.start(*self.initial)
        return self

    def __exit__(self, *exc):
        self.stop(*list(self.runners))

    def start(self, *names) -> None:
        for name in names:
            self.runners[name] = build_runner([name], self.config)
        pool = eventlet.GreenPool()
        for name in names:
            pool.spawn(self.runners[name].start)
        pool.waitall()

    def stop(self, *names) -> None:
        """Stop the named services together (each takes about a second to wind down); one that
        does not stop within 30 s (a worker blocked on a dead connection) is killed."""
        pool = eventlet.GreenPool()
        for name in names:
            pool.spawn(_stop_or_kill, name, self.runners.pop(name))
        pool.waitall()

    def restart(self) -> None:
        names = list(self.runners)
        self.stop(*names)
        self.start(*names)

    @contextmanager
    def rpc(self, timeout: float = 15.0, actor="tests", role="admin", **context_data):
        """A proxy acting as `actor` with `role` (None: with no token at all)."""
        if actor is not None:
            context_data.update(acting(actor, role))
        with ClusterRpcProxy(self.config, timeout=timeout, context_data=context_data) as proxy:
            yield proxy


def _stop_or_kill(name, runner) -> None:
    try:
        with eventlet.Timeout(30):
            runner.stop()
    except eventlet.Timeout:
        print(f"{name} did not stop within 30 s: killed")
        runner.kill()


def serve_subprocess(
    names,
    amqp_uri: str,
    database_urls: dict,
    faults: dict | None = None,
    log_path: Path | None = None,
    **settings: str,
) -> subprocess.Popen:
    """Run services in a child process (for tests that SIGKILL it); `settings` are OMS_*
    variables for it (`HEARTBEAT="5"`)."""
    env = dict(os.environ, OMS_AMQP_URI=amqp_uri, PYTHONPATH=str(ROOT))
    env.update({f"OMS_{name}": value for name, value in settings.items()})
    env.update(OMS_HTTP_ADDRESS=f"127.0.0.1:{free_port()}", OMS_GATEWAY_SECRET=GATEWAY_SECRET)
    for service, url in database_urls.items():
        env[f"OMS_{service.upper()}_DATABASE_URL"] = url
    for service, uri in service_uris(amqp_uri).items():
        env[f"OMS_{service.upper()}_AMQP_URI"] = uri
    env["OMS_FAULTS"] = json.dumps(faults or {})
    out = open(log_path, "ab") if log_path else subprocess.DEVNULL  # noqa: SIM115
    return subprocess.Popen(
        [sys.executable, "-m", "oms.serve", *names], env=env, stdout=out, stderr=out, cwd=ROOT
    )


def stop_process(process: subprocess.Popen, grace: float = 30) -> None:
    """Stop a service process started by a test, if it still runs: SIGTERM, then SIGKILL."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


RPC = Exchange("nameko-rpc", type="topic", durable=True)


class RawCaller:
    """Publishes nameko RPC requests by hand and collects their replies."""

    def __init__(self, amqp_uri: str):
        self.conn = Connection(amqp_uri)
        self.reply_to = f"raw-{uuid.uuid4().hex}"
        self.queue = Queue(self.reply_to, exchange=RPC, routing_key=self.reply_to, auto_delete=True)
        self.queue(self.conn.default_channel).declare()
        self.replies: list[dict] = []
        self.taken = 0
        self.consumer = self.conn.Consumer(
            self.queue, callbacks=[lambda body, msg: (self.replies.append(body), msg.ack())]
        )
        self.consumer.consume()

    def publish(self, service: str, method: str, kwargs: dict, correlation_id: str) -> None:
        self.publish_raw(
            service, method, json.dumps({"args": [], "kwargs": kwargs}), correlation_id
        )

    def publish_raw(self, service: str, method: str, body: str | bytes, correlation_id: str):
        """A request whose body is given as it goes on the wire (JSON text, or anything)."""
        self.conn.Producer().publish(
            body,
            exchange=RPC,
            routing_key=f"{service}.{method}",
            reply_to=self.reply_to,
            correlation_id=correlation_id,
            headers={f"nameko.{actors.TOKEN_KEY}": acting()[actors.TOKEN_KEY]},
            content_type="application/json",
            content_encoding="utf-8",
        )

    def wait(self, count: int) -> list[dict]:
        """The next `count` replies (not returned before)."""
        while len(self.replies) < self.taken + count:
            self.conn.drain_events(timeout=30)
        self.taken += count
        return self.replies[self.taken - count : self.taken]

    def twice(self, service: str, method: str, at_once: bool = False, **kwargs) -> list[dict]:
        """The same message twice: one after the other's reply, or both at once."""
        correlation_id = uuid.uuid4().hex
        self.publish(service, method, kwargs, correlation_id)
        first = [] if at_once else self.wait(1)
        self.publish(service, method, kwargs, correlation_id)
        replies = first + self.wait(2 - len(first))
        assert all(r["error"] is None for r in replies), replies
        return [r["result"] for r in replies]

    def close(self):
        self.consumer.cancel()
        self.conn.release()
