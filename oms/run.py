"""`make run`: a local RabbitMQ unless one answers, then all five services and the HTTP gateway,
supervised, until Ctrl-C. The first start makes an admin API key (var/admin-key) and prints it.

One `make run` per `var/`: a lock on `var/run.lock` is held by it and inherited by every service it
starts, so a second run refuses while any of them lives (even if the first run was killed).
Ctrl-C or SIGTERM stops everything within seconds whatever the broker's state; a second signal
during the stop hurries it (survivors are killed) and still stops the broker it started.
"""

import fcntl
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path

from oms import sandbox
from oms.edge import first_admin_key, http_settings, wait_for_gateway
from oms.infra import InfraError, amqp_answers, ensure_rabbitmq_installed, free_port
from oms.probe import answering
from oms.rabbitmq import RabbitNode
from oms.standins import standins
from shared import settings

STOP_SECONDS = 10.0  # what the services get to stop before they are killed


class VarInUse(RuntimeError):
    pass


def hold_var(var_dir: Path) -> int:
    """Lock `var/` for this run; the descriptor is passed on to every service started."""
    var_dir.mkdir(parents=True, exist_ok=True)
    path = var_dir / "run.lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        users = ", ".join(map(str, holders(path))) or "unknown"
        raise VarInUse(
            f"{var_dir} is in use by another `make run` or services it left running"
            f" (pids {users}); stop them first"
        ) from None
    os.ftruncate(fd, 0)
    os.write(fd, f"{os.getpid()}\n".encode())
    return fd


def holders(path: Path) -> list[int]:
    """The processes that have `path` open (from /proc)."""
    target, found = str(path.resolve()), []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            if any(os.readlink(fd) == target for fd in (proc / "fd").iterdir()):
                found.append(int(proc.name))
        except OSError:
            continue
    return sorted(found)


def start_broker() -> tuple[str, RabbitNode | None]:
    """Our node under var/rabbitmq if it is running (left by a run that was killed); else the
    broker at OMS_AMQP_URI if it answers; else start ours."""
    uri = settings.Settings.load().amqp_uri
    node_dir = settings.var_dir() / "rabbitmq"
    if (node_dir / "node.json").exists():
        node = RabbitNode(node_dir)
        if node.is_running():
            node.start()  # waits until it answers
            return node.amqp_uri, node
    if amqp_answers(uri):
        return uri, None
    port = urllib.parse.urlsplit(uri.replace("pyamqp://", "amqp://")).port or 5672
    ensure_rabbitmq_installed()
    node = RabbitNode(
        node_dir,
        amqp_port=port,
        management_port=_saved_or_free(node_dir, 15672),
        prometheus_port=_saved_or_free(node_dir, 15692),
    )
    print(f"starting RabbitMQ in {node_dir} (first start takes ~15 s) ...", flush=True)
    node.start()
    return node.amqp_uri, node


def _saved_or_free(node_dir: Path, usual: int) -> int | None:
    if (node_dir / "node.json").exists():
        return None  # RabbitNode reuses the ports it saved
    return usual if _port_free(usual) else free_port()


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


class Supervisor:
    """One `python -m oms.serve <service>` process per service; a dead one is started again."""

    def __init__(self, amqp_uri: str, log_dir: Path, env: dict, lock_fd: int):
        self.env = dict(os.environ, OMS_AMQP_URI=amqp_uri, **env)
        self.log_dir, self.lock_fd = log_dir, lock_fd
        self.processes: dict[str, subprocess.Popen] = {}
        self.commands: dict[str, list[str]] = {}
        self.envs: dict[str, dict] = {}
        self.stopping = False
        self.hurried = False

    def start(self, name: str, command: list[str] | None = None, env: dict | None = None) -> None:
        """A service (`python -m oms.serve NAME`), or any other command kept running (`env`:
        settings of its own, kept for its restarts)."""
        if command is not None:
            self.commands[name] = command
        if env is not None:
            self.envs[name] = env
        command = self.commands.get(name) or [sys.executable, "-m", "oms.serve", name]
        log = open(self.log_dir / f"{name}.log", "ab")  # noqa: SIM115 - the child owns it
        self.processes[name] = subprocess.Popen(
            command,
            env={**self.env, **self.envs.get(name, {})},
            stdout=log,
            stderr=log,
            cwd=settings.ROOT,
            start_new_session=True,  # Ctrl-C reaches us; we stop them
            pass_fds=(self.lock_fd,),  # var/ stays locked while any of them lives
        )

    def watch_once(self) -> None:
        for name, process in list(self.processes.items()):
            if process.poll() is not None and not self.stopping:
                print(f"{name} exited with {process.returncode}; starting it again", flush=True)
                self.start(name)

    def hurry(self) -> None:
        self.hurried = True

    def stop(self) -> None:
        """SIGTERM them all at once; kill whatever still runs after STOP_SECONDS (or at once,
        if hurried by a second signal)."""
        self.stopping = True
        alive = [p for p in self.processes.values() if p.poll() is None]
        for process in alive:
            process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_SECONDS
        while any(p.poll() is None for p in alive) and not self.hurried:
            if time.monotonic() > deadline:
                break
            time.sleep(0.1)
        for process in alive:
            if process.poll() is None:
                process.kill()
            process.wait()


