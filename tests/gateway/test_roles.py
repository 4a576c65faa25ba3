"""The role matrix: every route of the gateway, called with no key and with a key of each role.
A caller below the route's role is refused (401 without a key, 403 with one); a caller at or
above it gets past the gate (the route then answers whatever its input deserves)."""

import re

import pytest

from services.gateway.routes import ROUTES
from shared.actors import ROLES

VALUES = {
    "order_id": "0b6f5d9c-2f43-4a57-9c6a-1b8f2f0b7e11",
    "shipping_id": "5a0a3c57-0c1e-4a55-8f55-000000000001",
    "claim_id": "5a0a3c57-0c1e-4a55-8f55-000000000002",
    "invoice_id": "5a0a3c57-0c1e-4a55-8f55-000000000003",
    "code": "C-MATRIX",
    "sku": "SKU-MATRIX",
    "service": "orders",
    "parked_id": "999999",
    "name": "no-such-key",
    "notification_id": "5a0a3c57-0c1e-4a55-8f55-000000000004",
    "event_type": "orders.order_placed",
    "production_order_id": "5a0a3c57-0c1e-4a55-8f55-000000000005",
    "file_id": "5a0a3c57-0c1e-4a55-8f55-000000000006",
    "kind": "invoice",
    "document_id": "5a0a3c57-0c1e-4a55-8f55-000000000003",
    "purchase_order_id": "5a0a3c57-0c1e-4a55-8f55-000000000007",
    "webhook_id": "5a0a3c57-0c1e-4a55-8f55-000000000008",
}
# public by role, but a signature is their credential: unsigned, every caller is refused
SIGNED = ("distributorCallback",)
CALLERS = (None, *ROLES)


def concrete(path: str) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: VALUES[m.group(1)], path)


def expected_refusal(route, caller) -> int | None:
    if route.op in SIGNED:
        return 401
    if route.role == "public":
        return None
    if caller is None:
        return 401
    return 403 if ROLES.index(caller) < ROLES.index(route.role) else None


@pytest.mark.parametrize("route", ROUTES, ids=[f"{r.method} {r.path}" for r in ROUTES])
def test_each_route_admits_exactly_the_roles_it_names(sqlite_api, route):
    body = {} if route.method in ("POST", "PUT", "PATCH") else None
    for caller in CALLERS:
        client = sqlite_api.anonymous if caller is None else sqlite_api.as_[caller]
        answer = client.request(route.method, concrete(route.path), body)
        refusal = expected_refusal(route, caller)
        if refusal is None:
            assert answer.status_code not in (401, 403), (caller, answer.text)
            assert answer.status_code < 500, (caller, answer.text)
        else:
            assert answer.status_code == refusal, (caller, answer.text)
