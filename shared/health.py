"""Health of a process for Kubernetes' probes, served with `/metrics` by one small HTTP server on
`OMS_METRICS_ADDRESS` (deploy/k8s probes these paths on the metrics port):

- `GET /livez` — 200 while every long-running loop registered here has beaten within its limit
  (its `stuck_after`); 503 naming the silent ones. A loop's own watchdog restarts work that hangs
  (shared/watchdog.py); this is the backstop for when even that stops: the kubelet restarts us.
- `GET /readyz` — 200 once a service has registered (it registers when its relay and followers
  are started) and every check of every registered service passes: its store answers `SELECT 1`,
  or, for the gateway, its HTTP server accepts connections; 503 with the reasons otherwise.

Bodies are JSON: `{"status": "silent", "silent": [{"loop": …, "silent_seconds": …}]}`,
`{"status": "not ready", "failing": {"orders.store": "OperationalError(…)"}}`.
"""

import json
import socket
import threading
from collections.abc import Callable, Iterable, Mapping
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import eventlet
import sqlalchemy as sa
from prometheus_client import REGISTRY, make_wsgi_app

#: a readiness check: returns when ready, raises (the message says why) when not
Check = Callable[[], object]
CHECK_SECONDS = 5.0  # a store that does not answer within this is not ready

_lock = threading.Lock()
_checks: dict[str, dict[str, Check]] = {}  # owner (a service) -> {name: check}
_loops: dict[str, list] = {}  # owner -> loops: each has `name`, `stuck_after`, `silent_for()`
_served: str | None = None


def register(owner: str, checks: Mapping[str, Check] | None = None, loops: Iterable = ()) -> None:
    """From now on `owner` is ready while each check passes, and live while each loop (such as a
    `shared.watchdog.Watched`) has beaten within its `stuck_after`."""
    with _lock:
        _checks[owner] = dict(checks or {})
        _loops[owner] = list(loops)


def forget(owner: str) -> None:
    """`owner` is stopping: it is no longer ready, and its loops are no longer watched."""
    with _lock:
        _checks.pop(owner, None)
        _loops.pop(owner, None)


def store_answers(engine) -> Check:
    def check() -> None:
        with eventlet.Timeout(CHECK_SECONDS, TimeoutError(f"no answer in {CHECK_SECONDS:.0f} s")):
            with engine.connect() as conn:
                conn.execute(sa.text("SELECT 1"))

    return check


def accepts_connections(address: str) -> Check:
    """The HTTP server listening on `host:port` (any address: asked on loopback) accepts."""
    host, port = _split(address)
    host = {"": "127.0.0.1", "0.0.0.0": "127.0.0.1", "::": "::1"}.get(host, host)

    def check() -> None:
        with socket.create_connection((host, port), timeout=2):
            pass

    return check


def liveness() -> tuple[int, dict]:
    with _lock:
        loops = [loop for owned in _loops.values() for loop in owned]
    silent_for = {loop.name: round(loop.silent_for(), 1) for loop in loops}
    silent = [
        {
            "loop": loop.name,
            "silent_seconds": silent_for[loop.name],
            "limit_seconds": loop.stuck_after,
        }
        for loop in loops
        if silent_for[loop.name] > loop.stuck_after
    ]
    if silent:
        return 503, {"status": "silent", "silent": silent}
    return 200, {"status": "live", "silent_seconds": silent_for}


def readiness() -> tuple[int, dict]:
    with _lock:
        checks = {f"{o}.{name}": c for o, owned in _checks.items() for name, c in owned.items()}
        started = bool(_checks)
    if not started:
        return 503, {"status": "not ready", "failing": {"process": "no service has started yet"}}
    failing = {}
    for name, check in checks.items():
        try:
            check()
        except (Exception, eventlet.Timeout) as exc:  # noqa: BLE001 - any failure is a reason
            failing[name] = repr(exc)[:300]
    if failing:
        return 503, {"status": "not ready", "failing": failing}
    return 200, {"status": "ready", "checks": sorted(checks)}


_metrics_app = make_wsgi_app(REGISTRY)
_PROBES = {"/livez": liveness, "/readyz": readiness}


def app(environ, start_response):
    """The WSGI app: `/metrics` (prometheus-client's own), `/livez`, `/readyz`."""
    path = environ.get("PATH_INFO", "")
    if path == "/metrics":
        return _metrics_app(environ, start_response)
    if path not in _PROBES:
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"not found: /metrics, /livez or /readyz\n"]
    status, body = _PROBES[path]()
    reason = "OK" if status == 200 else "Service Unavailable"
    start_response(f"{status} {reason}", [("Content-Type", "application/json")])
    return [json.dumps(body).encode()]


def serve(address: str) -> str:
    """Serve `app` on `host:port` (port 0: any free one), once per process: a later call serves
    nothing more. Returns the address served."""
    global _served
    with _lock:
        if _served is None:
            host, port = _split(address)
            server_class = _Server6 if ":" in host else _Server
            server = make_server(host or "127.0.0.1", port, app, server_class, _Quiet)
            threading.Thread(target=server.serve_forever, name="health", daemon=True).start()
            _served = f"{host or '127.0.0.1'}:{server.server_port}"
        return _served


def _split(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    return host.strip("[]"), int(port)


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True  # a scrape in flight never holds the process up


class _Server6(_Server):
    address_family = socket.AF_INET6


class _Quiet(WSGIRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - the base class's signature
        pass  # a probe every few seconds is no news
