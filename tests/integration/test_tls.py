"""TLS by configuration: services on `amqps://` (OMS_AMQP_SSL_CA) and on PostgreSQL with
`sslmode=verify-full`, against a broker and a cluster whose certificates a throwaway CA signed;
a client trusting another CA is refused by both. One extra node and cluster for the module."""

import ssl
import urllib.parse

import psycopg2
import pytest
from kombu import Connection
from kombu.exceptions import OperationalError

from oms import broker_setup
from oms.infra import TlsFiles
from oms.postgres import PostgresCluster
from oms.rabbitmq import RabbitNode
from tests.certificates import make_ca, make_server
from tests.support import System, eventually, management, order_payload

SERVICES = ("orders", "billing")


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    directory = tmp_path_factory.mktemp("certs")
    directory.chmod(0o755)  # the postgres user reads its copy of the key from a sibling
    ca = make_ca(directory, "ca")
    return {"ca": ca, "server": make_server(directory, ca), "other_ca": make_ca(directory, "other")}


@pytest.fixture(scope="module")
def tls_rabbit(certs, servers_dir):
    server = certs["server"]
    node = RabbitNode(servers_dir / "rabbitmq-tls", tls=TlsFiles(certs["ca"].cert, server.cert,
                                                                   server.key))  # fmt: skip
    node.start()
    yield node
    node.kill()
    node.stop()


@pytest.fixture(scope="module")
def tls_postgres(certs, servers_dir):
    server = certs["server"]
    cluster = PostgresCluster(servers_dir / "postgres-tls", tls=TlsFiles(certs["ca"].cert,
                                                                          server.cert, server.key))  # fmt: skip
    cluster.start()
    yield cluster
    cluster.stop()


def verified(url: str, ca) -> str:
    """A database URL that checks the server's certificate and host name against `ca`."""
    return f"{url}?sslmode=verify-full&sslrootcert={urllib.parse.quote(str(ca.cert))}"


def test_services_run_over_amqps_and_verified_postgres(tls_rabbit, tls_postgres, certs):
    ca = certs["ca"]
    broker_setup.provision_node(tls_rabbit, tls_rabbit.base_dir / "users.json")
    known = broker_setup.passwords(tls_rabbit.base_dir / "users.json")
    own = {s: broker_setup.uri_as(tls_rabbit.amqps_uri, s, known[s]) for s in SERVICES}
    urls = {s: verified(tls_postgres.create_database(f"tls_{s}"), ca) for s in SERVICES}
    tls = {"ca_certs": str(ca.cert), "cert_reqs": ssl.CERT_REQUIRED, "server_hostname": None}
    with System(tls_rabbit.amqps_uri, urls, services=SERVICES, AMQP_URIS=own,
                AMQP_SSL_CA=str(ca.cert), AMQP_SSL=tls) as system, system.rpc() as rpc:  # fmt: skip
        order = rpc.orders.place_order(order_payload())
        rpc.orders.accept_order(order["id"])
        (invoice,) = eventually(lambda: rpc.billing.invoices_for_order(order["id"]))
        assert invoice["kind"] == "invoice"

        def connections():  # listed a few seconds late
            return {(c["user"], c["ssl"]) for c in management(tls_rabbit, "GET", "connections")}

        eventually(lambda: {("orders", True), ("billing", True)} <= connections())
        assert {user for user, over_tls in connections() if not over_tls} <= {"guest"}
        assert services_sessions(tls_postgres, ca) == {("tls_orders", True), ("tls_billing", True)}


def services_sessions(cluster: PostgresCluster, ca) -> set:
    """(database, over TLS) of every session on the services' databases but this one."""
    libpq_url = verified(cluster.url("postgres"), ca).replace("+psycopg2", "")
    with psycopg2.connect(libpq_url) as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT a.datname, s.ssl FROM pg_stat_activity a JOIN pg_stat_ssl s USING (pid)"
            " WHERE a.datname LIKE 'tls_%' AND a.pid <> pg_backend_pid()"
        )
        return set(cur.fetchall())


def test_a_client_trusting_another_ca_is_refused_by_both(tls_rabbit, tls_postgres, certs):
    other = str(certs["other_ca"].cert)
    refusing = {"ca_certs": other, "cert_reqs": ssl.CERT_REQUIRED, "server_hostname": None}
    with pytest.raises(OperationalError, match="certificate verify failed") as refused:
        with Connection(tls_rabbit.amqps_uri, ssl=refusing, connect_timeout=10) as conn:
            conn.ensure_connection(max_retries=0)
    assert isinstance(refused.value.__cause__, ssl.SSLCertVerificationError)
    with pytest.raises(psycopg2.OperationalError, match="certificate verify failed"):
        psycopg2.connect(host="127.0.0.1", port=tls_postgres.port, user="postgres",
                         dbname="postgres", sslmode="verify-full", sslrootcert=other)  # fmt: skip
    with pytest.raises(psycopg2.OperationalError, match="no encryption"):
        psycopg2.connect(host="127.0.0.1", port=tls_postgres.port, user="postgres",
                         dbname="postgres", sslmode="disable")  # fmt: skip
