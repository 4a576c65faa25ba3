"""What `make run` tells and writes once the system is up: the banner of where everything is, each
process's Prometheus address and the scrape configuration for them (var/prometheus.yml)."""

from pathlib import Path

from oms.infra import port_or_free
from oms.rabbitmq import RabbitNode
from shared import settings


def metrics_addresses() -> dict[str, str]:
    """Where each service process serves Prometheus metrics: 9464, 9465, … when free."""
    names = (*settings.SERVICES, "gateway")
    return {name: f"127.0.0.1:{port_or_free(9464 + i)}" for i, name in enumerate(names)}


def write_scrape_config(addresses: dict[str, str], node: RabbitNode | None) -> Path:
    """var/prometheus.yml: a Prometheus scrape configuration for the services (and our broker)."""
    jobs = [("oms", sorted(addresses.values()))]
    if node is not None:
        jobs.append(("rabbitmq", [f"127.0.0.1:{node.prometheus_port}"]))
    lines = ["scrape_configs:"]
    for job, targets in jobs:
        lines += [f"  - job_name: {job}", "    static_configs:", f"      - targets: {targets}"]
    path = settings.var_dir() / "prometheus.yml"
    path.write_text("\n".join(lines).replace("'", '"') + "\n")
    return path


def describe(
    amqp_uri: str, node: RabbitNode | None, log_dir: Path, http: dict, scraped: dict | None = None
) -> str:
    rows = [
        ("RabbitMQ", amqp_uri.replace("guest:guest@", "guest:***@")),
        ("  management", node.management_uri.replace("guest:guest@", "") if node else "(not ours)"),
        (
            "  started by us",
            f"yes, data in {node.base_dir}" if node else "no, it was already running",
        ),
    ]
    if node is not None:
        users = settings.var_dir() / "broker-users.json"
        rows.append(("  users", f"one per service and role, passwords in {users}"))
    rows += [
        (f"{name}", f"db {settings.database_url(name)}; log {log_dir / (name + '.log')}")
        for name in settings.SERVICES
    ]
    rows.append(
        (
            "gateway callback",
            f"POST http://{http['OMS_HTTP_ADDRESS']}/billing/gateway/callback"
            " (HMAC secret: OMS_GATEWAY_SECRET or var/gateway-secret; docs/billing.md)",
        )
    )
    api = http["OMS_API_ADDRESS"]
    rows.append(
        ("HTTP API", f"http://{api}/v1  (docs http://{api}/docs, http://{api}/openapi.json)")
    )
    rows.append(("dashboard", f"http://{api}/dashboard  (log in with the admin key)"))
    rows.append(
        ("  admin key", f"{settings.var_dir() / 'admin-key'}  (oms keys create … for others)")
    )
    smtp = http.get("OMS_SMTP_PORT")
    rows.append(
        (
            "e-mail",
            f"local SMTP 127.0.0.1:{smtp} -> {settings.var_dir() / 'mail'}  (oms mail)"
            if smtp
            else "to OMS_SMTP_HOST (a real server)",
        )
    )
    rows.append(
        (
            "SMS",
            f"local provider {http['OMS_SMS_URL']} -> var/sms  (oms sms)"
            if "OMS_SMS_URL" in http
            else "to OMS_SMS_URL (a real provider)",
        )
    )
    if "OMS_SANDBOX_DISTRIBUTOR_URL" in http:
        rows.append(
            (
                "distributor",
                f"sandbox at {http['OMS_SANDBOX_DISTRIBUTOR_URL']}/orders -> var/distributor"
                "  (order a line from distributor `sandbox`, ship it)",
            )
        )
    if scraped:
        first, last = scraped["orders"], scraped["gateway"]
        broker = f"; RabbitMQ {node.metrics_url}" if node else ""
        rows.append(
            ("metrics", f"http://{first}/metrics … http://{last}/metrics{broker}"
             f"  (scrape config: {settings.var_dir() / 'prometheus.yml'})")
        )  # fmt: skip
    if "OMS_SANDBOX_WEBHOOK_URL" in http:
        rows.append(
            ("webhooks", f"a verifying receiver at {http['OMS_SANDBOX_WEBHOOK_URL']} -> var/hooks"
             "  (oms webhooks add …; docs/integrators.md)")
        )  # fmt: skip
    rows.append(
        (
            "CLI",
            "oms status | oms parked | oms mail | oms events orders | oms keys list"
            "  (in .venv/bin)",
        )
    )
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"  {k.ljust(width)}  {v}" for k, v in rows)
