"""Who leads a service's relay (or sender): one publishes (sends) per store. PostgreSQL: a session advisory lock;
a SQLite file: an `flock` on a file beside it (the kernel drops it with its process); an in-memory
SQLite store: its one process. `ReplicasLock`: a critical section shared by the replicas."""

import fcntl
import threading
import zlib

import sqlalchemy as sa


class _FileLock:
    """SQLite: the relay leader holds an exclusive `flock` on a file beside the database, so two
    processes on one file (a second `make run`, a stray service) never both publish. The kernel
    drops the lock when its process dies."""

    def __init__(self, path: str):
        self.path = path
        self._file = None

    def acquire(self) -> bool:
        if self._file is not None:
            return True
        file = open(self.path, "a")  # noqa: SIM115 - held open as long as the lead
        try:
            fcntl.flock(file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            file.close()
            return False
        self._file = file
        return True

    def release(self) -> None:
        if self._file is not None:
            self._file.close()  # closing the file releases the lock
            self._file = None


class _ProcessLock:
    """An in-memory SQLite store lives in one process: nothing to share."""

    def acquire(self) -> bool:
        return True

    def release(self) -> None:
        pass


class _AdvisoryLock:
    """PostgreSQL: the relay leader holds a session advisory lock on a connection of its own."""

    def __init__(self, app, role: str):
        self.app = app
        self.key = _lock_key(app.service, role)
        self._conn = None

    def acquire(self) -> bool:
        if self._conn is not None:
            try:
                self._conn.execute(sa.text("SELECT 1"))
                self._conn.commit()  # never sit idle in a transaction
                return True
            except Exception:  # noqa: BLE001 - lost connection means lost lock
                self.release()
        conn = self.app.engine.connect()
        got = conn.execute(sa.text("SELECT pg_try_advisory_lock(:k)"), {"k": self.key}).scalar()
        conn.commit()
        if got:
            self._conn = conn
            return True
        conn.close()
        return False

    def release(self) -> None:
        """Unlock explicitly: a pooled connection's session (and its lock) outlives close()."""
        if self._conn is None:
            return
        try:
            self._conn.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": self.key})
            self._conn.commit()
        except Exception:  # noqa: BLE001 - a broken session: never hand it back to the pool
            self._conn.invalidate()
        finally:
            self._conn.close()
            self._conn = None


class ReplicasLock:
    """A lock held in this process and, on PostgreSQL, across the service's replicas (a session
    advisory lock, waited for); a SQLite file has one writer at a time anyway."""

    def __init__(self, app, role: str):
        self.app, self._local = app, threading.Lock()
        self.key = _lock_key(app.service, role)
        self._conn = None

    def __enter__(self):
        self._local.acquire()
        if self.app.dialect == "postgresql":
            try:
                self._conn = self.app.engine.connect()
                self._conn.execute(sa.text("SELECT pg_advisory_lock(:k)"), {"k": self.key})
                self._conn.commit()
            except BaseException:
                self._close()
                self._local.release()
                raise
        return self

    def __exit__(self, *exc) -> None:
        try:
            if self._conn is not None:
                self._conn.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": self.key})
                self._conn.commit()
        except Exception:  # noqa: BLE001 - a broken session: its lock ended with it
            self._conn.invalidate()
        finally:
            self._close()
            self._local.release()

    def _close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def _lock_key(service: str, role: str) -> int:
    return zlib.crc32(f"oms-{role}-{service}".encode())


def leader_lock(app, role: str = "relay"):
    """The lock of a service's one `role` (its relay, its sender)."""
    if app.dialect == "postgresql":
        return _AdvisoryLock(app, role)
    database = app.engine.url.database
    if database and database != ":memory:":
        return _FileLock(f"{database}.{role}-lock")
    return _ProcessLock()
