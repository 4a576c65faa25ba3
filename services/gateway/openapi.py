"""The OpenAPI 3.1 document, built at start-up from the route table and the very marshmallow
schemas the services validate with (apispec's marshmallow plugin), and the human docs page."""

import html
import re

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin

from services.gateway import problems
from services.gateway.route import JSON
from services.gateway.routes import ENUMS, INTEGER_PARAMETERS, REBUILDABLE, ROUTES, NoBody
from shared.validation import MoneyAmount

LISTS = (
    "orderInvoices",
    "orderProductionOrders",
    "orderPurchaseOrders",
    "orderNotifications",
    "outbox",
    "createProductionOrders",
    "listDistributors",
    "purchaseOrderSends",
    "listFeeds",
    "listCouriers",
    "orderCourierRuns",
    "listWebhooks",
    "webhookDeliveries",
)
PROBLEM = {"$ref": "#/components/schemas/Problem"}
PROBLEM_SCHEMA = {
    "type": "object",
    "required": ["type", "title", "status"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "errors": {"type": "object", "additionalProperties": {"type": "array"}},
        "rule": {"type": ["string", "null"]},
    },
}
ANSWERS = {  # what each route may answer besides its success
    "always": (401, 403, 404, 500, 503, 504),
    "input": (400, 413, 415, 422),
    "change": (409,),
    "versioned": (412,),
}


def schema_name(schema) -> str:
    cls = schema if isinstance(schema, type) else type(schema)
    return cls.__name__.removesuffix("Schema")


def build(version: str = "1.0.0") -> dict:
    plugin = MarshmallowPlugin(schema_name_resolver=schema_name)
    spec = APISpec(
        title="Order management: the HTTP API",
        version=version,
        openapi_version="3.1.0",
        plugins=[plugin],
        info={
            "description": "Storefronts, the back office and integrators. Errors are RFC 9457"
            " problem details; creating POSTs take an Idempotency-Key; GETs send an ETag and"
            " changes honour If-Match. See /docs."
        },
    )
    plugin.map_to_openapi_type(MoneyAmount, "string", None)
    spec.components.security_scheme("apiKey", {"type": "http", "scheme": "bearer"})
    spec.components.schema("Problem", PROBLEM_SCHEMA)
    for path, routes in _by_path().items():
        spec.path(path=path, operations={r.method.lower(): _operation(r) for r in routes})
    return spec.to_dict()


def _by_path() -> dict:
    paths: dict = {}
    for route in ROUTES:
        paths.setdefault(route.path, []).append(route)
    return paths


def _operation(route) -> dict:
    operation = {
        "operationId": route.op,
        "summary": route.summary,
        "tags": [route.tag],
        "description": f"Role: {route.role}.",
        "parameters": _parameters(route),
        "responses": _responses(route),
    }
    operation["security"] = [] if route.role == "public" else [{"apiKey": []}]
    if route.body is not None and route.body is not NoBody:
        required = any(f.required for f in route.body._declared_fields.values())
        operation["requestBody"] = {
            "required": required,
            "content": {"application/json": {"schema": route.body}},
        }
    return operation


def _parameters(route) -> list:
    found = []
    for name in re.findall(r"\{(\w+)\}", route.path):
        schema = {"type": "integer", "minimum": 1} if name in INTEGER_PARAMETERS else {}
        if name == "service":
            schema = {"enum": list(REBUILDABLE if "rebuilds" in route.path else ENUMS[name])}
        elif name in ENUMS:
            schema = {"enum": list(ENUMS[name])}
        schema.setdefault("type", "string")
        found.append({"in": "path", "name": name, "required": True, "schema": schema})
    if route.query is not None:
        found.append({"in": "query", "schema": route.query})
    if route.creates:
        found.append(_header("Idempotency-Key", "Replays the first answer to the same request."))
    if route.versioned and route.method != "GET":
        found.append(_header("If-Match", 'The ETag you read, e.g. "3": refused (412) if stale.'))
    return found


def _header(name: str, description: str) -> dict:
    schema = {"type": "string", "minLength": 1, "maxLength": 255}
    return {
        "in": "header",
        "name": name,
        "required": False,
        "schema": schema,
        "description": description,
    }


def _responses(route) -> dict:
    ok = {"type": "array"} if route.op in LISTS else {"type": "object"}
    if route.media != JSON:
        ok = {"type": "string", "contentMediaType": route.media}
    answer = {"description": "OK", "content": {route.media: {"schema": ok}}}
    if route.versioned:
        answer["headers"] = {"ETag": {"schema": {"type": "string"}}}
    responses = {str(route.status): answer}
    statuses = list(ANSWERS["always"])
    if route.method != "GET" or route.query is not None:
        statuses += ANSWERS["input"] + ANSWERS["change"]
    if route.versioned:
        statuses += ANSWERS["versioned"]
    titles = {status: title for _, status, title in problems.described()}
    for status in sorted(set(statuses)):
        content = {problems.MEDIA_TYPE: {"schema": PROBLEM}}
        responses[str(status)] = {"description": titles.get(status, "Problem"), "content": content}
    return responses


def docs_page(spec: dict) -> str:
    """A self-contained page (no scripts, nothing fetched) describing every operation."""
    rows, tag = [], None
    operations = [
        (op.get("tags", [""])[0], path, method, op)
        for path, item in spec["paths"].items()
        for method, op in item.items()
    ]
    for op_tag, path, method, op in sorted(operations, key=lambda o: o[0]):
        if op_tag != tag:
            rows.append(f"<h2 id='tag-{op_tag}'>{html.escape(op_tag)}</h2>")
            tag = op_tag
        rows.append(
            f"<p id='{op['operationId']}'><code>{method.upper()} {html.escape(path)}</code>"
            f" — {html.escape(op['summary'])} <em>({html.escape(op['description'])})</em></p>"
        )
    kinds = "".join(
        f"<li id='problem-{slug}'><code>{status}</code> <b>{slug}</b>: {html.escape(title)}</li>"
        for slug, status, title in problems.described()
    )
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{html.escape(spec['info']['title'])}</title></head><body>"
        f"<h1>{html.escape(spec['info']['title'])}</h1>"
        f"<p>{html.escape(spec['info']['description'])}</p>"
        "<p>Machine-readable: <a href='/openapi.json'>/openapi.json</a>. Authenticate with"
        " <code>Authorization: Bearer &lt;API key&gt;</code> (keys: <code>oms keys create</code>).</p>"
        + "".join(rows)
        + f"<h2 id='problems'>Problem types</h2><ul>{kinds}</ul></body></html>"
    )
