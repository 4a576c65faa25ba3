"""The AsyncAPI document of the integration events: valid by the official AsyncAPI 3.0.0 schema,
a channel, message and operation for every contract, and every pinned sample, in the envelope the
relay publishes, valid by its message's payload schema (a broken one is not)."""

import copy
import json
from pathlib import Path

import pytest
from jsonschema import Draft7Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7

from shared import asyncapi, cloudevents, envelope
from shared.contracts import REGISTRY
from shared.relay import event_exchange
from tests.shared.test_contracts import SAMPLES

OFFICIAL = Path(__file__).parent / "asyncapi-3.0.0" / "schema.json"
DOCUMENT = "urn:oms:asyncapi"  # the document's address in the validators' registry


@pytest.fixture(scope="module")
def document():
    return asyncapi.build()


def published(event_type: str, data: dict) -> dict:
    """`data` in a real envelope, as the relay sends it."""
    service, name = event_type.split(".", 1)
    version = REGISTRY[event_type].version
    env = envelope.build(
        service, 8, name, version, "o1", "2026-11-22T10:00:00+00:00", data, "c1", None
    )
    return dict(env, previoussequence=7, previousbytype=cloudevents.vector({name: 5}))


def payload_errors(document: dict, event_type: str, env: dict) -> list:
    registry = Registry().with_resource(DOCUMENT, Resource(document, DRAFT7))
    schema = {"$ref": f"{DOCUMENT}#/components/messages/{event_type}/payload"}
    checker = Draft7Validator.FORMAT_CHECKER
    return list(Draft7Validator(schema, registry=registry, format_checker=checker).iter_errors(env))


def test_the_document_is_valid_by_the_official_asyncapi_3_0_0_schema(document):
    official = json.loads(OFFICIAL.read_text())
    Draft7Validator.check_schema(official)
    errors = [e.message[:200] for e in Draft7Validator(official).iter_errors(document)]
    assert errors == []
    assert document["asyncapi"] == "3.0.0"
    assert document["defaultContentType"] == "application/cloudevents+json"


def test_every_contract_has_a_channel_a_message_and_a_send_operation(document):
    assert set(document["channels"]) == set(REGISTRY) == set(document["operations"])
    assert set(document["components"]["messages"]) == set(REGISTRY)
    for event_type, contract in REGISTRY.items():
        channel = document["channels"][event_type]
        exchange = channel["bindings"]["amqp"]["exchange"]
        assert channel["address"] == contract.name
        assert exchange["name"] == event_exchange(contract.service).name
        assert (exchange["type"], exchange["durable"], exchange["autoDelete"]) == (
            "topic",
            True,
            False,
        )
        operation = document["operations"][event_type]
        assert operation["action"] == "send"
        assert operation["channel"] == {"$ref": f"#/channels/{event_type}"}
        assert operation["bindings"]["amqp"]["deliveryMode"] == 2
        message = document["components"]["messages"][event_type]
        assert message["correlationId"]["location"] == "$message.payload#/correlationid"


def test_every_reference_points_into_the_document(document):
    refs = list(references(document))
    assert len(refs) > 3 * len(REGISTRY)
    for ref in refs:
        node = document
        for part in ref.removeprefix("#/").split("/"):
            node = node[part]
        assert isinstance(node, dict), ref


def test_the_schemas_are_draft_07_without_openapi_keywords(document):
    text = json.dumps(document["components"]["schemas"])
    assert '"nullable"' not in text and '"x-nullable"' not in text
    for schema in document["components"]["schemas"].values():
        Draft7Validator.check_schema(schema)
    client = document["components"]["schemas"]["shared.Client"]["properties"]
    assert client["code"] == {"type": ["string", "null"]}
    line = document["components"]["schemas"]["orders.Line"]["properties"]
    assert line["unit_price"]["type"] == "string"  # Money is a string, never a float


@pytest.mark.parametrize("event_type", sorted(SAMPLES))
def test_every_pinned_sample_in_its_envelope_is_valid_by_its_message(document, event_type):
    assert payload_errors(document, event_type, published(event_type, SAMPLES[event_type])) == []


def test_an_envelope_missing_a_required_data_field_is_invalid(document):
    data = dict(SAMPLES["orders.order_accepted"])
    del data["lines"]
    errors = payload_errors(
        document, "orders.order_accepted", published("orders.order_accepted", data)
    )
    assert any("'lines' is a required property" in e.message for e in errors)


def test_an_envelope_with_a_data_field_of_the_wrong_type_is_invalid(document):
    data = copy.deepcopy(SAMPLES["orders.order_accepted"])
    data["lines"][0]["quantity"] = "3"
    data["reference"] = None  # not nullable
    errors = payload_errors(
        document, "orders.order_accepted", published("orders.order_accepted", data)
    )
    assert {tuple(e.absolute_path)[-1] for e in errors} >= {"quantity", "reference"}


def test_an_envelope_of_another_type_or_with_previousbytype_as_an_object_is_invalid(document):
    env = published("orders.order_accepted", SAMPLES["orders.order_accepted"])
    assert payload_errors(document, "orders.order_placed", env) != []
    as_object = dict(env, previousbytype={"order_accepted": 5})
    assert payload_errors(document, "orders.order_accepted", as_object) != []


def test_the_envelope_schema_names_every_attribute_the_relay_sends():
    sent = published("orders.order_accepted", SAMPLES["orders.order_accepted"])
    schema = asyncapi.ENVELOPE_SCHEMA
    assert set(schema["properties"]) == set(sent) == set(schema["required"])


def test_the_document_is_the_same_built_twice():
    assert asyncapi.build() == asyncapi.build()
    assert json.dumps(asyncapi.build()) == json.dumps(asyncapi.build())


def references(node):
    if isinstance(node, dict):
        if isinstance(node.get("$ref"), str):
            yield node["$ref"]
        for value in node.values():
            yield from references(value)
    elif isinstance(node, list):
        for value in node:
            yield from references(value)
