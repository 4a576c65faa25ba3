"""The broker user table says what the code does: what each service follows and calls, the names
its relay routes by, and what a storefront may call (tests/integration/test_broker_users.py shows
the broker enforcing it)."""

import importlib
import inspect
import re
from pathlib import Path

from oms.broker_users import CALLS, EVENT_NAME, FOLLOWS, matrix, route_calls
from oms.serve import service_class
from shared import rpc
from shared.contracts import REGISTRY
from shared.settings import SERVICES


def test_each_service_follows_what_its_application_follows():
    for service in SERVICES:
        app = importlib.import_module(f"services.{service}.application")
        (app_class,) = [
            c for c in vars(app).values()
            if inspect.isclass(c) and getattr(c, "service", None) == service
            and c.__module__ == app.__name__
        ]  # fmt: skip
        assert tuple(app_class.follows) == FOLLOWS[service], service


def test_every_rpc_a_service_makes_is_in_the_table():
    for service in SERVICES:
        cls = service_class(service)
        proxies = {
            name: proxy.target_service
            for name, proxy in vars(cls).items()
            if isinstance(proxy, rpc.RpcProxy)
        }
        source = inspect.getsource(inspect.getmodule(cls))
        made = {
            f"{proxies[attr]}.{method}"
            for attr, method in re.findall(r"self\.(\w+)\.(\w+)\(", source)
            if attr in proxies
        }
        assert made <= set(CALLS.get(service, ())), service
        assert bool(made) == bool(proxies), service


def test_every_event_name_is_a_routing_key_its_service_may_publish():
    for contract in REGISTRY.values():
        assert re.fullmatch(EVENT_NAME, contract.name), contract
        write, _ = matrix()[contract.service].topics[f"{contract.service}.events"]
        assert re.fullmatch(write, contract.name)


def test_a_storefront_may_call_what_a_storefront_key_may_and_no_more():
    write, _ = matrix()["storefront"].topics["nameko-rpc"]
    assert re.fullmatch(write, "orders.place_order")
    assert re.fullmatch(write, "fulfilment.check_availability")
    for key in ("orders.accept_order", "billing.record_payment", "orders.place_orderx", "x"):
        assert not re.fullmatch(write, key), key
    assert set(route_calls("storefront")) < set(route_calls("storefront", "operator"))


def test_a_service_may_publish_replies_and_its_own_calls_only():
    write, read = matrix()["notify"].topics["nameko-rpc"]
    for key in ("3f8e6c1a-7d4b-4c8e-9a0b-1c2d3e4f5a6b", "probe-1a2b", "orders.get_order",
                "fulfilment.events_page"):  # fmt: skip
        assert re.fullmatch(write, key), key
    for key in ("orders.accept_order", "billing.record_payment", "notify.send_notification"):
        assert not re.fullmatch(write, key), key
    assert re.fullmatch(read, "notify.*") and not re.fullmatch(read, "orders.*")


def test_the_security_doc_lists_every_user():
    text = (Path(__file__).resolve().parents[2] / "docs" / "security.md").read_text()
    listed = set(re.findall(r"^\| `([a-z]+)` \|", text, flags=re.M))
    assert listed == set(matrix())
