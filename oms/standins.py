"""The third parties `make run` plays itself unless told otherwise: a local SMTP server whose
messages land under var/mail/ (`oms mail` lists them), a local SMS provider that logs to
var/sms/sms.jsonl (`oms sms`), and the sandbox distributor (oms/sandbox.py) under var/distributor. Setting OMS_SMTP_HOST (or OMS_SMTP_PORT) or OMS_SMS_URL points
the services at a real provider instead, and the stand-in is not started."""

import os
import sys

from oms import sandbox
from oms.infra import port_or_free
from shared import settings


def standins() -> tuple[dict, dict]:
    """(the settings the services get, {name: command} of the stand-ins to run)."""
    env, commands = {}, {}
    var = settings.var_dir()
    if not (os.environ.get("OMS_SMTP_HOST") or os.environ.get("OMS_SMTP_PORT")):
        port = port_or_free(8025)
        env.update(OMS_SMTP_HOST="127.0.0.1", OMS_SMTP_PORT=str(port), OMS_SMTP_SECURITY="none")
        commands["mail"] = [
            sys.executable, "-m", "oms.mailcatcher", str(var / "mail"), "--port", str(port)
        ]  # fmt: skip
    if not os.environ.get("OMS_SMS_URL"):
        port = port_or_free(8026)
        env["OMS_SMS_URL"] = f"http://127.0.0.1:{port}/sms/json"
        commands["sms"] = [
            sys.executable,
            "-m",
            "oms.smsbox",
            str(var / "sms"),
            "--port",
            str(port),
        ]
    port = port_or_free(8027)
    sandbox.prepare(var / "distributor")
    env["OMS_SANDBOX_DISTRIBUTOR_URL"] = f"http://127.0.0.1:{port}"
    commands["distributor"] = [
        sys.executable, "-m", "oms.distributor", str(var / "distributor"), "--port", str(port)
    ]  # fmt: skip
    port = port_or_free(8028)  # an integrator's endpoint to point webhooks at (oms/hookbox.py)
    env["OMS_WEBHOOK_ALLOW"] = os.environ.get("OMS_WEBHOOK_ALLOW", "loopback")
    env["OMS_SANDBOX_WEBHOOK_URL"] = f"http://127.0.0.1:{port}/"
    commands["hooks"] = [
        sys.executable, "-m", "oms.hookbox", str(var / "hooks"), "--port", str(port)
    ]  # fmt: skip
    return env, commands
