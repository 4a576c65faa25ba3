"""One HTTP request through the gateway: route, CORS, API key and role, body limits and media type,
Idempotency-Key replays, If-Match, the RPC call with a fresh actor token, and the answer (ETag,
`next` links, problem+json). No business rule lives here: the services decide; this translates.
"""

import json
import re
import urllib.parse

from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule

from services.gateway import problems
from services.gateway.documents import Binary, check_owner
from services.gateway.inputs import JSON, Request, fingerprint, read_body, read_query
from services.gateway.problems import Problem
from services.gateway.routes import INTEGER_PARAMETERS, ROUTES, Route
from shared import actors
from shared import logging as oms_logging
from shared.errors import OmsError

log = oms_logging.get("gateway")
TOKEN_SECONDS = 60  # the actor token minted for one request
IF_MATCH = re.compile(r'^\s*(?:W/)?"?(\d{1,11})"?\s*$')
CORS_HEADERS = "Authorization, Content-Type, Idempotency-Key, If-Match, X-Request-Id"
EXPOSED = "ETag, Link, Location, Idempotent-Replayed, X-Request-Id"


def url_map(extra: dict) -> Map:
    """The werkzeug map of every route (by operation id), plus the gateway's own pages
    (`{name: (path, methods)}`)."""
    rules = [Rule(_werkzeug_path(r.path), methods=[r.method], endpoint=r.op) for r in ROUTES]
    rules += [
        Rule(path, methods=list(methods), endpoint=name) for name, (path, methods) in extra.items()
    ]
    return Map(rules, strict_slashes=False, merge_slashes=False)


def _werkzeug_path(path: str) -> str:
    def converter(match):
        name = match.group(1)
        return f"<int:{name}>" if name in INTEGER_PARAMETERS else f"<{name}>"

    return re.sub(r"\{(\w+)\}", converter, path)


class Edge:
    """Answers HTTP requests (built once; each request brings its worker's RPC `call`)."""

    def __init__(self, store, settings, pages: dict, local, replays):
        self.store, self.settings, self.local, self.replays = store, settings, local, replays
        # name -> (path, page(http, call, params)[, methods]): the gateway's own pages (GET)
        self.pages = pages
        self.routes = {r.op: r for r in ROUTES}
        self.map = url_map(
            {
                name: (page[0], page[2] if len(page) > 2 else ("GET",))
                for name, page in pages.items()
            }
        )
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
        http.environ["oms.operation"] = endpoint  # for the request's metrics
        if endpoint in self.pages:
            return self.pages[endpoint][1](http, call, params)
        route = self.routes[endpoint]
        request = Request(http, route, params, self._authenticate(http, route), call)
        read_body(request, self.settings.max_body_bytes)
        read_query(request)
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
    # -- the call ------------------------------------------------------------------------------------
    def _run(self, request: Request) -> tuple[int, dict, str]:
        route, http = request.route, request.http
        # a key is scoped to its caller: a public route (a signed callback) has none to keep
        keyed = route.creates and request.caller is not None
        replay_key = http.headers.get("Idempotency-Key") if keyed else None
        if replay_key is not None:
            if not 0 < len(replay_key) <= 255:
                raise Problem(
                    "validation-failed",
                    "the Idempotency-Key must be 1-255 characters",
                    errors={"Idempotency-Key": ["1-255 characters."]},
                )
            kept = self.store.begin(request.caller["name"], replay_key, fingerprint(request))
            if kept is not None:
                status, answer = kept
                body = self.replays.opened(request, answer["body"])
                answer["headers"]["Idempotent-Replayed"] = "true"
                return status, answer["headers"], body
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
            self._keep(request, replay_key, status, headers, body)
        return status, headers, body

    def _keep(self, request: Request, replay_key: str, status: int, headers: dict, body) -> None:
        """Keep the answer for replays, sealed with its client's key; not at all when it cannot
        be sealed now (the retry runs again, as after a server error)."""
        name = request.caller["name"]
        try:
            kept = self.replays.sealed(request, body) if status < 500 else None
        except Exception as exc:  # noqa: BLE001 - the answer stands; only its replay is lost
            self.store.finish(name, replay_key, 500, {})
            log.warning("replay_not_kept", operation=request.route.op, error=type(exc).__name__)
            return
        self.store.finish(name, replay_key, status, {"headers": headers, "body": kept})

    def _answer(self, request: Request) -> tuple[int, dict, str]:
        route = request.route
        self._precondition(request)
        if request.caller is not None:
            name, role = request.caller["name"], request.caller["role"]
            try:
                token = actors.mint(self.settings.actor_secret, name, role, TOKEN_SECONDS)
            except actors.BadToken as exc:  # no secret: the services could not trust anyone
                raise Problem(
                    "unavailable", f"the gateway cannot vouch for callers: {exc}"
                ) from None
            request.context[actors.TOKEN_KEY] = token
        if route.owned and request.caller["role"] == "storefront":
            check_owner(request, request.params["order_id"])
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

    # -- the answer ----------------------------------------------------------------------------------
    def _respond(self, request: Request, result) -> tuple[int, dict, str]:
        route = request.route
        if isinstance(result, Binary):
            return 200, result.headers(request.context["correlation_id"]), result.content
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
