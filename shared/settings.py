"""Configuration, read once into a frozen value: environment variables `OMS_<NAME>` with local
defaults, overridden per container by nameko config keys `<NAME>` (what tests and deployments set)."""

import os
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, fields
from decimal import Decimal
from pathlib import Path

SERVICES = ("orders", "billing", "fulfilment", "production", "notify")
ROOT = Path(__file__).resolve().parent.parent


class SettingsError(ValueError):
    """A setting has a value the system cannot run with; the message names it."""


@dataclass(frozen=True)
class Settings:
    #: the broker, when a service has no URI of its own (`OMS_<SERVICE>_AMQP_URI`: its own user,
    #: oms/broker_users.py); `amqps://` for TLS
    amqp_uri: str = "pyamqp://guest:guest@127.0.0.1:5672/"
    #: TLS to the broker: a CA file to verify its certificate by (and its host name); a client
    #: certificate and key if the broker asks for one. Setting the CA turns TLS on for `amqp://`
    #: URIs too; `amqps://` without it verifies against the system's CAs
    amqp_ssl_ca: str = ""
    amqp_ssl_cert: str = ""
    amqp_ssl_key: str = ""
    #: seconds between a relay's checks of its log when nothing prompted it
    relay_poll_seconds: float = 1.0
    #: seconds a follower waits without messages before it pulls from its upstream's log anyway
    follower_poll_seconds: float = 5.0
    #: notifications a follower asks its upstream for in one pull
    follower_pull_limit: int = 200
    #: events a follower saves in one transaction with one tracking record, at most
    follower_batch: int = 50
    #: the segments an upstream's stream is cut into where replicas may share it out (a fixed
    #: number: it may later be raised to a multiple of itself, never lowered); seconds a
    #: replica's lease on a segment lasts unless renewed (a dead replica's are taken over then)
    follower_segments: int = 12
    follower_lease_seconds: float = 10.0
    #: this process among a service's replicas (its queues are named after it); empty: host-pid
    instance: str = ""
    #: the type of the followers' queues: classic, or quorum on a RabbitMQ cluster; seconds an
    #: unused queue (a replica gone) is kept
    queue_type: str = "classic"
    follower_queue_expires_seconds: float = 1800.0
    #: seconds a service keeps a client's key it asked orders for (shared/personal.py): once a
    #: client is forgotten, a service that did not hear it yet may open its data this long
    personal_keys_seconds: float = 60.0
    reaction_attempts: int = 5
    reaction_backoff_seconds: float = 0.1
    #: seconds a follower's catch-up call (and `oms`) waits for an answer
    rpc_timeout: float = 30.0
    #: seconds between AMQP heartbeats of the services' connections (0: none)
    heartbeat: int = 30
    max_workers: int = 20
    #: the largest message (RPC request or event) a service decodes; larger ones are refused
    #: unread (the broker itself refuses messages over 16 MiB: oms/rabbitmq.py)
    max_message_bytes: int = 4 * 1024 * 1024
    ops_email: str = "operations@localhost"
    log_level: str = "INFO"
    invoice_on: str = "accept"
    payment_terms_days: int = 14
    #: VAT rate of a storefront line sent without one (first contract) and unknown to the catalogue
    default_vat_rate: Decimal = Decimal("20")
    gateway_secret: str = ""
    gateway_tolerance_seconds: int = 300
    #: the largest payment-gateway callback body read
    max_callback_bytes: int = 64 * 1024
    http_address: str = "127.0.0.1:8000"
    #: the secret actor tokens are signed with (HS256): the gateway, the CLI and every service
    #: share it; state-changing calls are refused while it is empty
    actor_secret: str = ""
    #: how long a token from `POST /v1/tokens` or `oms keys token` lives
    actor_token_seconds: int = 900
    #: where the HTTP gateway listens
    api_address: str = "127.0.0.1:8080"
    #: browser origins allowed to call the gateway (CORS), comma-separated; `*` for any
    cors_origins: str = ""
    #: the largest request body the gateway reads
    max_body_bytes: int = 1024 * 1024
    #: the address the outside world reaches the gateway at (tracking links in messages);
    #: empty: http://OMS_API_ADDRESS
    public_url: str = ""
    #: where a service process serves Prometheus metrics (`host:port`, GET /metrics); empty: not
    metrics_address: str = ""
    # -- sending to third parties (shared/sender.py) --
    #: seconds a sender waits when nothing prompted it; seconds one call to a third party may take
    send_poll_seconds: float = 1.0
    send_timeout_seconds: float = 10.0
    #: seconds before the second try of a send; each next wait doubles, up to the most
    send_backoff_seconds: float = 5.0
    send_backoff_max_seconds: float = 3600.0
    #: tries of one send, then it is failed (operators see it and may resend)
    send_max_attempts: int = 8
    # -- notify: e-mail (SMTP) and SMS (a Vonage-style HTTP API) --
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 8025
    #: none | starttls | tls
    smtp_security: str = "none"
    smtp_user: str = ""
    smtp_password: str = ""
    #: a CA file to trust for the SMTP server's certificate (a private relay); empty: the system's
    smtp_ca_file: str = ""
    mail_from: str = "Order desk <orders@localhost>"
    sms_url: str = "http://127.0.0.1:8026/sms/json"
    sms_key: str = ""
    sms_secret: str = ""
    sms_from: str = "OMS"
    #: the language of messages to clients whose language is unknown (en, pl, fr…)
    notify_language: str = "en"
    #: a directory of message templates taking precedence over the built-in ones
    notify_templates: str = ""
    #: the send policy of every event type (auto | manual | off), and overrides:
    #: "orders.order_placed=manual,billing.invoice_issued=off"
    notify_policy: str = "auto"
    notify_policies: str = ""
    #: tracking-link keys, "id:secret,id:secret": the first signs, all verify (rotation);
    #: empty: one derived from OMS_ACTOR_SECRET
    tracking_keys: str = ""

    # -- notify: webhooks to integrators (Standard Webhooks) --
    #: seconds before a delivery's second try; each next wait doubles, up to the most; tries
    #: of one delivery before it becomes a dead letter and its subscription is paused (the
    #: defaults retry for about three and a half hours)
    webhook_backoff_seconds: float = 5.0
    webhook_backoff_max_seconds: float = 3600.0
    webhook_max_attempts: int = 12
    #: a subscription whose endpoint refuses this many events in a row is paused
    webhook_pause_after: int = 5
    #: how long a rotated-out secret still signs beside the new one (seconds)
    webhook_rotation_overlap_seconds: float = 86400.0
    #: targets allowed besides public addresses: "", "loopback", "private" or both (comma list)
    webhook_allow: str = ""

    # -- documents (shared/documents) --
    #: the seller every document names: its name, address lines separated by "|", VAT id,
    #: e-mail, phone and the bank account invoices paid by transfer go to
    seller_name: str = "Order desk"
    seller_address: str = ""
    seller_vat_id: str = ""
    seller_email: str = ""
    seller_phone: str = ""
    seller_bank_account: str = ""
    #: the language of documents for clients whose language is unknown (en, pl, fr)
    document_language: str = "en"
    # -- fulfilment --
    #: seconds a raised purchase order waits before it is sent (operators may edit its cost
    #: prices meanwhile, or send it at once)
    po_send_delay_seconds: float = 0.0
    #: how long a storefront's stock-and-price check waits for live answers, at most (ms)
    availability_deadline_ms: int = 800
    #: seconds a live answer is reused for the same distributor and sku
    live_cache_seconds: float = 30.0
    #: seconds between looks for feeds whose interval has passed; the largest feed read
    feed_check_seconds: float = 30.0
    feed_max_bytes: int = 16 * 1024 * 1024
    #: when a client may expect an own courier, in minutes after it is assigned
    courier_eta_minutes: int = 120
    #: how long a courier's links work after the assignment, in hours
    courier_link_hours: int = 72
    # -- production --
    #: when production orders are created: on_accept (every made-in-house line, on acceptance)
    #: or on_demand (when an operator asks); a product may say otherwise in the catalogue
    production_policy: str = "on_accept"
    #: where production files are kept (by content hash); empty: var/production-files
    production_files: str = ""
    #: the largest production file attached in one call (it travels in one RPC message)
    max_file_bytes: int = 3 * 1024 * 1024

    @classmethod
    def load(cls, overrides: Mapping | None = None) -> "Settings":
        """Each field from `overrides["<NAME>"]`, else `$OMS_<NAME>`, else its default."""
        overrides = overrides or {}
        values = {}
        for field in fields(cls):
            name = field.name.upper()
            raw = overrides.get(name, os.environ.get(f"OMS_{name}"))
            if raw is None or raw == "":
                continue
            try:
                values[field.name] = _typed(field.type, raw)
            except (ValueError, ArithmeticError):
                raise SettingsError(f"OMS_{name}={raw!r} is not a valid {field.type}") from None
        settings = cls(**values)
        settings.check()
        return settings

    def check(self) -> None:
        if self.invoice_on not in ("accept", "dispatch"):
            raise SettingsError(
                f"OMS_INVOICE_ON must be accept or dispatch, not {self.invoice_on!r}"
            )
        if not 1 <= self.follower_pull_limit <= 1000:
            raise SettingsError("OMS_FOLLOWER_PULL_LIMIT must be from 1 to 1000")
        if not 1 <= self.follower_batch <= 500:
            raise SettingsError("OMS_FOLLOWER_BATCH must be from 1 to 500")
        if not 1 <= self.follower_segments <= 256:
            raise SettingsError("OMS_FOLLOWER_SEGMENTS must be from 1 to 256")
        if not 1 <= self.follower_lease_seconds <= 600:
            raise SettingsError("OMS_FOLLOWER_LEASE_SECONDS must be from 1 to 600")
        if not 0 <= self.personal_keys_seconds <= 3600:
            raise SettingsError("OMS_PERSONAL_KEYS_SECONDS must be from 0 to 3600")
        if self.queue_type not in ("classic", "quorum"):
            raise SettingsError(
                f"OMS_QUEUE_TYPE must be classic or quorum, not {self.queue_type!r}"
            )
        if self.follower_queue_expires_seconds < 60:
            raise SettingsError("OMS_FOLLOWER_QUEUE_EXPIRES_SECONDS must be 60 or more")
        if not 10 <= self.actor_token_seconds <= 86400:
            raise SettingsError("OMS_ACTOR_TOKEN_SECONDS must be from 10 to 86400")
        if self.smtp_security not in ("none", "starttls", "tls"):
            raise SettingsError(
                f"OMS_SMTP_SECURITY must be none, starttls or tls, not {self.smtp_security!r}"
            )
        if not 1 <= self.send_max_attempts <= 100:
            raise SettingsError("OMS_SEND_MAX_ATTEMPTS must be from 1 to 100")
        if not 1 <= self.webhook_max_attempts <= 100 or not 1 <= self.webhook_pause_after <= 1000:
            raise SettingsError(
                "OMS_WEBHOOK_MAX_ATTEMPTS must be from 1 to 100, OMS_WEBHOOK_PAUSE_AFTER from 1 to 1000"
            )
        if not set(filter(None, self.webhook_allow.replace(" ", "").split(","))) <= {
            "loopback",
            "private",
        }:
            raise SettingsError(
                f"OMS_WEBHOOK_ALLOW lists loopback and/or private, not {self.webhook_allow!r}"
            )
        if self.production_policy not in ("on_accept", "on_demand"):
            raise SettingsError(
                "OMS_PRODUCTION_POLICY must be on_accept or on_demand, "
                f"not {self.production_policy!r}"
            )
        self.policy_defaults()  # refuses a bad OMS_NOTIFY_POLICY / OMS_NOTIFY_POLICIES

    def policy_defaults(self) -> tuple[str, dict[str, str]]:
        """(the policy of every event type, {event type: its own policy}) from the settings."""
        allowed = ("auto", "manual", "off")
        if self.notify_policy not in allowed:
            raise SettingsError(
                f"OMS_NOTIFY_POLICY must be auto, manual or off, not {self.notify_policy!r}"
            )
        overrides = {}
        for item in filter(None, (i.strip() for i in self.notify_policies.split(","))):
            event_type, _, policy = item.partition("=")
            if policy.strip() not in allowed or not event_type.strip():
                raise SettingsError(
                    f"OMS_NOTIFY_POLICIES: {item!r} is not event_type=auto|manual|off"
                )
            overrides[event_type.strip()] = policy.strip()
        return self.notify_policy, overrides

    @property
    def public_base(self) -> str:
        return (self.public_url or f"http://{self.api_address}").rstrip("/")

    def amqp_ssl(self) -> dict | None:
        """kombu's `ssl=` (nameko's `AMQP_SSL`) for these settings: None for plain AMQP; else
        the certificate and its host name are always verified (a fresh dict: kombu writes the
        host name into it)."""
        if not (self.amqp_ssl_ca or self.amqp_ssl_cert or self.amqp_uri.startswith("amqps://")):
            return None
        options = {"cert_reqs": ssl.CERT_REQUIRED, "server_hostname": None}  # None: the URI's
        if self.amqp_ssl_ca:
            options["ca_certs"] = self.amqp_ssl_ca
        if self.amqp_ssl_cert:
            options.update(certfile=self.amqp_ssl_cert, keyfile=self.amqp_ssl_key or None)
        return options

    def nameko_config(self) -> dict:
        config = {
            "AMQP_URI": self.amqp_uri,
            "WEB_SERVER_ADDRESS": self.http_address,
            "max_workers": self.max_workers,
            "serializer": "json",
            "HEARTBEAT": self.heartbeat,
        }
        if self.amqp_ssl() is not None:
            config["AMQP_SSL"] = self.amqp_ssl()
        return config


