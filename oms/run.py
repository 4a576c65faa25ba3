"""`make run`: a local RabbitMQ unless one answers, then all five services, supervised, until Ctrl-C."""

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path

from oms.infra import InfraError, amqp_answers, ensure_rabbitmq_installed, free_port
from oms.rabbitmq import RabbitNode
from shared import settings


def start_broker() -> tuple[str, RabbitNode | None]:
    """Use the broker at OMS_AMQP_URI if it answers; otherwise start ours under var/rabbitmq."""
    uri = settings.amqp_uri()
    if amqp_answers(uri):
        return uri, None
    port = urllib.parse.urlsplit(uri.replace("pyamqp://", "amqp://")).port or 5672
    ensure_rabbitmq_installed()
    node_dir = settings.var_dir() / "rabbitmq"
    node = RabbitNode(node_dir, amqp_port=port, management_port=_saved_or_free(node_dir))
    print(f"starting RabbitMQ in {node_dir} (first start takes ~15 s) ...", flush=True)
    node.start()
    return node.amqp_uri, node


def _saved_or_free(node_dir: Path) -> int | None:
    if (node_dir / "node.json").exists():
        return None  # RabbitNode reuses the ports it saved
    return 15672 if _port_free(15672) else free_port()


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


def http_settings() -> dict:
    """Where billing's gateway callback listens (port 8000 if free) and its HMAC secret: from
    the environment, else a secret made once for this machine in var/gateway-secret."""
    address = os.environ.get("OMS_HTTP_ADDRESS")
    if not address:
        address = f"127.0.0.1:{8000 if _port_free(8000) else free_port()}"
    secret = os.environ.get("OMS_GATEWAY_SECRET")
    if not secret:
        path = settings.var_dir() / "gateway-secret"
        if not path.exists():
            path.write_text(secrets.token_hex(32))
            path.chmod(0o600)
        secret = path.read_text().strip()
    return {"OMS_HTTP_ADDRESS": address, "OMS_GATEWAY_SECRET": secret}


class Supervisor:
    """One `python -m oms.serve <service>` process per service; a dead one is started again."""

    def __init__(self, amqp_uri: str, log_dir: Path, env: dict):
        self.env = dict(os.environ, OMS_AMQP_URI=amqp_uri, **env)
        self.log_dir = log_dir
        self.processes: dict[str, subprocess.Popen] = {}
        self.stopping = False

    def start(self, name: str) -> None:
        log = open(self.log_dir / f"{name}.log", "ab")  # noqa: SIM115 - the child owns it
        self.processes[name] = subprocess.Popen(
            [sys.executable, "-m", "oms.serve", name],
            env=self.env,
            stdout=log,
            stderr=log,
            cwd=settings.ROOT,
            start_new_session=True,  # Ctrl-C reaches us; we stop them in order
        )

    def watch(self) -> None:
        while not self.stopping:
            for name, process in list(self.processes.items()):
                if process.poll() is not None and not self.stopping:
                    print(f"{name} exited with {process.returncode}; starting it again", flush=True)
                    time.sleep(1)
                    self.start(name)
            time.sleep(0.5)

    def stop(self) -> None:
        self.stopping = True
        for process in self.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()


def describe(amqp_uri: str, node: RabbitNode | None, log_dir: Path, http: dict) -> str:
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
    rows.append(("CLI", "oms status | oms parked | oms events orders  (in .venv/bin)"))
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"  {k.ljust(width)}  {v}" for k, v in rows)


def _interrupt(*_) -> None:
    raise KeyboardInterrupt


def main() -> None:
    try:
        amqp_uri, node = start_broker()
    except InfraError as exc:
        sys.exit(f"error: {exc}")
    log_dir = settings.var_dir() / "log"
    log_dir.mkdir(parents=True, exist_ok=True)
    http = http_settings()
    supervisor = Supervisor(amqp_uri, log_dir, http)
    for name in settings.SERVICES:
        supervisor.start(name)
    print(
        "The order-management system is running:\n" + describe(amqp_uri, node, log_dir, http),
        flush=True,
    )
    print("Press Ctrl-C to stop it.", flush=True)
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        supervisor.watch()
    except KeyboardInterrupt:
        print("\nstopping the services ...", flush=True)
    finally:
        supervisor.stop()
        if node is not None:
            print("stopping RabbitMQ ...", flush=True)
            node.stop()
        print("stopped.", flush=True)


if __name__ == "__main__":
    main()
