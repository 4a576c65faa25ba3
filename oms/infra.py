"""Private RabbitMQ nodes and PostgreSQL clusters on loopback ports, for development and tests."""

import argparse
import base64
import json
import os
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

RABBIT_BIN = Path("/usr/lib/rabbitmq/bin")
PG_BIN = Path("/usr/lib/postgresql/15/bin")
EPMD = "epmd"
# rabbitmqctl and rabbitmq-plugins listen on these distribution ports (rabbitmq-env default).
CLI_DIST_PORTS = range(35672, 35683)
LOOPBACK_DIST = "-kernel inet_dist_use_interface {127,0,0,1}"


class InfraError(RuntimeError):
    """A server could not be installed, started or reached."""


# ---------------------------------------------------------------- helpers


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nobody listens on right now."""
    return _free_ports(1)[0]


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


def _ensure_package(binary: Path, package: str) -> None:
    """Install a Debian package when `binary` is missing (root only)."""
    if binary.exists():
        return
    if os.geteuid() != 0:
        raise InfraError(
            f"{binary} is missing. Install it as root: apt-get update && "
            f"DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends {package}"
        )
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    _run(["apt-get", "update"], env=env, timeout=600)
    _run(["apt-get", "install", "-y", "--no-install-recommends", package], env=env, timeout=900)
    if not binary.exists():
        raise InfraError(f"installed {package} but {binary} is still missing")


def ensure_rabbitmq_installed() -> None:
    """Install Debian's rabbitmq-server when it is missing."""
    _ensure_package(RABBIT_BIN / "rabbitmq-server", "rabbitmq-server")


def ensure_postgres_installed() -> None:
    """Install Debian's postgresql-15 when it is missing."""
    _ensure_package(PG_BIN / "postgres", "postgresql-15")


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


# ---------------------------------------------------------------- RabbitMQ


