"""A throwaway PostgreSQL 15 cluster on a loopback port, its files under one directory (tests, bench)."""

import json
import os
import shutil
import signal
import stat
import subprocess
import time
from pathlib import Path

from oms.infra import (
    PG_BIN,
    InfraError,
    TlsFiles,
    _cmdline,
    _load_json,
    _pid_alive,
    _run,
    _tail,
    _wait_gone,
    free_port,
)


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
    """A throwaway PostgreSQL 15 cluster under `base_dir`, on a private loopback port; with `tls`,
    TLS only (plain TCP connections are refused)."""

    SETTINGS = {
        "fsync": "off",
        "synchronous_commit": "off",
        "full_page_writes": "off",
        "max_connections": "300",
        "listen_addresses": "'127.0.0.1'",
    }

    def __init__(self, base_dir: str | Path, port: int | None = None, tls: TlsFiles | None = None):
        self.tls = tls
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
        settings.update(self._tls_settings())
        conf = self.data_dir / "oms.conf"
        conf.write_text("".join(f"{k} = {v}\n" for k, v in settings.items()))
        if os.geteuid() == 0:
            os.chown(conf, *_postgres_ids())

    def _tls_settings(self) -> dict:
        """TLS on, with copies of the certificate and key the server may read (postgres refuses
        a key others can read), and pg_hba.conf letting TCP clients in over TLS only."""
        if not self.tls:
            return {}
        copies = {}
        for name, source in (("server.pem", self.tls.cert), ("server.key", self.tls.key)):
            copies[name] = self.data_dir / name
            shutil.copyfile(source, copies[name])
            copies[name].chmod(0o600)
        hba = self.data_dir / "pg_hba.conf"
        hba.write_text(
            "local all all trust\n"
            "hostssl all all 127.0.0.1/32 trust\n"
            "hostnossl all all 127.0.0.1/32 reject\n"
        )
        if os.geteuid() == 0:
            for path in (*copies.values(), hba):
                os.chown(path, *_postgres_ids())
        return {
            "ssl": "on",
            "ssl_cert_file": f"'{copies['server.pem']}'",
            "ssl_key_file": f"'{copies['server.key']}'",
        }

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

    def kill(self) -> None:
        """SIGKILL the postmaster (a crash, for fault tests). Its backends notice and exit; a
        later `start()` waits for them and recovers."""
        pid = self.postmaster_pid()
        if pid is None:
            return
        os.kill(pid, signal.SIGKILL)
        if not _wait_gone(pid, 10):
            raise InfraError(f"postmaster {pid} survived SIGKILL")

    def restart_after_crash(self, timeout: float = 60) -> None:
        """Start again once the dead postmaster's backends have let go of its shared memory."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.start()
                return
            except InfraError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)

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
