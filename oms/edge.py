"""What `make run` sets up for the HTTP side: where billing's callback and the gateway listen, the
secrets (made once for this machine under var/), and the first admin API key."""

import os
import secrets
import socket
import time
import urllib.request

from oms.infra import InfraError, free_port
from oms.probe import call
from shared import actors, settings


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


def http_settings() -> dict:
    """Where billing's gateway callback listens (port 8000 if free) and its HMAC secret: from
    the environment, else a secret made once for this machine in var/gateway-secret."""
    address = os.environ.get("OMS_HTTP_ADDRESS")
    if not address:
        address = f"127.0.0.1:{8000 if _port_free(8000) else free_port()}"
    secret = os.environ.get("OMS_GATEWAY_SECRET")
    if not secret:
        path = settings.var_dir() / "gateway-secret"
        if not path.exists():
            path.write_text(secrets.token_hex(32))
            path.chmod(0o600)
        secret = path.read_text().strip()
    api = os.environ.get("OMS_API_ADDRESS")
    if not api:
        api = f"127.0.0.1:{8080 if _port_free(8080) else free_port()}"
    actor_secret = actors.local_secret(os.environ.get("OMS_ACTOR_SECRET", ""), create=True)
    return {
        "OMS_HTTP_ADDRESS": address,
        "OMS_GATEWAY_SECRET": secret,
        "OMS_API_ADDRESS": api,
        "OMS_ACTOR_SECRET": actor_secret,
    }


def first_admin_key(amqp_uri: str, http: dict) -> tuple[str, bool]:
    """The admin key made on the first start (var/admin-key); (key, made now)."""
    path = settings.var_dir() / "admin-key"
    if path.exists():
        return path.read_text().strip(), False
    token = actors.mint(http["OMS_ACTOR_SECRET"], "make-run", "admin", 60)
    for name in ("admin", f"admin-{secrets.token_hex(3)}"):  # "admin" is taken if the file was lost
        reply = call(amqp_uri, "gateway", "create_key", {"name": name, "role": "admin"},
                     {actors.TOKEN_KEY: token}, timeout=30)  # fmt: skip
        if reply and not reply.get("error"):
            path.write_text(reply["result"]["key"] + "\n")
            path.chmod(0o600)
            return reply["result"]["key"], True
    raise InfraError(f"the gateway did not make an admin key: {reply}")


def wait_for_gateway(supervisor, api: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(f"http://{api}/v1/health", timeout=3) as answer:
                if answer.status == 200:
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise InfraError(f"the gateway did not answer on {api}; see {supervisor.log_dir}")
        supervisor.watch_once()
        time.sleep(0.3)