class RabbitNode:
    """One RabbitMQ node whose files all live under `base_dir`, on private loopback ports."""

    def __init__(
        self,
        base_dir: str | Path,
        amqp_port: int | None = None,
        management_port: int | None = None,
        name: str | None = None,
    ):
        self.base_dir = Path(base_dir).resolve()
        self.base_dir.mkdir(parents=True, exist_ok=True)
        saved = _load_json(self.base_dir / "node.json")
        spare = iter(_free_ports(4))
        self.amqp_port = amqp_port or saved.get("amqp_port") or next(spare)
        self.management_port = management_port or saved.get("management_port") or next(spare)
        self.dist_port = saved.get("dist_port") or next(spare)
        self.epmd_port = saved.get("epmd_port") or next(spare)
        name = name or saved.get("name") or f"oms{self.amqp_port}"
        self.name = name if "@" in name else f"{name}@localhost"
        self._save()

    def _save(self) -> None:
        keys = ("amqp_port", "management_port", "dist_port", "epmd_port", "name")
        data = {key: getattr(self, key) for key in keys}
        (self.base_dir / "node.json").write_text(json.dumps(data, indent=2) + "\n")

    @property
    def amqp_uri(self) -> str:
        return f"pyamqp://guest:guest@127.0.0.1:{self.amqp_port}/"

    @property
    def management_uri(self) -> str:
        return f"http://guest:guest@127.0.0.1:{self.management_port}/"

    @property
    def pid_file(self) -> Path:
        return self.base_dir / "rabbitmq.pid"

    @property
    def log_file(self) -> Path:
        return self.base_dir / "log" / f"{self.name}.log"

    def _env(self) -> dict[str, str]:
        """The caller's environment minus any RabbitMQ/Erlang settings, plus this node's."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("RABBITMQ_", "ERL_"))}
        base = self.base_dir
        env.update(
            {
                "HOME": str(base / "home"),
                "RABBITMQ_NODENAME": self.name,
                "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
                "RABBITMQ_NODE_PORT": str(self.amqp_port),
                "RABBITMQ_DIST_PORT": str(self.dist_port),
                "ERL_EPMD_PORT": str(self.epmd_port),
                "ERL_EPMD_ADDRESS": "127.0.0.1",
                "RABBITMQ_MNESIA_BASE": str(base / "mnesia"),
                "RABBITMQ_LOG_BASE": str(base / "log"),
                "RABBITMQ_PID_FILE": str(self.pid_file),
                "RABBITMQ_ENABLED_PLUGINS_FILE": str(base / "enabled_plugins"),
                "RABBITMQ_CONFIG_FILE": str(base / "rabbitmq"),
                "RABBITMQ_ADVANCED_CONFIG_FILE": str(base / "advanced.config"),
                "RABBITMQ_CONF_ENV_FILE": str(base / "rabbitmq-env.conf"),
                "ERL_CRASH_DUMP": str(base / "log" / "erl_crash.dump"),
                # Erlang distribution (server and CLI) listens on loopback only, like everything else.
                "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS": LOOPBACK_DIST,
                "RABBITMQ_CTL_ERL_ARGS": LOOPBACK_DIST,
            }
        )
        return env

    def _write_config(self) -> None:
        for sub in ("home", "mnesia", "log"):
            (self.base_dir / sub).mkdir(exist_ok=True)
        (self.base_dir / "rabbitmq.conf").write_text(
            f"listeners.tcp.default = 127.0.0.1:{self.amqp_port}\n"
            "# guest may log in from anywhere: every listener is bound to 127.0.0.1 anyway\n"
            "loopback_users = none\n"
            f"management.tcp.port = {self.management_port}\n"
            "management.tcp.ip = 127.0.0.1\n"
            "disk_free_limit.absolute = 50MB\n"
        )

    def _enable_management(self) -> None:
        """Enable the management plugin offline.

        Writes what `rabbitmq-plugins --offline enable rabbitmq_management` writes, without the
        2-3 s the CLI needs to boot an Erlang VM.
        """
        plugins = self.base_dir / "enabled_plugins"
        if "rabbitmq_management" not in (plugins.read_text() if plugins.exists() else ""):
            plugins.write_text("[rabbitmq_management].\n")

    def beam_pid(self) -> int | None:
        """The pid of this node's beam.smp, or None."""
        try:
            pid = int(self.pid_file.read_text().strip())
            if self._is_our_beam(pid):
                return pid
        except (OSError, ValueError):
            pass
        return next(
            (
                int(p.name)
                for p in Path("/proc").iterdir()
                if p.name.isdigit() and self._is_our_beam(int(p.name))
            ),
            None,
        )

    def _is_our_beam(self, pid: int) -> bool:
        args = _cmdline(pid)
        if not args or not args[0].endswith("beam.smp") or not _pid_alive(pid):
            return False
        # The node name is not on the command line (rabbit sets it at boot), but HOME is;
        # `-s rabbit` tells the server from a rabbitmqctl VM, which has the same HOME.
        pairs = set(zip(args, args[1:], strict=False))
        return ("-home", str(self.base_dir / "home")) in pairs and ("-s", "rabbit") in pairs

    def is_running(self) -> bool:
        return self.beam_pid() is not None

    def is_ready(self) -> bool:
        return amqp_answers(self.amqp_uri) and http_answers(self.management_uri, "/api/overview")

    def start(self, timeout: float = 90) -> None:
        """Start the node (unless running) and wait until AMQP and the management API answer."""
        if not self.is_running():
            self._write_config()
            self._enable_management()
            self._launch()
        self._wait_ready(timeout)

    def _launch(self) -> None:
        with open(self.base_dir / "log" / "startup.log", "ab") as out:
            subprocess.run(
                [str(RABBIT_BIN / "rabbitmq-server"), "-detached"],
                env=self._env(),
                cwd=self.base_dir,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                timeout=60,
                check=False,
            )

    def _wait_ready(self, timeout: float) -> None:
        started = time.monotonic()
        while not self.is_ready():
            waited = time.monotonic() - started
            if waited > 5 and not self.is_running():
                raise InfraError(f"RabbitMQ node {self.name} died while starting:\n{self._logs()}")
            if waited > timeout:
                raise InfraError(
                    f"RabbitMQ node {self.name} not ready after {timeout}s:\n{self._logs()}"
                )
            time.sleep(0.2)

    def _logs(self) -> str:
        """What to show when start fails: the first errors (the cause) and the log's end."""
        startup = self.base_dir / "log" / "startup.log"
        return (
            f"--- {startup}\n{_tail(startup, 15)}\n"
            f"--- first errors in {self.log_file}\n{_first_errors(self.log_file)}\n"
            f"--- end of {self.log_file}\n{_tail(self.log_file, 15)}"
        )

    def stop(self) -> None:
        """Stop the node cleanly (SIGKILL if it does not go) and end its private epmd."""
        pid = self.beam_pid()
        if pid is not None:
            os.kill(pid, signal.SIGCONT)  # a fault test may have left it SIGSTOPped
            self._ctl_stop()
            if not _wait_gone(pid, 30):
                os.kill(pid, signal.SIGKILL)
                _wait_gone(pid, 10)
        _run(
            [EPMD, "-port", str(self.epmd_port), "-kill"],
            env=self._env(),
            cwd=self.base_dir,
            timeout=15,
            check=False,
        )
        self.pid_file.unlink(missing_ok=True)

    def _ctl_stop(self) -> None:
        """`rabbitmqctl stop`, which returns once the node has shut down; a hang is tolerated."""
        command = [str(RABBIT_BIN / "rabbitmqctl"), "-n", self.name, "stop"]
        try:
            _run(command, env=self._env(), cwd=self.base_dir, timeout=30, check=False)
        except InfraError:
            pass  # the caller falls back to SIGKILL

    def kill(self) -> None:
        """SIGKILL this node's beam.smp (a crash, for fault tests); epmd stays."""
        pid = self.beam_pid()
        if pid is None:
            return
        os.kill(pid, signal.SIGKILL)
        if not _wait_gone(pid, 10):
            raise InfraError(f"beam.smp {pid} of {self.name} survived SIGKILL")


