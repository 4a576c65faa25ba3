"""Logs are JSON lines that carry the service and the correlation id of the work in hand."""

import io
import json
import logging
import subprocess
import sys

from shared import context
from shared import logging as oms_logging


def test_a_log_line_inside_a_correlation_carries_its_id_and_the_service():
    stream = io.StringIO()
    try:
        oms_logging.configure("billing", stream=stream)
        with context.bound(correlation_id="checkout-77", causation_id="orders:3"):
            oms_logging.get("test").warning("reaction_failed", attempt=2)
        oms_logging.get("test").warning("outside")
    finally:
        oms_logging.configure("tests")
    inside, outside = (json.loads(line) for line in stream.getvalue().splitlines())
    assert inside["event"] == "reaction_failed" and inside["attempt"] == 2
    assert inside["correlation_id"] == "checkout-77" and inside["service"] == "billing"
    assert "correlation_id" not in outside and inside["level"] == "warning"


def test_a_client_in_the_virtualenv_imports_nameko_without_eventlets_banner():
    """`make` installs oms/eventlet-quiet.pth in the virtualenv: user scripts and `nameko shell`
    print no deprecation banner."""
    imported = subprocess.run(
        [sys.executable, "-c", "from nameko.standalone.rpc import ClusterRpcProxy"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert imported.stderr == ""


def test_logs_mask_email_addresses_phone_numbers_and_the_web_servers_queries_and_tokens():
    """A client's contact details never reach a log line, whoever logs them: our structlog
    lines, the standard library's (nameko, eventlet) and the access log of the web servers."""
    stream = io.StringIO()
    try:
        oms_logging.configure("notify", stream=stream)
        oms_logging.get("test").warning(
            "send_failed", answer="550 ada.lovelace@example.com: no such user; sms +442079460000",
            reference="2026-000123",
        )  # fmt: skip
        logging.getLogger("nameko.containers").error(
            "error handling worker %s: %s", "orders.place_order", "client bob@example.org"
        )
        logging.getLogger("nameko.web.server").warning(
            '127.0.0.1 - - "GET /v1/orders?search=Ada+Lovelace HTTP/1.1" 200 / "GET /track/eyJh.sig"'
        )
    finally:
        oms_logging.configure("tests")
    text = stream.getvalue()
    assert "ada.lovelace@example.com" not in text and "+442079460000" not in text
    assert "bob@example.org" not in text and "Ada+Lovelace" not in text and "eyJh" not in text
    ours, stdlib, access = text.splitlines()
    assert json.loads(ours)["answer"] == "550 <email>: no such user; sms <phone>"
    assert json.loads(ours)["reference"] == "2026-000123"  # numbers that are no phone stay
    assert stdlib == "error handling worker orders.place_order: client <email>"
    assert access == '127.0.0.1 - - "GET /v1/orders?<query> HTTP/1.1" 200 / "GET /track/<token>"'
