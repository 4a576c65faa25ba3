"""The sandbox distributor `make run` starts (oms/distributor.py under var/distributor) and
registers under the code `sandbox`, with an ordering API, a live stock-and-price API and a feed:
order a line from `sandbox`, ship it, and its purchase order is sent and acknowledged."""

import json
from pathlib import Path

from oms.infra import InfraError
from oms.probe import call
from shared import actors

CODE = "sandbox"
STOCK = {
    "SANDBOX-MUG": {"stock": 120, "cost_price": "3.20"},
    "SANDBOX-PEN": {"stock": 500, "cost_price": "0.40"},
    "SANDBOX-BAG": {"stock": 8, "cost_price": "6.90"},
}


def prepare(directory: Path) -> None:
    """Its stock, the first time."""
    directory.mkdir(parents=True, exist_ok=True)
    stock = directory / "stock.json"
    if not stock.exists():
        stock.write_text(json.dumps(STOCK, indent=2) + "\n")


def details(url: str) -> dict:
    return {
        "name": "Sandbox distributor (local)",
        "account_manager_email": "account-manager@sandbox.localhost",
        "currency": "EUR",
        "ordering": {"channel": "api", "url": f"{url}/orders"},
        "live": {"url": f"{url}/stock"},
        "feed": {"format": "json", "source": f"{url}/feed.json", "interval_seconds": 3600},
        "delivery": {
            "bands": [{"up_to_kg": "5", "charge": "6.50"}, {"up_to_kg": "30", "charge": "14.00"}]
        },  # fmt: skip
        "lead_time_days": 1,
    }


def register(amqp_uri: str, actor_secret: str, url: str, directory: Path) -> None:
    """Registered (or pointed at this run's port), its callback secret given to it."""
    token = actors.mint(actor_secret, "make-run", "admin", 60)
    headers = {actors.TOKEN_KEY: token}
    given = details(url)
    reply = call(amqp_uri, "fulfilment", "register_distributor",
                 {"code": CODE, "distributor": given}, headers, timeout=30)  # fmt: skip
    if reply and reply.get("error") and reply["error"].get("exc_type") == "Conflict":
        call(amqp_uri, "fulfilment", "update_distributor", {"code": CODE, "changes": given},
             headers, timeout=30)  # fmt: skip
        reply = call(amqp_uri, "fulfilment", "register_distributor",
                     {"code": CODE, "distributor": given}, headers, timeout=30)  # fmt: skip
    if not reply or reply.get("error"):
        raise InfraError(f"the sandbox distributor was not registered: {reply}")
    (directory / "secret").write_text(reply["result"]["callback_secret"])
