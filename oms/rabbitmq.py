"""A private RabbitMQ node on loopback ports, its files under one directory (for `make run`, tests, bench)."""

import json
import os
import signal
import subprocess
import time
from pathlib import Path

from oms.infra import (
    EPMD,
    LOOPBACK_DIST,
    RABBIT_BIN,
    InfraError,
    TlsFiles,
    _cmdline,
    _first_errors,
    _free_ports,
    _load_json,
    _pid_alive,
    _run,
    _tail,
    _wait_gone,
    amqp_answers,
    http_answers,
)


class RabbitNode:
    """One RabbitMQ node whose files all live under `base_dir`, on private loopback ports; with
    `tls`, also a TLS listener (`amqps_uri`) beside the plain one."""

    def __init__(
        self,
        base_dir: str | Path,
        amqp_port: int | None = None,
        management_port: int | None = None,
        name: str | None = None,
        prometheus_port: int | None = None,
        tls: TlsFiles | None = None,
    ):
        self.base_dir = Path(base_dir).resolve()
        self.base_dir.mkdir(parents=True, exist_ok=True)
        saved = _load_json(self.base_dir / "node.json")
        spare = iter(_free_ports(6))
        self.amqp_port = amqp_port or saved.get("amqp_port") or next(spare)
        self.management_port = management_port or saved.get("management_port") or next(spare)
        #: RabbitMQ's own Prometheus endpoint (`GET /metrics`, the rabbitmq_prometheus plugin)
        self.prometheus_port = prometheus_port or saved.get("prometheus_port") or next(spare)
        self.dist_port = saved.get("dist_port") or next(spare)
        self.epmd_port = saved.get("epmd_port") or next(spare)
        self.tls = tls
        self.tls_port = (saved.get("tls_port") or next(spare)) if tls else None
        name = name or saved.get("name") or f"oms{self.amqp_port}"
        self.name = name if "@" in name else f"{name}@localhost"
        self._save()

    def _save(self) -> None:
        keys = ("amqp_port", "management_port", "prometheus_port", "dist_port", "epmd_port", "name")
        keys += ("tls_port",) if self.tls else ()
        data = {key: getattr(self, key) for key in keys}
        (self.base_dir / "node.json").write_text(json.dumps(data, indent=2) + "\n")

    @property
    def amqp_uri(self) -> str:
        return f"pyamqp://guest:guest@127.0.0.1:{self.amqp_port}/"

    @property
    def amqps_uri(self) -> str:
        """guest over TLS (the server certificate must name 127.0.0.1)."""
        return f"amqps://guest:guest@127.0.0.1:{self.tls_port}/"

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
            "# RabbitMQ's default, said aloud: guest logs in over loopback only; the services\n"
            "# log in as their own users (oms/broker_users.py)\n"
            "loopback_users.guest = true\n"
            f"management.tcp.port = {self.management_port}\n"
            "management.tcp.ip = 127.0.0.1\n"
            f"prometheus.tcp.port = {self.prometheus_port}\n"
            "prometheus.tcp.ip = 127.0.0.1\n"
            "disk_free_limit.absolute = 50MB\n"
            "# refuse oversized publishes at the door (the services refuse over 4 MiB themselves)\n"
            "max_message_size = 16777216\n" + self._tls_config()
        )

    def _tls_config(self) -> str:
        """A TLS listener that asks for a client certificate but accepts clients without one."""
        if not self.tls:
            return ""
        return (
            f"listeners.ssl.default = 127.0.0.1:{self.tls_port}\n"
            f"ssl_options.cacertfile = {self.tls.ca}\n"
            f"ssl_options.certfile = {self.tls.cert}\n"
            f"ssl_options.keyfile = {self.tls.key}\n"
            "ssl_options.verify = verify_peer\n"
            "ssl_options.fail_if_no_peer_cert = false\n"
        )

    def _enable_management(self) -> None:
        """Enable the management and Prometheus plugins offline.

        Writes what `rabbitmq-plugins --offline enable rabbitmq_management rabbitmq_prometheus`
        writes, without the 2-3 s the CLI needs to boot an Erlang VM.
        """
        plugins = self.base_dir / "enabled_plugins"
        if "rabbitmq_prometheus" not in (plugins.read_text() if plugins.exists() else ""):
            plugins.write_text("[rabbitmq_management,rabbitmq_prometheus].\n")

    @property
    def metrics_url(self) -> str:
        return f"http://127.0.0.1:{self.prometheus_port}/metrics"

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