def wait_until_answering(supervisor: Supervisor, amqp_uri: str, timeout: float = 180) -> None:
    """Until every service answers an RPC (restarting any that dies meanwhile)."""
    waiting, deadline, said = set(settings.SERVICES), time.monotonic() + timeout, set()
    while waiting:
        waiting -= answering(amqp_uri, sorted(waiting), timeout=2.0)
        if not waiting:
            return
        if waiting != said and time.monotonic() > deadline - timeout + 10:
            print(f"waiting for {', '.join(sorted(waiting))} to answer ...", flush=True)
            said = set(waiting)
        if time.monotonic() > deadline:
            raise InfraError(
                f"{', '.join(sorted(waiting))} did not answer in {timeout:.0f} s;"
                f" see {supervisor.log_dir}"
            )
        supervisor.watch_once()
        time.sleep(0.5)


def metrics_addresses() -> dict[str, str]:
    """Where each service process serves Prometheus metrics: 9464, 9465, … when free."""
    names = (*settings.SERVICES, "gateway")
    return {
        name: f"127.0.0.1:{9464 + i if _port_free(9464 + i) else free_port()}"
        for i, name in enumerate(names)
    }


def write_scrape_config(addresses: dict[str, str], node: RabbitNode | None) -> Path:
    """var/prometheus.yml: a Prometheus scrape configuration for the services (and our broker)."""
    jobs = [("oms", sorted(addresses.values()))]
    if node is not None:
        jobs.append(("rabbitmq", [f"127.0.0.1:{node.prometheus_port}"]))
    lines = ["scrape_configs:"]
    for job, targets in jobs:
        lines += [f"  - job_name: {job}", "    static_configs:", f"      - targets: {targets}"]
    path = settings.var_dir() / "prometheus.yml"
    path.write_text("\n".join(lines).replace("'", '"') + "\n")
    return path


