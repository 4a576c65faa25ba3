"""The routes the gateway answers itself (the rest are one RPC call each): the logs over HTTP,
health, parked events, rebuilds, forgetting a client, actor tokens and API keys."""

import time

import eventlet

from services.gateway import documents, forgetting
from services.gateway.problems import Problem
from services.gateway.routes import ENUMS, REBUILDABLE, EventsQuery, ParkedQuery
from services.gateway.store import KeyIn
from shared import actors
from shared.errors import ValidationFailed
from shared.validation import load


class LocalRoutes:
    """`handle(request)` runs the handler named by the route's operation id."""

    def __init__(self, store, settings, replays):
        self.store, self.settings, self.replays = store, settings, replays

    def __call__(self, request):
        return getattr(self, request.route.op)(request)

    def _service(self, request, allowed=ENUMS["service"]) -> str:
        service = request.params["service"]
        if service not in allowed:
            raise Problem("not-found", f"no service {service}; one of {', '.join(allowed)}")
        return service

    # -- the logs --------------------------------------------------------------------------------
    def listEvents(self, request):  # noqa: N802 - named by its operation id
        service = self._service(request)
        query = load(EventsQuery, request.query, "query")
        page = request.rpc(service, "events_page", [query["after"], query["limit"]])
        after = page["scanned_to"]
        link = f"/v1/events/{service}?after={after}&limit={query['limit']}"
        return {
            "events": page["events"],
            "scanned_to": after,
            "more": page["more"],
            "next": link,
        }

    def health(self, request):
        """Each service's log status (or why it did not answer); 200 while all answer."""
        answers = {}

        def ask(service):
            try:
                answers[service] = {"status": "up", **request.rpc(service, "log_status", [])}
            except Exception as exc:  # noqa: BLE001 - a health page reports, it does not fail
                answers[service] = {"status": "down", "problem": str(exc)[:300]}

        pool = eventlet.GreenPool()
        for service in ENUMS["service"]:
            pool.spawn(ask, service)
        pool.waitall()
        if any(a["status"] != "up" for a in answers.values()):
            raise Problem("unavailable", "some services do not answer", services=answers)
        return {"status": "up", "services": answers}

    # -- callbacks from third parties ---------------------------------------------------------------
    def distributorCallback(self, request):  # noqa: N802
        """Passed to fulfilment as it came: the signature covers the raw body."""
        headers = request.http.headers
        args = [
            request.params["code"],
            headers.get("X-Distributor-Timestamp"),
            headers.get("X-Distributor-Signature"),
            request.raw.decode("utf-8", errors="replace"),
        ]
        return request.rpc("fulfilment", "distributor_callback", args)

    # -- parked events and rebuilds ----------------------------------------------------------------
    def listParked(self, request):  # noqa: N802
        service = self._service(request)
        status = load(ParkedQuery, request.query, "query")["status"]
        entries = request.rpc(service, "parked_events", [None if status == "all" else status])
        return {"parked": entries}

    def retryParked(self, request):  # noqa: N802
        service = self._service(request)
        return request.rpc(service, "retry_parked", [request.params["parked_id"]])

    def discardParked(self, request):  # noqa: N802
        service = self._service(request)
        reason = (request.body or {}).get("reason")
        args = [request.params["parked_id"], reason]
        return request.rpc(service, "discard_parked", args)

    def rebuildReadModel(self, request):  # noqa: N802
        service = self._service(request, REBUILDABLE)
        return dict(request.rpc(service, "rebuild_read_model", []), service=service)

    # -- forgetting a client ------------------------------------------------------------------------
    def forgetClient(self, request):  # noqa: N802
        code = request.params["code"]
        if ":" in code:  # a subject is not a code: a guest is forgotten by its order
            raise ValidationFailed("invalid code", {"code": ["A catalogue client's code."]})
        return forgetting.forget(request.rpc, code, self.replays)

    def forgetOrderClient(self, request):  # noqa: N802
        who = f"order:{request.params['order_id']}"
        return forgetting.forget(request.rpc, who, self.replays)

    # -- documents and files -------------------------------------------------------------------------
    def getDocument(self, request):  # noqa: N802
        return documents.read(request)

    def getProductionFile(self, request):  # noqa: N802
        args = [request.params["production_order_id"], request.params["file_id"]]
        return documents.binary(request.rpc("production", "production_file", args))

    # -- who is calling ------------------------------------------------------------------------------
    def createToken(self, request):  # noqa: N802
        return self.token_for(request.caller)

    def token_for(self, caller: dict) -> dict:
        seconds = self.settings.actor_token_seconds
        token = actors.mint(self.settings.actor_secret, caller["name"], caller["role"], seconds)
        expires = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + seconds))
        return {
            "token": token,
            "name": caller["name"],
            "role": caller["role"],
            "expires_at": expires,
        }

    def listKeys(self, request):  # noqa: N802
        return {"keys": self.store.list_keys()}

    def createKey(self, request):  # noqa: N802
        key = load(KeyIn, request.body if request.body is not None else {}, "key")
        return self.store.create_key(key["name"], key["role"], request.caller["name"])

    def revokeKey(self, request):  # noqa: N802
        name = request.params["name"]
        if name == request.caller["name"]:
            raise ValidationFailed(
                "a key cannot revoke itself",
                {"name": ["Use another admin key to revoke this one."]},
            )
        return self.store.revoke_key(name, request.caller["name"])
