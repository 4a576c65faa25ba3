"""The operators' dashboard, `/dashboard`: server-rendered pages that update themselves over
Server-Sent Events. Operator and admin keys only — an `Authorization: Bearer <key>` header, or
the login form, which checks the key once and keeps a signed session (an actor token) in an
HttpOnly, SameSite=Strict cookie; the services are called as that actor. Its pages:

- `/dashboard`: the live feed of every service's events (filtered by service, type and order;
  a new order can ring), orders by status and payment status, events per second per service,
  each relay's and follower's lag, parked events with a retry button (admins), pending and
  failed sends;
- `/dashboard/orders/<id>`: the order's timeline across the five services, each effect under its
  cause with its chain of causes, a time slider showing its aggregates as they were at any
  moment (`/at?at=TIME` renders that part alone), and the quantity ledger of each line.
"""

import json
from pathlib import Path
from urllib.parse import quote

import jinja2

from services.gateway import dashboard_data
from services.gateway.live import LiveEvents, sse
from shared import actors, timeline
from shared.errors import Forbidden, NotFound, OmsError, ValidationFailed

PAGES = Path(__file__).parent / "pages"
HTML = "text/html; charset=utf-8"
# same-origin: a form POST then carries its Origin (with no-referrer, browsers send "null")
NO_STORE = {"Cache-Control": "no-store", "Referrer-Policy": "same-origin"}
COOKIE = "oms_dashboard"
SESSION_SECONDS = 12 * 3600
ROLES = ("operator", "admin")


