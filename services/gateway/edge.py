"""One HTTP request through the gateway: route, CORS, API key and role, body limits and media type,
Idempotency-Key replays, If-Match, the RPC call with a fresh actor token, and the answer (ETag,
`next` links, problem+json). No business rule lives here: the services decide; this translates.
"""

import hashlib
import json
import re
import urllib.parse
import uuid

from marshmallow import fields
from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule

from services.gateway import problems
from services.gateway.problems import Problem
from services.gateway.routes import INTEGER_PARAMETERS, ROUTES, Route
from shared import actors
from shared.errors import OmsError
from shared.validation import StrictBool

JSON = "application/json"
TOKEN_SECONDS = 60  # the actor token minted for one request
IF_MATCH = re.compile(r'^\s*(?:W/)?"?(\d{1,11})"?\s*$')
CORS_HEADERS = "Authorization, Content-Type, Idempotency-Key, If-Match, X-Request-Id"
EXPOSED = "ETag, Link, Location, Idempotent-Replayed, X-Request-Id"


def url_map(extra: dict) -> Map:
    """The werkzeug map of every route (by operation id), plus the gateway's own pages."""
    rules = [Rule(_werkzeug_path(r.path), methods=[r.method], endpoint=r.op) for r in ROUTES]
    rules += [Rule(path, methods=["GET"], endpoint=name) for name, path in extra.items()]
    return Map(rules, strict_slashes=False, merge_slashes=False)


def _werkzeug_path(path: str) -> str:
    def converter(match):
        name = match.group(1)
        return f"<int:{name}>" if name in INTEGER_PARAMETERS else f"<{name}>"

    return re.sub(r"\{(\w+)\}", converter, path)


class Request:
    """What a route handler knows of the request it serves."""

    def __init__(self, http, route: Route, params: dict, caller: dict | None, call):
        self.http, self.route, self.params, self.caller = http, route, params, caller
        self.call = call  # (service, method, args, context) -> the RPC's answer
        self.body: dict | list | None = None
        self.raw = b""
        self.query: dict = {}
        self.context: dict = {"correlation_id": http.headers.get("X-Request-Id") or _new_id()}

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
            return _new_id() if spec == "key!" else None
        raise ValueError(f"unknown argument spec {spec!r}")


