"""Test session set-up: a throwaway RabbitMQ and PostgreSQL on free loopback ports, started once."""

import eventlet

eventlet.monkey_patch()  # before anything else, or pytest hangs under nameko

import os  # noqa: E402
import tempfile  # noqa: E402
import uuid  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

os.environ.setdefault("OMS_FOLLOWER_POLL_SECONDS", "1")
os.environ.setdefault("OMS_RELAY_POLL_SECONDS", "0.5")
os.environ.setdefault("OMS_REACTION_BACKOFF_SECONDS", "0.02")
os.environ.setdefault("OMS_RPC_TIMEOUT", "10")
os.environ.setdefault("OMS_LOG_LEVEL", "WARNING")

from oms.infra import PostgresCluster, RabbitNode  # noqa: E402
from shared import logging as oms_logging  # noqa: E402
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
    node.stop()


@pytest.fixture(scope="session")
def postgres(servers_dir):
    cluster = PostgresCluster(servers_dir / "postgres")
    cluster.start()
    yield cluster
    cluster.stop()


@pytest.fixture
def amqp_uri(rabbit):
    """A fresh virtual host per test, so no queue or message outlives its test."""
    vhost = f"t-{uuid.uuid4().hex[:12]}"
    create_vhost(rabbit, vhost)
    yield f"{rabbit.amqp_uri}{vhost}"
    delete_vhost(rabbit, vhost)


@pytest.fixture(params=["sqlite", "postgres"])
def store(request, tmp_path):
    """Per-service database URLs for one test, on SQLite files or fresh PostgreSQL databases."""
    services = ("orders", "billing", "fulfilment", "production", "notify")
    if request.param == "sqlite":
        yield {s: f"sqlite:///{tmp_path}/{s}.sqlite3" for s in services}
        return
    cluster = request.getfixturevalue("postgres")
    prefix = f"t{uuid.uuid4().hex[:10]}"
    urls = {s: cluster.create_database(f"{prefix}_{s}") for s in services}
    yield urls
    for s in services:
        cluster.drop_database(f"{prefix}_{s}")


@pytest.fixture
def sqlite_store(tmp_path):
    services = ("orders", "billing", "fulfilment", "production", "notify")
    return {s: f"sqlite:///{tmp_path}/{s}.sqlite3" for s in services}


@pytest.fixture
def system(amqp_uri, store):
    """The five services, in this process, on the test's broker vhost and stores."""
    with System(amqp_uri, store) as running:
        yield running
