"""What a request brings to the gateway: its route, caller and parameters, its body (limited in
size, JSON only) and query (typed as the route's schema expects), and the RPC arguments its route
takes from them."""

import hashlib
import json
import re
import uuid

from marshmallow import fields

from services.gateway.problems import Problem
from services.gateway.route import JSON, Route
from shared.validation import StrictBool


class Request:
    """What a route handler knows of the request it serves."""

    def __init__(self, http, route: Route, params: dict, caller: dict | None, call):
        self.http, self.route, self.params, self.caller = http, route, params, caller
        self.call = call  # (service, method, args, context) -> the RPC's answer
        self.body: dict | list | None = None
        self.raw = b""
        self.query: dict = {}
        self.context: dict = {"correlation_id": http.headers.get("X-Request-Id") or new_id()}

    def rpc(self, service: str, method: str, args: list):
        """One RPC as this request's caller (its actor token, correlation id, If-Match)."""
        return self.call(service, method, args, self.context)

    def arguments(self) -> list:
        return [self._argument(spec) for spec in self.route.args]

    def _argument(self, spec: str):
        kind, _, name = spec.partition(":")
        if kind == "path":
            return self.params[name]
        if kind == "json":
            return json.loads(name)
        if spec == "query":
            return self.query
        if spec.startswith("query."):
            return (self.query or {}).get(spec[6:])
        if spec == "body":
            return {} if self.body is None else self.body
        if spec.startswith("body."):
            return (self.body or {}).get(spec[5:])
        if spec in ("key", "key!"):
            sent = self.http.headers.get("Idempotency-Key")
            if sent:  # scoped to the caller: keys of two callers never meet
                scoped = f"{self.caller['name']}:{sent}"
                if len(scoped) > 200:  # the services take keys of up to 200 characters
                    scoped = f"{self.caller['name']}:{hashlib.sha256(sent.encode()).hexdigest()}"
                return scoped
            return new_id() if spec == "key!" else None
        raise ValueError(f"unknown argument spec {spec!r}")


def read_body(request: Request, limit: int) -> None:
    http, route = request.http, request.route
    if http.method in ("GET", "DELETE") and route.body is None:
        return
    if http.content_length is not None and http.content_length > limit:
        raise Problem("too-large", f"the body is {http.content_length} bytes; at most {limit}")
    # a chunked body has no length: werkzeug's stream would read nothing, the server decodes it
    stream = http.stream if http.content_length is not None else http.environ["wsgi.input"]
    raw = stream.read(limit + 1)
    if len(raw) > limit:
        raise Problem("too-large", f"the body is over {limit} bytes")
    request.raw = raw
    if not raw.strip():
        return
    media = (http.mimetype or "").lower()
    if media != JSON and not media.endswith("+json"):
        raise Problem(
            "unsupported-media-type",
            f"send the body as {JSON}, not {media or 'without a Content-Type'}",
        )
    try:
        request.body = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise Problem("bad-request", f"the body is not JSON: {exc}") from None
    _check_unpacked(request)


def _check_unpacked(request: Request) -> None:
    """A body spread over several RPC arguments must be an object of those fields only."""
    named = [s[5:] for s in request.route.args if s.startswith("body.")]
    if "body" in request.route.args:
        return  # the service validates the whole body
    body = request.body
    if not isinstance(body, dict):
        raise Problem("validation-failed", "the body must be a JSON object", errors={"_schema": []})
    unknown = sorted(set(body) - set(named))
    if unknown:
        errors = {name: ["Unknown field."] for name in unknown}
        raise Problem("validation-failed", "the body has unknown fields", errors=errors)


def read_query(request: Request) -> None:
    schema = request.route.query
    if schema is None:
        return
    declared = schema._declared_fields
    query = {}
    for name in request.http.args:
        values = request.http.args.getlist(name)
        field = declared.get(name)
        if isinstance(field, fields.List):
            query[name] = [v for value in values for v in value.split(",") if v]
        else:
            query[name] = _typed(field, values[-1])
    request.query = query


def _typed(field, value: str):
    """A query string value as its schema field expects it (the schema still validates it)."""
    if isinstance(field, fields.Integer) and re.fullmatch(r"-?\d{1,12}", value):
        return int(value)
    if isinstance(field, StrictBool | fields.Boolean) and value in ("true", "false"):
        return value == "true"
    if isinstance(field, StrictBool | fields.Boolean) and value == "":
        return None
    return value


def fingerprint(request: Request) -> str:
    """The request as Stripe compares it: method, path and body (as JSON, so the same document
    written with other spacing or key order is the same request)."""
    digest = hashlib.sha256(f"{request.http.method} {request.http.path}\n".encode())
    if request.body is not None:
        digest.update(json.dumps(request.body, sort_keys=True, separators=(",", ":")).encode())
    else:
        digest.update(request.raw)
    return digest.hexdigest()


def new_id() -> str:
    return uuid.uuid4().hex