class Edge:
    """Answers HTTP requests (built once; each request brings its worker's RPC `call`)."""

    def __init__(self, store, settings, pages: dict, local):
        self.store, self.settings, self.local = store, settings, local
        self.pages = pages  # name -> callable(request) for the gateway's own GET pages
        self.routes = {r.op: r for r in ROUTES}
        self.map = url_map({name: path for name, (path, _) in pages.items()})
        origins = [o.strip() for o in settings.cors_origins.split(",") if o.strip()]
        self.origins = set(origins)

    # -- the whole request -------------------------------------------------------------------------
    def handle(self, http, call) -> tuple[int, dict, str]:
        cors = self._cors(http)
        if http.method == "OPTIONS":
            return self._preflight(http, cors)
        try:
            status, headers, body = self._dispatch(http, call)
        except Problem as problem:
            status, headers, body = problems.encode(problem, http.path)
        except OmsError as error:
            status, headers, body = problems.encode(problems.from_error(error), http.path)
        return status, {**headers, **cors}, body

    def _dispatch(self, http, call) -> tuple[int, dict, str]:
        adapter = self.map.bind("gateway", http.path)
        try:
            endpoint, params = adapter.match(http.path, method=http.method)
        except MethodNotAllowed as exc:
            allowed = ", ".join(sorted(exc.valid_methods or []))
            raise Problem(
                "method-not-allowed", f"{http.path} takes {allowed}", {"Allow": allowed}
            ) from None
        except NotFound:
            raise Problem("not-found", f"no route {http.path}; see /docs") from None
        if endpoint in self.pages:
            return self.pages[endpoint][1](http)
        route = self.routes[endpoint]
        request = Request(http, route, params, self._authenticate(http, route), call)
        self._read_body(request)
        self._read_query(request)
        return self._run(request)

    # -- who is calling ------------------------------------------------------------------------------
    def _authenticate(self, http, route: Route) -> dict | None:
        if route.role == "public":
            return None
        scheme, _, key = (http.headers.get("Authorization") or "").partition(" ")
        if scheme.lower() != "bearer" or not key.strip():
            raise Problem(
                "unauthenticated",
                "send your API key as `Authorization: Bearer <key>`",
                {"WWW-Authenticate": "Bearer"},
            )
        caller = self.store.caller(key.strip())
        if caller is None:
            raise Problem(
                "unauthenticated",
                "this API key is unknown or revoked",
                {"WWW-Authenticate": 'Bearer error="invalid_token"'},
            )
        if not actors.allows(caller["role"], route.role):
            raise Problem(
                "forbidden",
                f"a {caller['role']} key may not {route.summary.lower()}; it takes {route.role}",
                needed=route.role,
            )
        return caller

    # -- input ---------------------------------------------------------------------------------------
    def _read_body(self, request: Request) -> None:
        http, route = request.http, request.route
        if http.method in ("GET", "DELETE") and route.body is None:
            return
        limit = self.settings.max_body_bytes
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
        self._check_unpacked(request)

    @staticmethod
    def _check_unpacked(request: Request) -> None:
        """A body spread over several RPC arguments must be an object of those fields only."""
        named = [s[5:] for s in request.route.args if s.startswith("body.")]
        if "body" in request.route.args:
            return  # the service validates the whole body
        body = request.body
        if not isinstance(body, dict):
            raise Problem(
                "validation-failed", "the body must be a JSON object", errors={"_schema": []}
            )
        unknown = sorted(set(body) - set(named))
        if unknown:
            errors = {name: ["Unknown field."] for name in unknown}
            raise Problem("validation-failed", "the body has unknown fields", errors=errors)

    @staticmethod
    def _read_query(request: Request) -> None:
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

    # -- the call ------------------------------------------------------------------------------------
    def _run(self, request: Request) -> tuple[int, dict, str]:
        route, http = request.route, request.http
        replay_key = http.headers.get("Idempotency-Key") if route.creates else None
        if replay_key is not None:
            if not 0 < len(replay_key) <= 255:
                raise Problem(
                    "validation-failed",
                    "the Idempotency-Key must be 1-255 characters",
                    errors={"Idempotency-Key": ["1-255 characters."]},
                )
            kept = self.store.begin(request.caller["name"], replay_key, _fingerprint(request))
            if kept is not None:
                status, answer = kept
                answer["headers"]["Idempotent-Replayed"] = "true"
                return status, answer["headers"], answer["body"]
        try:
            status, headers, body = self._answer(request)
        except Problem as problem:
            status, headers, body = problems.encode(problem, http.path)
        except OmsError as error:
            status, headers, body = problems.encode(problems.from_error(error), http.path)
        except Exception:
            if replay_key is not None:
                self.store.finish(request.caller["name"], replay_key, 500, {})
            raise
        if replay_key is not None:
            kept = {"headers": headers, "body": body}
            self.store.finish(request.caller["name"], replay_key, status, kept)
        return status, headers, body

    def _answer(self, request: Request) -> tuple[int, dict, str]:
        route = request.route
        self._precondition(request)
        if request.caller is not None:
            token = actors.mint(
                self.settings.actor_secret,
                request.caller["name"],
                request.caller["role"],
                TOKEN_SECONDS,
            )
            request.context[actors.TOKEN_KEY] = token
        if route.owned and request.caller["role"] == "storefront":
            self._check_owner(request)
        if route.call is None:
            result = self.local(request)
        else:
            service, method = route.call
            result = request.rpc(service, method, request.arguments())
        return self._respond(request, result)

    def _precondition(self, request: Request) -> None:
        sent = request.http.headers.get("If-Match")
        if sent is None or not request.route.versioned or request.http.method == "GET":
            return
        if sent.strip() == "*":
            return
        match = IF_MATCH.match(sent)
        if not match:
            raise Problem("bad-request", 'If-Match must be an ETag this API sent, such as "3"')
        request.context["if_match"] = int(match.group(1))

    def _check_owner(self, request: Request) -> None:
        """A storefront sees and acts on the orders its key placed; others do not exist for it."""
        order = request.rpc("orders", "get_order", [request.params["order_id"]])
        if not order["history"] or order["history"][0]["actor"] != request.caller["name"]:
            raise Problem("not-found", f"order {request.params['order_id']} not found")

    # -- the answer ----------------------------------------------------------------------------------
    def _respond(self, request: Request, result) -> tuple[int, dict, str]:
        route = request.route
        headers = {"Content-Type": JSON, "X-Request-Id": request.context["correlation_id"]}
        if route.versioned and isinstance(result, dict) and "version" in result:
            headers["ETag"] = f'"{result["version"]}"'
        if route.items and isinstance(result, dict):
            result = self._paged(request, result, headers)
        if route.status == 201 and isinstance(result, dict) and route.op == "placeOrder":
            headers["Location"] = f"/v1/orders/{result['id']}"
        return route.status, headers, json.dumps(result)

    @staticmethod
    def _paged(request: Request, result: dict, headers: dict) -> dict:
        cursor_name = "cursor" if "next_cursor" in result else "after"
        position = result.get("next_cursor", result.get("next_after"))
        if position is None:
            return dict(result, next=None)
        query = [(k, v) for k, v in request.http.args.items(multi=True) if k != cursor_name]
        query.append((cursor_name, str(position)))
        link = f"{request.http.path}?{urllib.parse.urlencode(query)}"
        headers["Link"] = f'<{link}>; rel="next"'
        return dict(result, next=link)

    # -- CORS ----------------------------------------------------------------------------------------
    def _cors(self, http) -> dict:
        origin = http.headers.get("Origin")
        if not origin or not (origin in self.origins or "*" in self.origins):
            return {}
        return {
            "Access-Control-Allow-Origin": origin,
            "Access-Control-Expose-Headers": EXPOSED,
            "Vary": "Origin",
        }

    def _preflight(self, http, cors: dict) -> tuple[int, dict, str]:
        if cors:
            cors = dict(
                cors,
                **{
                    "Access-Control-Allow-Methods": "GET, POST, PUT, PATCH, DELETE",
                    "Access-Control-Allow-Headers": CORS_HEADERS,
                    "Access-Control-Max-Age": "600",
                },
            )
        return 204, cors, ""


def _typed(field, value: str):
    """A query string value as its schema field expects it (the schema still validates it)."""
    if isinstance(field, fields.Integer) and re.fullmatch(r"-?\d{1,12}", value):
        return int(value)
    if isinstance(field, StrictBool | fields.Boolean) and value in ("true", "false"):
        return value == "true"
    if isinstance(field, StrictBool | fields.Boolean) and value == "":
        return None
    return value


def _fingerprint(request: Request) -> str:
    digest = hashlib.sha256(f"{request.http.method} {request.http.path}\n".encode())
    digest.update(request.raw)
    return digest.hexdigest()


def _new_id() -> str:
    return uuid.uuid4().hex
