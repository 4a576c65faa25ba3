"""The HTTP gateway: REST under /v1 for storefronts, the back office and integrators, calling the
services over RPC (as nameko-examples' gateway does) with an actor token minted from the caller's
API key; `/openapi.json`, `/asyncapi.json` (the integration events) and `/docs`. It listens on
OMS_API_ADDRESS (its own web server, apart from billing's payment callback). Keys are managed over
RPC by admins (`oms keys …`).
"""

import json
import socket
import time

import eventlet
from nameko.exceptions import UnknownService
from nameko.extensions import DependencyProvider
from nameko.rpc import ServiceProxy
from nameko.web.handlers import HttpRequestHandler
from nameko.web.server import WebServer, parse_address
from werkzeug.routing import BaseConverter, Map, Rule
from werkzeug.wrappers import Response

from services.gateway import openapi
from services.gateway.courier import CourierPages
from services.gateway.dashboard import Dashboard
from services.gateway.edge import Edge
from services.gateway.live import LiveEvents
from services.gateway.local import LocalRoutes
from services.gateway.problems import Problem, encode
from services.gateway.replays import Replays
from services.gateway.store import GatewayStore, KeyIn
from services.gateway.tracking import TrackingPages
from shared import asyncapi, health, metrics
from shared import logging as oms_logging
from shared import settings as oms_settings
from shared.errors import EXPECTED, Unavailable
from shared.rpc import RpcProxy, rpc
from shared.service import Callers, who
from shared.validation import load

log = oms_logging.get("gateway")
SERVICES = oms_settings.SERVICES


class AnyPath(BaseConverter):
    """Every path, even one with encoded newlines (werkzeug's `path` stops at them): the edge
    answers every request itself, unknown paths included."""

    regex = r"[\s\S]*"
    part_isolating = False  # it spans slashes (werkzeug's state-machine matcher must know)


class ApiServer(WebServer):
    """The gateway's own web server, on OMS_API_ADDRESS (`API_ADDRESS` in the container config)."""

    @property
    def bind_addr(self):
        return parse_address(oms_settings.Settings.load(self.container.config).api_address)

    def process_request(self, sock, address):
        # answers go out as headers then body: without this, Nagle holds the body back until the
        # client acknowledges the headers, which a client delaying its ACKs does late
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().process_request(sock, address)

    def make_url_map(self):
        url_map = Map(converters={"anything": AnyPath})
        for provider in self._providers:
            rule = provider.get_url_rule()
            rule.endpoint = provider
            url_map.add(rule)
        return url_map


class Api(HttpRequestHandler):
    """Every path, every method: the gateway routes requests itself (edge.py)."""

    server = ApiServer()

    def get_url_rule(self):
        return Rule(self.url, methods=["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD"])


class Services(RpcProxy):
    """`call(service, method, args, context)` for a worker: one RPC with the given context data
    (actor token, correlation id, If-Match), waiting at most `rpc_timeout` seconds."""

    def __init__(self):
        super().__init__("orders")  # the name is unused: each call names its service

    def setup(self):
        super().setup()
        self.timeout = oms_settings.Settings.load(self.container.config).rpc_timeout

    def get_dependency(self, worker_ctx):
        def call(service: str, method: str, args: list, context: dict):
            worker_ctx.data.update(context)  # context_data is a copy of it
            proxy = ServiceProxy(worker_ctx, service, self.rpc_reply_listener)
            try:
                with eventlet.Timeout(self.timeout):
                    return getattr(proxy, method).call_async(*args).result()
            except eventlet.Timeout:
                raise Problem(
                    "timeout",
                    f"{service} did not answer in {self.timeout:.0f} s; the request may still"
                    " take effect: retry with the same Idempotency-Key",
                ) from None
            except UnknownService:
                raise Unavailable(f"{service} is not running", {"service": service}) from None

        return call