def describe(
    amqp_uri: str, node: RabbitNode | None, log_dir: Path, http: dict, scraped: dict | None = None
) -> str:
    rows = [
        ("RabbitMQ", amqp_uri.replace("guest:guest@", "guest:***@")),
        ("  management", node.management_uri.replace("guest:guest@", "") if node else "(not ours)"),
        (
            "  started by us",
            f"yes, data in {node.base_dir}" if node else "no, it was already running",
        ),
    ]
    rows += [
        (f"{name}", f"db {settings.database_url(name)}; log {log_dir / (name + '.log')}")
        for name in settings.SERVICES
    ]
    rows.append(
        (
            "gateway callback",
            f"POST http://{http['OMS_HTTP_ADDRESS']}/billing/gateway/callback"
            " (HMAC secret: OMS_GATEWAY_SECRET or var/gateway-secret; docs/billing.md)",
        )
    )
    api = http["OMS_API_ADDRESS"]
    rows.append(
        ("HTTP API", f"http://{api}/v1  (docs http://{api}/docs, http://{api}/openapi.json)")
    )
    rows.append(("dashboard", f"http://{api}/dashboard  (log in with the admin key)"))
    rows.append(
        ("  admin key", f"{settings.var_dir() / 'admin-key'}  (oms keys create … for others)")
    )
    smtp = http.get("OMS_SMTP_PORT")
    rows.append(
        (
            "e-mail",
            f"local SMTP 127.0.0.1:{smtp} -> {settings.var_dir() / 'mail'}  (oms mail)"
            if smtp
            else "to OMS_SMTP_HOST (a real server)",
        )
    )
    rows.append(
        (
            "SMS",
            f"local provider {http['OMS_SMS_URL']} -> var/sms  (oms sms)"
            if "OMS_SMS_URL" in http
            else "to OMS_SMS_URL (a real provider)",
        )
    )
    if "OMS_SANDBOX_DISTRIBUTOR_URL" in http:
        rows.append(
            (
                "distributor",
                f"sandbox at {http['OMS_SANDBOX_DISTRIBUTOR_URL']}/orders -> var/distributor"
                "  (order a line from distributor `sandbox`, ship it)",
            )
        )
    if scraped:
        first, last = scraped["orders"], scraped["gateway"]
        broker = f"; RabbitMQ {node.metrics_url}" if node else ""
        rows.append(
            ("metrics", f"http://{first}/metrics … http://{last}/metrics{broker}"
             f"  (scrape config: {settings.var_dir() / 'prometheus.yml'})")
        )  # fmt: skip
    if "OMS_SANDBOX_WEBHOOK_URL" in http:
        rows.append(
            ("webhooks", f"a verifying receiver at {http['OMS_SANDBOX_WEBHOOK_URL']} -> var/hooks"
             "  (oms webhooks add …; docs/integrators.md)")
        )  # fmt: skip
    rows.append(
        (
            "CLI",
            "oms status | oms parked | oms mail | oms events orders | oms keys list"
            "  (in .venv/bin)",
        )
    )
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"  {k.ljust(width)}  {v}" for k, v in rows)


def _interrupt(*_) -> None:
    raise KeyboardInterrupt


def main() -> None:
    try:
        lock_fd = hold_var(settings.var_dir())
    except VarInUse as exc:
        sys.exit(f"error: {exc}")
    # Ctrl-C stops it even when it was started with SIGINT ignored (a shell's background job):
    # Python then leaves SIGINT ignored instead of raising KeyboardInterrupt
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    node, supervisor = None, None
    try:
        amqp_uri, node = start_broker()
        log_dir = settings.var_dir() / "log"
        log_dir.mkdir(parents=True, exist_ok=True)
        http = http_settings()
        outside, stand_ins = standins()
        supervisor = Supervisor(amqp_uri, log_dir, {**http, **outside}, lock_fd)
        for name, command in stand_ins.items():
            supervisor.start(name, command)
        scraped = metrics_addresses()
        for name in (*settings.SERVICES, "gateway"):
            supervisor.start(name, env={"OMS_METRICS_ADDRESS": scraped[name]})
        write_scrape_config(scraped, node)
        wait_until_answering(supervisor, amqp_uri)
        wait_for_gateway(supervisor, http["OMS_API_ADDRESS"])
        key, made = first_admin_key(amqp_uri, http)
        sandbox.register(
            amqp_uri,
            http["OMS_ACTOR_SECRET"],
            outside["OMS_SANDBOX_DISTRIBUTOR_URL"],
            settings.var_dir() / "distributor",
        )
        print(
            "The order-management system is running:\n"
            + describe(amqp_uri, node, log_dir, {**http, **outside}, scraped),
            flush=True,
        )
        if made:
            print(f"Your first admin API key (kept in var/admin-key): {key}", flush=True)
        print("Press Ctrl-C to stop it.", flush=True)
        while True:
            supervisor.watch_once()
            time.sleep(0.5)
    except KeyboardInterrupt:
        print("\nstopping the services ...", flush=True)
    except InfraError as exc:
        print(f"error: {exc}", file=sys.stderr, flush=True)
    finally:
        shut_down(supervisor, node)


def shut_down(supervisor: Supervisor | None, node: RabbitNode | None) -> None:
    """Stop what this run started. Another Ctrl-C or SIGTERM meanwhile only hurries it."""
    hurry = supervisor.hurry if supervisor else (lambda: None)
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: hurry())
    if supervisor is not None:
        supervisor.stop()
    if node is not None:
        print("stopping RabbitMQ ...", flush=True)
        if supervisor is not None and supervisor.hurried:
            node.kill()
        node.stop()
    print("stopped.", flush=True)


if __name__ == "__main__":
    main()