# ---------------------------------------------------------------- PostgreSQL


def _as_postgres(cmd: list[str]) -> list[str]:
    """initdb and postgres refuse to run as root: switch to the postgres user."""
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


def _make_traversable(path: Path) -> None:
    """Give 'others' search permission on every parent so the postgres user can reach `path`."""
    for parent in path.parents:
        mode = parent.stat().st_mode
        if not mode & stat.S_IXOTH:
            parent.chmod(stat.S_IMODE(mode) | stat.S_IXOTH)


class PostgresCluster:
    """A throwaway PostgreSQL 15 cluster under `base_dir`, on a private loopback port."""

    SETTINGS = {
        "fsync": "off",
        "synchronous_commit": "off",
        "full_page_writes": "off",
        "max_connections": "300",
        "listen_addresses": "'127.0.0.1'",
    }

    def __init__(self, base_dir: str | Path, port: int | None = None):
        self.base_dir = Path(base_dir).resolve()
        self.base_dir.mkdir(parents=True, exist_ok=True)
        self.port = port or _load_json(self.base_dir / "cluster.json").get("port") or free_port()
        (self.base_dir / "cluster.json").write_text(json.dumps({"port": self.port}) + "\n")

    @property
    def data_dir(self) -> Path:
        return self.base_dir / "data"

    @property
    def log_file(self) -> Path:
        return self.base_dir / "postgres.log"

    def url(self, dbname: str) -> str:
        return f"postgresql+psycopg2://postgres@127.0.0.1:{self.port}/{dbname}"

    def _pg(self, tool: str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return _run(_as_postgres([str(PG_BIN / tool), *args]), cwd=self.base_dir, check=check)

    def _prepare_dirs(self) -> None:
        if os.geteuid() != 0:
            return
        _make_traversable(self.base_dir)
        os.chown(self.base_dir, *_postgres_ids())
        if self.data_dir.exists():
            os.chown(self.data_dir, *_postgres_ids())

    def _initdb(self) -> None:
        options = ["-U", "postgres", "--auth=trust", "--encoding=UTF8", "--locale=C", "--no-sync"]
        self._pg("initdb", "-D", str(self.data_dir), *options)
        with open(self.data_dir / "postgresql.conf", "a") as conf:
            conf.write("\ninclude_if_exists = 'oms.conf'\n")

    def _write_settings(self) -> None:
        # A socket path must fit in 107 bytes; past that, TCP only (the URLs use TCP anyway).
        socket_dir = str(self.base_dir) if len(str(self.base_dir)) < 80 else ""
        settings = {
            **self.SETTINGS,
            "port": str(self.port),
            "unix_socket_directories": f"'{socket_dir}'",
        }
        conf = self.data_dir / "oms.conf"
        conf.write_text("".join(f"{k} = {v}\n" for k, v in settings.items()))
        if os.geteuid() == 0:
            os.chown(conf, *_postgres_ids())

    def postmaster_pid(self) -> int | None:
        """The postmaster's pid, or None.

        Not `pg_ctl status`: it takes an unreaped zombie (left by SIGKILL here) for a live server.
        """
        try:
            pid = int((self.data_dir / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None
        args = _cmdline(pid)
        alive = _pid_alive(pid) and str(self.data_dir) in args and args[0].endswith("postgres")
        return pid if alive else None

    def is_running(self) -> bool:
        return self.postmaster_pid() is not None

    def start(self) -> None:
        """initdb when needed, then start and wait; does nothing if already running."""
        self._prepare_dirs()
        if not (self.data_dir / "PG_VERSION").exists():
            self._initdb()
        if self.is_running():
            return
        # Stale after a crash; postgres itself would refuse to start while the pid is a zombie.
        (self.data_dir / "postmaster.pid").unlink(missing_ok=True)
        self._write_settings()
        options = ["-l", str(self.log_file), "-w", "-t", "60"]
        proc = self._pg("pg_ctl", "-D", str(self.data_dir), *options, "start", check=False)
        if proc.returncode != 0:
            raise InfraError(f"PostgreSQL did not start:\n{proc.stdout}\n{_tail(self.log_file)}")

    def stop(self) -> None:
        """Fast shutdown; nothing happens if the cluster is not running."""
        pid = self.postmaster_pid()
        if pid is None:
            return
        os.kill(pid, signal.SIGCONT)  # a fault test may have left it SIGSTOPped
        for mode in ("fast", "immediate"):
            stop = self._pg(
                "pg_ctl", "-D", str(self.data_dir), "-m", mode, "-w", "stop", check=False
            )
            if stop.returncode == 0:
                return

    def _connect(self):
        import psycopg2

        conn = psycopg2.connect(
            host="127.0.0.1", port=self.port, user="postgres", dbname="postgres", connect_timeout=10
        )
        conn.autocommit = True
        return conn

    def _execute(self, statement) -> None:
        conn = self._connect()
        try:
            with conn.cursor() as cur:
                cur.execute(statement)
        finally:
            conn.close()

    def create_database(self, name: str) -> str:
        from psycopg2 import sql

        self._execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return self.url(name)

    def drop_database(self, name: str) -> None:
        """Drop `name`, ending its sessions first (WITH (FORCE)); no error if it is absent."""
        from psycopg2 import sql

        self._execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


def _postgres_ids() -> tuple[int, int]:
    import pwd

    entry = pwd.getpwnam("postgres")
    return entry.pw_uid, entry.pw_gid


# ---------------------------------------------------------------- CLI


def _rabbitmq_command(args: argparse.Namespace) -> int:
    node = RabbitNode(args.dir, amqp_port=args.port, management_port=args.management_port)
    if args.action == "start":
        ensure_rabbitmq_installed()
        node.start()
    elif args.action == "stop":
        node.stop()
        print(f"stopped {node.name}")
        return 0
    running = node.is_running()
    print(f"node {node.name}: {'running' if running else 'stopped'}")
    print(f"amqp_uri={node.amqp_uri}\nmanagement_uri={node.management_uri}")
    return 0 if running else 3


def _postgres_command(args: argparse.Namespace) -> int:
    cluster = PostgresCluster(args.dir, port=args.port)
    if args.action == "start":
        ensure_postgres_installed()
        cluster.start()
    elif args.action == "stop":
        cluster.stop()
        print(f"stopped PostgreSQL in {cluster.data_dir}")
        return 0
    running = cluster.is_running()
    print(f"postgres {cluster.data_dir}: {'running' if running else 'stopped'}")
    print(f"url={cluster.url('postgres')}")
    return 0 if running else 3


def _ensure_command(args: argparse.Namespace) -> int:
    ensure_rabbitmq_installed()
    ensure_postgres_installed()
    print("rabbitmq-server and postgresql-15 are installed")
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m oms.infra", description=__doc__)
    servers = parser.add_subparsers(dest="server", required=True)
    ensure = servers.add_parser("ensure", help="install both servers from Debian if missing")
    ensure.set_defaults(handler=_ensure_command)
    rabbit = servers.add_parser("rabbitmq", help="a private RabbitMQ node")
    rabbit.add_argument("action", choices=["start", "stop", "status"])
    rabbit.add_argument("--dir", required=True, help="directory holding all of the node's files")
    rabbit.add_argument("--port", type=int, help="AMQP port (default: saved or free)")
    rabbit.add_argument("--management-port", type=int, help="management HTTP port")
    rabbit.set_defaults(handler=_rabbitmq_command)
    pg = servers.add_parser("postgres", help="a throwaway PostgreSQL 15 cluster")
    pg.add_argument("action", choices=["start", "stop", "status"])
    pg.add_argument("--dir", required=True, help="directory holding the cluster")
    pg.add_argument("--port", type=int, help="port (default: saved or free)")
    pg.set_defaults(handler=_postgres_command)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return args.handler(args)
    except InfraError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
