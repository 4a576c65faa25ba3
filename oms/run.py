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
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path

from oms import broker_setup, sandbox
from oms.banner import describe, metrics_addresses, write_scrape_config
from oms.edge import first_admin_key, http_settings, wait_for_gateway
from oms.infra import InfraError, amqp_answers, ensure_rabbitmq_installed, port_or_free
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
    return port_or_free(usual)


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
        logins = broker_setup.service_logins(node)
        for name in (*settings.SERVICES, "gateway"):
            supervisor.start(
                name, env={"OMS_METRICS_ADDRESS": scraped[name], **logins.get(name, {})}
            )
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