class Gateway(DependencyProvider):
    """The edge, built once: the gateway's database, the route handlers, the OpenAPI document and
    the AsyncAPI one (the integration events)."""

    def setup(self):
        config = self.container.config
        self.settings = oms_settings.Settings.load(config)
        self.store = GatewayStore(oms_settings.database_url("gateway", config))
        self.spec = openapi.build()
        self.events = asyncapi.build()
        self.docs = openapi.docs_page(self.spec)
        # answers kept for replays are sealed with their client's key (replays.py)
        self.replays = Replays(self.settings.personal_keys_seconds)
        self.local = LocalRoutes(self.store, self.settings, self.replays)
        self.live = LiveEvents(self.settings)
        self.tracking = TrackingPages(self.settings, self.live)
        pages = {
            "openapi": ("/openapi.json", lambda http, call, params: _json(self.spec)),
            "asyncapi": ("/asyncapi.json", lambda http, call, params: _json(self.events)),
            "docs": (
                "/docs",
                lambda http, call, params: (200, {"Content-Type": "text/html"}, self.docs),
            ),
            **self.tracking.routes(),
            **CourierPages(self.settings).routes(),
            **Dashboard(self.settings, self.live, self.store).routes(),
        }
        self.edge = Edge(self.store, self.settings, pages, self.local, self.replays)

    def start(self):
        metrics.serve(self.settings.metrics_address)
        self.container.spawn_managed_thread(self.live.run, identifier="gateway.live")
        # ready while its HTTP server accepts connections (the API server starts beside us)
        health.register("gateway", {"http": health.accepts_connections(self.settings.api_address)})

    def stop(self):
        health.forget("gateway")
        self.live.stop()
        self.store.engine.dispose()

    def get_dependency(self, worker_ctx):
        return self


class GatewayService:
    name = "gateway"
    callers = Callers()  # verifies the actor token of RPC calls (key management)
    gateway = Gateway()
    services = Services()

    @Api.decorator("GET", "/<anything:path>")
    def serve(self, request, path=None):
        """Every request; routes, roles and answers are in routes.py and edge.py."""
        started = time.perf_counter()
        try:
            status, headers, body = self.gateway.edge.handle(request, self.services)
        except Exception:  # noqa: BLE001 - a bug must still answer as a problem
            log.exception("gateway_request_failed", path=request.path, method=request.method)
            problem = Problem("server-error", "an unexpected error; it has been logged")
            status, headers, body = encode(problem, request.path)
        if request.method == "HEAD":
            body = ""
        operation = request.environ.get("oms.operation", "unmatched")
        metrics.HTTP.labels(operation, str(status)).observe(time.perf_counter() - started)
        return Response(body, status=status, headers=headers)

    # -- API keys over RPC (for `oms keys`; admins only) -------------------------------------------
    @rpc(expected_exceptions=EXPECTED)
    def create_key(self, name, role):
        """`create_key("web-shop", "storefront")` -> the key's record with the plain `key`, shown
        this once."""
        key = load(KeyIn, {"name": name, "role": role}, "key")
        return self.gateway.store.create_key(key["name"], key["role"], who("admin"))

    @rpc(expected_exceptions=EXPECTED)
    def revoke_key(self, name):
        """`revoke_key("web-shop")`: its requests are refused from now on."""
        return self.gateway.store.revoke_key(name, who("admin"))

    @rpc(expected_exceptions=EXPECTED)
    def list_keys(self):
        """Every key's name, role, hint and dates (never the key)."""
        who("admin")
        return self.gateway.store.list_keys()

    @rpc(expected_exceptions=EXPECTED)
    def token_for_key(self, name):
        """An actor token for an active key's name and role, for calling over RPC."""
        who("admin")
        return self.gateway.local.token_for(self.gateway.store.key_named(name))


def _json(document) -> tuple[int, dict, str]:
    return 200, {"Content-Type": "application/json"}, json.dumps(document)
