"""Which broker a service logs in to, as whom, and over what TLS (shared/settings.py)."""

import ssl

from shared.settings import Settings, service_amqp_uri

SHARED = "pyamqp://guest:guest@127.0.0.1:5672/"


def test_a_service_takes_its_own_uri_before_the_shared_one(monkeypatch):
    monkeypatch.setenv("OMS_AMQP_URI", SHARED)
    monkeypatch.setenv("OMS_BILLING_AMQP_URI", "pyamqp://billing:pw@127.0.0.1:5672/")
    assert service_amqp_uri("billing") == "pyamqp://billing:pw@127.0.0.1:5672/"
    assert service_amqp_uri("orders") == SHARED
    config = {"AMQP_URI": "pyamqp://x@h/", "AMQP_URIS": {"orders": "pyamqp://orders@h/"}}
    assert service_amqp_uri("orders", config) == "pyamqp://orders@h/"
    assert service_amqp_uri("notify", config) == "pyamqp://x@h/"


def test_plain_amqp_has_no_tls_options():
    assert Settings(amqp_uri=SHARED).amqp_ssl() is None
    assert "AMQP_SSL" not in Settings(amqp_uri=SHARED).nameko_config()


def test_amqps_verifies_the_certificate_and_the_host_name():
    options = Settings(amqp_uri="amqps://u:p@broker:5671/").amqp_ssl()
    assert options == {"cert_reqs": ssl.CERT_REQUIRED, "server_hostname": None}


def test_a_ca_file_and_a_client_certificate_go_to_kombu():
    settings = Settings(amqp_ssl_ca="/ca.pem", amqp_ssl_cert="/c.pem", amqp_ssl_key="/c.key")
    assert settings.nameko_config()["AMQP_SSL"] == {
        "cert_reqs": ssl.CERT_REQUIRED,
        "server_hostname": None,
        "ca_certs": "/ca.pem",
        "certfile": "/c.pem",
        "keyfile": "/c.key",
    }
    assert settings.amqp_ssl() is not settings.amqp_ssl()  # kombu writes into it
