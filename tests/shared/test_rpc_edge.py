"""What every RPC method of every service answers to a call it cannot take: a typed
ValidationFailed naming the argument or the request's problem — never an untyped error, never
silence. Against the five real services (SQLite; the store does not matter here)."""

import inspect
import json
import uuid

import pytest

from oms.serve import SERVICE_CLASSES, service_class
from shared.errors import ValidationFailed
from tests.support import RawCaller


def rpc_methods():
    """(service, method name, its parameters after self) for every RPC entrypoint."""
    found = []
    for service in SERVICE_CLASSES:
        cls = service_class(service)
        for name, member in inspect.getmembers(cls, inspect.isfunction):
            if any(type(e).__name__ == "Rpc" for e in getattr(member, "nameko_entrypoints", ())):
                params = list(inspect.signature(member).parameters.values())[1:]
                found.append((service, name, params))
    return found


METHODS = rpc_methods()
IDS = [f"{s}.{m}" for s, m, _ in METHODS]


def test_every_service_offers_the_log_rpc():
    names = {(s, m) for s, m, _ in METHODS}
    for service in SERVICE_CLASSES:
        for method in ("events_after", "events_page", "log_status", "parked_events"):
            assert (service, method) in names


@pytest.fixture(scope="module")
def proxy(sqlite_system):
    with sqlite_system.rpc(timeout=30) as rpc:
        yield rpc


@pytest.mark.parametrize(("service", "method", "params"), METHODS, ids=IDS)
def test_an_unknown_keyword_is_named(proxy, service, method, params):
    with pytest.raises(ValidationFailed) as refused:
        getattr(getattr(proxy, service), method)(bogus_argument=1)
    assert refused.value.details["bogus_argument"] == ["Unknown argument."]


@pytest.mark.parametrize(("service", "method", "params"), METHODS, ids=IDS)
def test_too_many_positional_arguments_are_refused(proxy, service, method, params):
    with pytest.raises(ValidationFailed) as refused:
        getattr(getattr(proxy, service), method)(*range(len(params) + 1))
    assert refused.value.details["_arguments"][0].startswith("Too many arguments")


REQUIRED = [
    (s, m, p) for s, m, p in METHODS if any(x.default is inspect.Parameter.empty for x in p)
]


@pytest.mark.parametrize(
    ("service", "method", "params"), REQUIRED, ids=[f"{s}.{m}" for s, m, _ in REQUIRED]
)
def test_a_missing_argument_is_named(proxy, service, method, params):
    first_required = next(p.name for p in params if p.default is inspect.Parameter.empty)
    with pytest.raises(ValidationFailed) as refused:
        getattr(getattr(proxy, service), method)()
    assert refused.value.details[first_required] == ["Required."]


def test_an_argument_given_twice_is_named(proxy):
    with pytest.raises(ValidationFailed) as refused:
        proxy.orders.get_order("x", order_id="y")
    assert refused.value.details == {"order_id": ["Given twice (by position and by name)."]}


@pytest.fixture
def raw(sqlite_system):
    caller = RawCaller(sqlite_system.amqp_uri)
    yield caller
    caller.close()


def refusal(reply: dict) -> dict:
    error = reply["error"]
    assert error["exc_type"] == "ValidationFailed", error
    return error["exc_args"][1]


def test_a_request_nested_too_deeply_is_answered_not_dropped(raw):
    deep = "[" * 1100 + "]" * 1100
    body = f'{{"args": [], "kwargs": {{"order": {{"lines": {deep}}}}}}}'
    raw.publish_raw("orders", "place_order", body, uuid.uuid4().hex)
    (reply,) = raw.wait(1)
    assert refusal(reply) == {"_request": ["Nested too deeply."]}


def test_a_request_that_is_not_json_is_answered(raw):
    raw.publish_raw("billing", "get_invoice", b"{not json", uuid.uuid4().hex)
    (reply,) = raw.wait(1)
    assert refusal(reply)["_request"][0].startswith("Not decodable")


def test_a_body_that_is_not_a_request_is_answered(raw):
    raw.publish_raw("production", "log_status", json.dumps([1, 2]), uuid.uuid4().hex)
    (reply,) = raw.wait(1)
    assert refusal(reply) == {"_request": ["Must be an object with args and kwargs."]}


def test_a_request_over_the_size_limit_is_refused_unread(raw, proxy):
    note = {"kind": "internal", "text": "x" * (5 * 1024 * 1024)}  # over the 4 MiB default
    body = json.dumps({"args": [], "kwargs": {"order_id": str(uuid.uuid4()), "note": note}})
    raw.publish_raw("orders", "add_note", body, uuid.uuid4().hex)
    (reply,) = raw.wait(1)
    assert refusal(reply)["_request"][0].startswith("The request is 5242")
    assert proxy.orders.log_status()["service"] == "orders"  # and the service is still there
