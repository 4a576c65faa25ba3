"""What every RPC method of every service answers to a call it cannot take: a typed
ValidationFailed naming the argument or the request's problem — never an untyped error, never
silence. Every method's signature is checked in process with the function the entrypoint uses;
the calls themselves go to the five real services (SQLite; the store does not matter here)."""

import inspect
import json
import uuid

import pytest

from oms.serve import SERVICE_CLASSES, service_class
from shared.errors import ValidationFailed
from shared.rpc import argument_errors
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


REQUIRED = [
    (s, m, p) for s, m, p in METHODS if any(x.default is inspect.Parameter.empty for x in p)
]


def errors_for(service: str, method: str, *args, **kwargs) -> dict:
    """What the RPC entrypoint answers such a call with (`Rpc.check_signature` uses this)."""
    signature = inspect.signature(getattr(service_class(service), method))
    return argument_errors(signature, args, kwargs)


@pytest.mark.parametrize(("service", "method", "params"), METHODS, ids=IDS)
def test_every_method_names_an_unknown_keyword_and_too_many_arguments(service, method, params):
    assert errors_for(service, method, bogus_argument=1)["bogus_argument"] == ["Unknown argument."]
    too_many = errors_for(service, method, *range(len(params) + 1))
    assert too_many["_arguments"][0].startswith(f"Too many arguments: it takes {len(params)}")
    if not REQUIRED or (service, method, params) not in REQUIRED:
        assert errors_for(service, method) == {}  # everything has a default


@pytest.mark.parametrize(
    ("service", "method", "params"), REQUIRED, ids=[f"{s}.{m}" for s, m, _ in REQUIRED]
)
def test_every_method_names_each_missing_argument(service, method, params):
    missing = [p.name for p in params if p.default is inspect.Parameter.empty]
    assert errors_for(service, method) == {name: ["Required."] for name in missing}


@pytest.fixture(scope="module")
def proxy(sqlite_system):
    with sqlite_system.rpc(timeout=30) as rpc:
        yield rpc


def test_a_wrong_call_is_answered_over_rpc_with_the_arguments_named(proxy):
    calls = [
        (lambda: proxy.orders.accept_order(bogus_argument=1),
         {"bogus_argument": ["Unknown argument."], "order_id": ["Required."]}),
        (lambda: proxy.billing.get_invoice(), {"invoice_id": ["Required."]}),
        (lambda: proxy.notify.events_after(0, 10, 3),
         {"_arguments": ["Too many arguments: it takes 2 (position, limit)."]}),
        (lambda: proxy.production.log_status(1),
         {"_arguments": ["Too many arguments: it takes 0 ()."]}),
        (lambda: proxy.orders.get_order("x", order_id="y"),
         {"order_id": ["Given twice (by position and by name)."]}),
    ]  # fmt: skip
    for call, details in calls:
        with pytest.raises(ValidationFailed) as refused:
            call()
        assert refused.value.details == details


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
