"""Shared helpers for the local servers: ports, packages, processes, readiness checks."""

import base64
import json
import os
import socket
import subprocess
import tempfile
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

RABBIT_BIN = Path("/usr/lib/rabbitmq/bin")
PG_BIN = Path("/usr/lib/postgresql/15/bin")
EPMD = "epmd"
# rabbitmqctl and rabbitmq-plugins listen on these distribution ports (rabbitmq-env default).
CLI_DIST_PORTS = range(35672, 35683)
LOOPBACK_DIST = "-kernel inet_dist_use_interface {127,0,0,1}"


class InfraError(RuntimeError):
    """A server could not be installed, started or reached."""


@dataclass(frozen=True)
class TlsFiles:
    """What a server needs to speak TLS: the CA its clients trust, its certificate and key."""

    ca: Path
    cert: Path
    key: Path


# ---------------------------------------------------------------- helpers


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nobody listens on right now."""
    return _free_ports(1)[0]


def port_or_free(preferred: int) -> int:
    """`preferred` if nobody listens on it on 127.0.0.1, else a free port."""
    with socket.socket() as sock:
        taken = sock.connect_ex(("127.0.0.1", preferred)) == 0
    return free_port() if taken else preferred


def _free_ports(count: int) -> list[int]:
    """Return `count` distinct free ports (all sockets are held open together)."""
    socks: list[socket.socket] = []
    try:
        while len(socks) < count:
            sock = socket.socket()
            sock.bind(("127.0.0.1", 0))
            if sock.getsockname()[1] in CLI_DIST_PORTS:
                sock.close()
                continue
            socks.append(sock)
        return [s.getsockname()[1] for s in socks]
    finally:
        for sock in socks:
            sock.close()


def _run(
    cmd: list[str],
    env: dict | None = None,
    cwd: Path | None = None,
    timeout: float = 120,
    check: bool = True,
) -> subprocess.CompletedProcess:
    """Run a command with output in a temporary file, never a pipe.

    Daemons started on the way (epmd, a detached beam) would otherwise keep a pipe open
    and hang the caller.
    """
    with tempfile.TemporaryFile() as out:
        try:
            proc = subprocess.run(
                cmd,
                env=env,
                cwd=cwd,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                timeout=timeout,
            )
        except subprocess.TimeoutExpired as exc:
            raise InfraError(f"timed out after {timeout}s: {' '.join(cmd)}") from exc
        out.seek(0)
        proc.stdout = out.read().decode(errors="replace")
    if check and proc.returncode != 0:
        raise InfraError(f"{' '.join(cmd)} exited {proc.returncode}:\n{proc.stdout}")
    return proc


def _ensure_package(binary: Path, *packages: str) -> None:
    """Install Debian packages when `binary` is missing (root only)."""
    package = " ".join(packages)
    if binary.exists():
        return
    if os.geteuid() != 0:
        raise InfraError(
            f"{binary} is missing. Install it as root: apt-get update && "
            f"DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends {package}"
        )
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    _run(["apt-get", "update"], env=env, timeout=600)
    install = ["apt-get", "install", "-y", "--no-install-recommends", *packages]
    _run(install, env=env, timeout=900)
    if not binary.exists():
        raise InfraError(f"installed {package} but {binary} is still missing")


def ensure_rabbitmq_installed() -> None:
    """Install Debian's rabbitmq-server when it is missing."""
    _ensure_package(RABBIT_BIN / "rabbitmq-server", "rabbitmq-server")


def ensure_postgres_installed() -> None:
    """Install Debian's postgresql-15 when it is missing."""
    _ensure_package(PG_BIN / "postgres", "postgresql-15")


def ensure_chromium_installed() -> None:
    """Install Debian's Chromium and its driver (the tests drive pages in it) when missing."""
    _ensure_package(Path("/usr/bin/chromedriver"), "chromium", "chromium-driver")


def amqp_answers(uri: str, timeout: float = 2.0) -> bool:
    """True if a broker at `uri` accepts a TCP connection and an AMQP login."""
    from kombu import Connection

    options = {"read_timeout": timeout, "write_timeout": timeout}
    try:
        with Connection(uri, connect_timeout=timeout, transport_options=options) as conn:
            conn.ensure_connection(max_retries=0)  # one attempt: connect() would retry after 2 s
            return conn.connected
    except Exception:
        return False


def http_answers(uri: str, path: str, timeout: float = 2.0) -> bool:
    """True if GET `path` on `uri` (credentials taken from the URI) returns 200."""
    parsed = urllib.parse.urlsplit(uri)
    url = f"{parsed.scheme}://{parsed.hostname}:{parsed.port}{path}"
    request = urllib.request.Request(url)
    if parsed.username:
        token = base64.b64encode(f"{parsed.username}:{parsed.password}".encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status == 200
    except Exception:
        return False


def _load_json(path: Path) -> dict:
    return json.loads(path.read_text()) if path.exists() else {}


def _pid_alive(pid: int) -> bool:
    """True for a live (not zombie) process."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return False
    return fields[0] not in ("Z", "X")


def _cmdline(pid: int) -> list[str]:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
    except OSError:
        return []


def _tail(path: Path, lines: int = 40) -> str:
    if not path.exists():
        return f"({path} does not exist)"
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def _first_errors(path: Path, lines: int = 15) -> str:
    if not path.exists():
        return ""
    errors = [line for line in path.read_text(errors="replace").splitlines() if "[error]" in line]
    return "\n".join(errors[:lines])


def _wait_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while _pid_alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True
