"""Configuration: a handful of functions reading environment variables with local defaults."""

import os
from pathlib import Path

SERVICES = ("orders", "billing", "fulfilment", "production", "notify")
ROOT = Path(__file__).resolve().parent.parent


def _float(name: str, default: float) -> float:
    return float(os.environ.get(name, default))


def _int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


def amqp_uri() -> str:
    return os.environ.get("OMS_AMQP_URI", "pyamqp://guest:guest@127.0.0.1:5672/")


def var_dir() -> Path:
    return Path(os.environ.get("OMS_VAR_DIR", ROOT / "var"))


def database_url(service: str) -> str:
    """`OMS_<SERVICE>_DATABASE_URL`, else `OMS_DATABASE_URL` (`{service}` is replaced), else SQLite."""
    own = os.environ.get(f"OMS_{service.upper()}_DATABASE_URL")
    if own:
        return own
    template = os.environ.get("OMS_DATABASE_URL")
    if template:
        return template.replace("{service}", service)
    path = var_dir() / f"{service}.sqlite3"
    path.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{path}"


def relay_poll_seconds() -> float:
    return _float("OMS_RELAY_POLL_SECONDS", 1.0)


def follower_poll_seconds() -> float:
    """How long a follower waits without messages before it checks its upstream's log anyway."""
    return _float("OMS_FOLLOWER_POLL_SECONDS", 5.0)


def reaction_attempts() -> int:
    return _int("OMS_REACTION_ATTEMPTS", 5)


def reaction_backoff_seconds() -> float:
    return _float("OMS_REACTION_BACKOFF_SECONDS", 0.1)


def rpc_timeout() -> float:
    return _float("OMS_RPC_TIMEOUT", 30.0)


def ops_email() -> str:
    return os.environ.get("OMS_OPS_EMAIL", "operations@localhost")


def log_level() -> str:
    return os.environ.get("OMS_LOG_LEVEL", "INFO").upper()


def invoice_on() -> str:
    """When billing issues an order's invoice: `accept` (the default) or `dispatch` (per shipping)."""
    return os.environ.get("OMS_INVOICE_ON", "accept")


def payment_terms_days() -> int:
    return _int("OMS_PAYMENT_TERMS_DAYS", 14)


def gateway_secret() -> str:
    """The payment gateway's shared HMAC secret; callbacks are refused while it is unset."""
    return os.environ.get("OMS_GATEWAY_SECRET", "")


def gateway_tolerance_seconds() -> int:
    """How old (or how far ahead) a gateway callback's signed timestamp may be."""
    return _int("OMS_GATEWAY_TOLERANCE_SECONDS", 300)


def http_address() -> str:
    """Where the services' HTTP endpoints (the payment gateway's callback) listen."""
    return os.environ.get("OMS_HTTP_ADDRESS", "127.0.0.1:8000")


def nameko_config() -> dict:
    return {
        "AMQP_URI": amqp_uri(),
        "WEB_SERVER_ADDRESS": http_address(),
        "max_workers": _int("OMS_MAX_WORKERS", 20),
        "serializer": "json",
    }
