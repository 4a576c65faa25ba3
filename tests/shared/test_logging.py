"""Logs are JSON lines that carry the service and the correlation id of the work in hand."""

import io
import json
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