def _typed(kind, raw):
    converters = {"int": int, "float": float, "str": str, "Decimal": lambda v: Decimal(str(v))}
    name = kind if isinstance(kind, str) else kind.__name__
    return converters[name](raw)


def var_dir() -> Path:
    return Path(os.environ.get("OMS_VAR_DIR", ROOT / "var"))


def service_amqp_uri(service: str, overrides: Mapping | None = None) -> str:
    """The broker URI a service logs in with: container config `AMQP_URIS[service]`, else
    `OMS_<SERVICE>_AMQP_URI`, else the shared one (`AMQP_URI`, `OMS_AMQP_URI`). Each service has
    a broker user of its own (oms/broker_users.py); the shared URI is for set-ups without."""
    own = ((overrides or {}).get("AMQP_URIS") or {}).get(service)
    own = own or os.environ.get(f"OMS_{service.upper()}_AMQP_URI")
    return own or Settings.load(overrides).amqp_uri


def database_url(service: str, overrides: Mapping | None = None) -> str:
    """Container config `DATABASE_URLS[service]`, else `OMS_<SERVICE>_DATABASE_URL`, else
    `OMS_DATABASE_URL` (`{service}` is replaced), else a SQLite file under var/."""
    own = ((overrides or {}).get("DATABASE_URLS") or {}).get(service)
    own = own or os.environ.get(f"OMS_{service.upper()}_DATABASE_URL")
    if own:
        return own
    template = os.environ.get("OMS_DATABASE_URL")
    if template:
        return template.replace("{service}", service)
    path = var_dir() / f"{service}.sqlite3"
    path.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{path}"