class Dashboard:
    def __init__(self, settings, live: LiveEvents, store):
        self.settings, self.live, self.store = settings, live, store
        self.env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(PAGES)), autoescape=True)
        self.env.filters["tojson_attr"] = lambda value: json.dumps(value)

    def routes(self) -> dict:
        return {
            "dashboard": ("/dashboard", self.page),
            "dashboardLogin": ("/dashboard/login", self.login, ("GET", "POST")),
            "dashboardLogout": ("/dashboard/logout", self.logout, ("POST",)),
            "dashboardPanels": ("/dashboard/panels", self.panels),
            "dashboardEvents": ("/dashboard/events", self.events),
            "dashboardRetry": (
                "/dashboard/parked/<service>/<int:parked_id>/retry",
                self.retry,
                ("POST",),
            ),  # fmt: skip
            "dashboardOrder": ("/dashboard/orders/<order_id>", self.order),
            "dashboardOrderAt": ("/dashboard/orders/<order_id>/at", self.order_at),
        }

    # -- who is looking ---------------------------------------------------------------------------
    def _caller(self, http) -> dict | None:
        """{name, role, token} of an operator or admin, from the key or the session cookie."""
        scheme, _, key = (http.headers.get("Authorization") or "").partition(" ")
        if scheme.lower() == "bearer" and key.strip():
            found = self.store.caller(key.strip())
            if found is None or found["role"] not in ROLES:
                return None
            token = actors.mint(self.settings.actor_secret, found["name"], found["role"], 300)
            return {"name": found["name"], "role": found["role"], "token": token}
        cookie = http.cookies.get(COOKIE)
        try:
            claims = actors.verify(self.settings.actor_secret, cookie) if cookie else None
        except actors.BadToken:
            return None
        if not claims or claims.get("role") not in ROLES:
            return None
        return {"name": claims["name"], "role": claims["role"], "token": cookie}

    def _calls(self, call, caller: dict):
        context = {actors.TOKEN_KEY: caller["token"]}
        return lambda service, method, *args: call(service, method, list(args), context)

    def _guarded(self, http, call, render):
        caller = self._caller(http)
        if caller is None:
            if http.headers.get("Authorization"):
                return self._html(
                    401, "dashboard_login.html", problem="That key may not see the dashboard."
                )
            return (
                303,
                {"Location": f"/dashboard/login?next={quote(http.full_path)}", **NO_STORE},
                "",
            )
        try:
            return render(caller, self._calls(call, caller))
        except NotFound as exc:
            return self._html(404, "dashboard_problem.html", caller=caller, problem=str(exc))
        except Forbidden as exc:
            return self._html(403, "dashboard_problem.html", caller=caller, problem=str(exc))
        except ValidationFailed as exc:
            return self._html(422, "dashboard_problem.html", caller=caller, problem=str(exc))
        except OmsError as exc:  # a conflict, a refused transition, a service away
            return self._html(409, "dashboard_problem.html", caller=caller, problem=str(exc))

    # -- pages ------------------------------------------------------------------------------------
    def login(self, http, call, params):
        target = http.args.get("next") or http.form.get("next") or "/dashboard"
        target = target if target.startswith("/dashboard") else "/dashboard"
        if http.method == "GET":
            return self._html(200, "dashboard_login.html", next=target)
        found = self.store.caller((http.form.get("key") or "").strip())
        if found is None or found["role"] not in ROLES:
            problem = "That key is unknown, revoked, or not an operator's or admin's."
            return self._html(401, "dashboard_login.html", next=target, problem=problem)
        token = actors.mint(
            self.settings.actor_secret, found["name"], found["role"], SESSION_SECONDS
        )
        cookie = f"{COOKIE}={token}; Path=/dashboard; HttpOnly; SameSite=Strict; Max-Age={SESSION_SECONDS}"
        return 303, {"Location": target, "Set-Cookie": cookie, **NO_STORE}, ""

    def logout(self, http, call, params):
        cookie = f"{COOKIE}=; Path=/dashboard; HttpOnly; SameSite=Strict; Max-Age=0"
        return 303, {"Location": "/dashboard/login", "Set-Cookie": cookie, **NO_STORE}, ""

    def page(self, http, call, params):
        def render(caller, rpc):
            return self._html(200, "dashboard.html", caller=caller, **self._panels(rpc))

        return self._guarded(http, call, render)

    def panels(self, http, call, params):
        def render(caller, rpc):
            return self._html(200, "dashboard_panels.html", caller=caller, **self._panels(rpc))

        return self._guarded(http, call, render)

    def _panels(self, rpc) -> dict:
        return {**dashboard_data.overview(rpc), "rates": self.live.rates()}

    def retry(self, http, call, params):
        def render(caller, rpc):
            if not _same_origin(http):
                return self._html(
                    403,
                    "dashboard_problem.html",
                    caller=caller,
                    problem="cross-site request refused",
                )
            rpc(params["service"], "retry_parked", params["parked_id"])
            return 303, {"Location": "/dashboard#parked", **NO_STORE}, ""

        return self._guarded(http, call, render)

    def order(self, http, call, params):
        def render(caller, rpc):
            view = dashboard_data.order_view(rpc, params["order_id"], self._at(http))
            return self._html(200, "dashboard_order.html", caller=caller, **view)

        return self._guarded(http, call, render)

    def order_at(self, http, call, params):
        def render(caller, rpc):
            view = dashboard_data.order_view(rpc, params["order_id"], self._at(http))
            return self._html(200, "dashboard_at.html", caller=caller, **view)

        return self._guarded(http, call, render)

    @staticmethod
    def _at(http) -> str | None:
        text = http.args.get("at")
        if not text:
            return None
        try:
            return timeline.moment(text)
        except ValueError:
            raise ValidationFailed("invalid time", {"at": ["Must be an ISO 8601 time."]}) from None

    # -- the live feed ------------------------------------------------------------------------------
    def events(self, http, call, params):
        if self._caller(http) is None:
            return 401, {"Content-Type": "text/plain", **NO_STORE}, "log in first\n"
        wanted = {
            "services": set(filter(None, http.args.get("service", "").split(","))),
            "type": http.args.get("type", "").strip(),
            "order": http.args.get("order", "").strip(),
        }
        http.environ["eventlet.minimum_write_chunk_size"] = 0  # each event goes out as it comes
        headers = {"Content-Type": "text/event-stream", "X-Accel-Buffering": "no", **NO_STORE}
        return 200, headers, feed(self.live, wanted)

    def _html(self, status: int, template: str, **values):
        html = self.env.get_template(template).render(**values)
        return status, {"Content-Type": HTML, **NO_STORE}, html


def _same_origin(http) -> bool:
    origin = http.headers.get("Origin")
    return origin is None or origin.split("://", 1)[-1] == http.host


def matches(env: dict, wanted: dict) -> bool:
    service = env.get("type", "").split(".", 1)[0]
    if wanted["services"] and service not in wanted["services"]:
        return False
    if wanted["type"] and wanted["type"] not in env.get("type", ""):
        return False
    data = env.get("data") if isinstance(env.get("data"), dict) else {}
    return not wanted["order"] or wanted["order"] in (env.get("subject"), data.get("order_id"))


def feed(live: LiveEvents, wanted: dict, keepalive: float = 15.0, lifetime: float = 1800.0):
    """Server-Sent Events for one dashboard: each event that passes its filters, as JSON."""
    queue = live.watch()

    def render(env: dict) -> str | None:
        if not matches(env, wanted):
            return None
        data = env.get("data") if isinstance(env.get("data"), dict) else {}
        shown = {k: env.get(k) for k in ("id", "type", "time", "subject", "correlationid")}
        shown["order_id"] = data.get("order_id") or (
            env.get("subject") if env.get("type", "").startswith("orders.order") else None
        )
        return f"event: envelope\ndata: {json.dumps(shown)}\n\n"

    yield from sse(live, queue, render, lambda: live.unwatch(queue), keepalive, lifetime)
