"""Test session set-up: a throwaway RabbitMQ and PostgreSQL on free loopback ports, started once."""

import warnings

warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")

import eventlet  # noqa: E402

eventlet.monkey_patch()  # before anything else, or pytest hangs under nameko

import os  # noqa: E402
import tempfile  # noqa: E402
import uuid  # noqa: E402
from contextlib import contextmanager  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

os.environ.setdefault("OMS_FOLLOWER_POLL_SECONDS", "1")
os.environ.setdefault("OMS_RELAY_POLL_SECONDS", "0.5")
os.environ.setdefault("OMS_REACTION_BACKOFF_SECONDS", "0.02")
os.environ.setdefault("OMS_RPC_TIMEOUT", "10")
# a replica killed by a test hands its segments on within this (shared/leases.py)
os.environ.setdefault("OMS_FOLLOWER_LEASE_SECONDS", "3")
os.environ.setdefault("OMS_LOG_LEVEL", "WARNING")
# no message leaves a test unless it asks: notifications wait for an operator (the tests of sending
# set NOTIFY_POLICY=auto and start their own mail server or SMS provider: tests/thirdparties.py)
os.environ.setdefault("OMS_NOTIFY_POLICY", "manual")
os.environ.setdefault("OMS_SMTP_PORT", "9")
os.environ.setdefault("OMS_SMS_URL", "http://127.0.0.1:9/sms/json")
os.environ["OMS_ACTOR_SECRET"] = (
    "test-actor-secret-" + "0" * 32
)  # services, the CLI and children check tokens

from oms.postgres import PostgresCluster  # noqa: E402
from oms.rabbitmq import RabbitNode  # noqa: E402
from shared import logging as oms_logging  # noqa: E402
from shared.settings import SERVICES  # noqa: E402

STORES = (*SERVICES, "gateway")  # every database a system uses (the gateway keeps its keys)
from tests.support import System, create_vhost, delete_vhost  # noqa: E402

oms_logging.configure("tests")


@pytest.fixture(scope="session")
def servers_dir():
    with tempfile.TemporaryDirectory(prefix="oms-test-") as path:
        os.chmod(path, 0o755)
        yield Path(path)


@pytest.fixture(scope="session")
def rabbit(servers_dir):
    node = RabbitNode(servers_dir / "rabbitmq")
    node.start()
    yield node
    node.kill()  # a throwaway node: no need to wait for a clean stop (~10 s)
    node.stop()  # (its private epmd)


@pytest.fixture(scope="session")
def postgres(servers_dir):
    cluster = PostgresCluster(servers_dir / "postgres")
    cluster.start()
    yield cluster
    cluster.stop()


@contextmanager
def fresh_vhost(node):
    """A virtual host of its own, so no queue or message outlives its user."""
    vhost = f"t-{uuid.uuid4().hex[:12]}"
    create_vhost(node, vhost)
    yield f"{node.amqp_uri}{vhost}"
    delete_vhost(node, vhost)


@contextmanager
def fresh_store(kind: str, directory: Path, request):
    """Per-service database URLs, on SQLite files or fresh PostgreSQL databases."""
    if kind == "sqlite":
        yield fresh_sqlite(directory)
        return
    cluster = request.getfixturevalue("postgres")
    prefix = f"t{uuid.uuid4().hex[:10]}"
    yield {s: cluster.create_database(f"{prefix}_{s}") for s in STORES}
    for s in STORES:
        cluster.drop_database(f"{prefix}_{s}")


@pytest.fixture
def amqp_uri(rabbit):
    with fresh_vhost(rabbit) as uri:
        yield uri


@pytest.fixture(params=["sqlite", "postgres"])
def store(request, tmp_path):
    with fresh_store(request.param, tmp_path, request) as urls:
        yield urls


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def module_store(request, tmp_path_factory):
    """Stores shared by a module's in-process tests (each adds its own data)."""
    with fresh_store(request.param, tmp_path_factory.mktemp("db"), request) as urls:
        yield urls


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def module_system(request, rabbit, tmp_path_factory):
    """The five services shared by a module's tests (for tests that only read or add their own data)."""
    with (
        fresh_vhost(rabbit) as uri,
        fresh_store(request.param, tmp_path_factory.mktemp("db"), request) as urls,
    ):
        with System(uri, urls) as running:
            yield running


@pytest.fixture
def rpc(module_system):
    """An RPC proxy into the module's system (acting as "tests")."""
    with module_system.rpc(timeout=30) as proxy:
        yield proxy


@pytest.fixture(scope="module")
def sqlite_system(rabbit, tmp_path_factory):
    """The five services on SQLite, shared by a module's tests (for long tables of cases)."""
    with fresh_vhost(rabbit) as uri:
        with System(uri, fresh_sqlite(tmp_path_factory.mktemp("db"))) as running:
            yield running


def fresh_sqlite(directory: Path) -> dict:
    return {s: f"sqlite:///{directory}/{s}.sqlite3" for s in STORES}


@pytest.fixture
def sqlite_store(tmp_path):
    return fresh_sqlite(tmp_path)


# -- no test hangs the suite ------------------------------------------------------------------------
# A system that never recovers must fail its test, not eat CI's whole budget: each phase of a test
# (set-up, call, tear-down) gets OMS_TEST_LIMIT seconds. pytest-timeout cannot do this here (under
# eventlet it sees no main thread and falls back to killing the whole session); an eventlet.Timeout
# is thrown into the test's own greenthread wherever it waits. Session fixtures start servers once:
# their set-up is given the same limit.
TEST_LIMIT = float(os.environ.get("OMS_TEST_LIMIT", "600"))


class TestTookTooLong(BaseException):
    """Not an Exception: the test's own `except Exception` retries must not swallow it."""


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_setup(item):
    with eventlet.Timeout(TEST_LIMIT, TestTookTooLong(f"set-up took over {TEST_LIMIT:.0f} s")):
        yield


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item):
    with eventlet.Timeout(TEST_LIMIT, TestTookTooLong(f"the test ran over {TEST_LIMIT:.0f} s")):
        yield


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item):
    with eventlet.Timeout(TEST_LIMIT, TestTookTooLong(f"tear-down took over {TEST_LIMIT:.0f} s")):
        yield
