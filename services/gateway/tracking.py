"""The client's tracking page, `/track/<token>`: server-rendered HTML in the client's language that
works without JavaScript, and updates itself over Server-Sent Events (`/track/<token>/events` says
when the order changed; the page then fetches `/track/<token>/fragment`). The token is the only
credential (notify signs and revokes them); the gateway reads the order with a token of its own
that may only read. A tampered, unknown or revoked token gets 404, and nothing else."""

import tomllib
from pathlib import Path

import jinja2

from services.gateway.documents import binary
from services.gateway.live import stream
from services.gateway.production_routes import DOCUMENT_KINDS
from shared import actors
from shared.errors import InvalidTransition, NotFound, ValidationFailed

PAGES = Path(__file__).parent / "pages"
READER = "tracking-page"  # the actor the gateway reads orders as, for the page
HTML = "text/html; charset=utf-8"
NO_STORE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
CLIENT_DOCUMENTS = ("confirmation", "pro_forma", "invoice", "credit_note")


class TrackingPages:
    def __init__(self, settings, live):
        self.settings, self.live = settings, live
        with open(PAGES / "track.toml", "rb") as file:
            self.words = tomllib.load(file)
        self.env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(PAGES)), autoescape=True)

    def routes(self) -> dict:
        return {
            "trackPage": ("/track/<token>", self.page),
            "trackFragment": ("/track/<token>/fragment", self.fragment),
            "trackEvents": ("/track/<token>/events", self.events),
            "trackDocument": ("/track/<token>/documents/<kind>/<document_id>.pdf", self.document),
        }

    def page(self, http, call, params):
        return self._render(http, call, params["token"], "track.html")

    def fragment(self, http, call, params):
        return self._render(http, call, params["token"], "track_order.html")

    def events(self, http, call, params):
        order_id = self._resolve(call, params["token"])
        if order_id is None:
            return self._not_found(http)
        http.environ["eventlet.minimum_write_chunk_size"] = 0  # each event goes out as it comes
        headers = {"Content-Type": "text/event-stream", "X-Accel-Buffering": "no", **NO_STORE}
        return 200, headers, stream(self.live, order_id)

    def document(self, http, call, params):
        """The client's own documents (confirmation, invoices, credit notes, pro-formas), as PDF."""
        order_id = self._resolve(call, params["token"])
        kind, document_id = params["kind"], params["document_id"]
        if order_id is None or kind not in CLIENT_DOCUMENTS:
            return self._not_found(http)
        try:
            if kind == "confirmation":
                belongs = document_id == order_id
            else:
                invoice = self._call(call, "billing", "get_invoice", [document_id])
                belongs = invoice["order_id"] == order_id
            if not belongs:
                return self._not_found(http)
            answer = self._call(call, DOCUMENT_KINDS[kind][0], "document", [kind, document_id])
        except (NotFound, ValidationFailed, InvalidTransition):  # none of theirs, or none yet
            return self._not_found(http)
        found = binary(answer)
        return 200, {**found.headers(), **NO_STORE}, found.content

    # -- the page -------------------------------------------------------------------------------
    def _render(self, http, call, token: str, template: str):
        order_id = self._resolve(call, token)
        if order_id is None:
            return self._not_found(http)
        order = self._call(call, "orders", "get_order", [order_id])
        documents = [
            d
            for d in self._call(call, "billing", "invoices_for_order", [order_id])
            if d.get("number")
        ]
        language = (order.get("client") or {}).get("language")
        language = language if language in self.words else self._default_language()
        words = {**self.words["en"], **self.words[language]}
        statuses = {**self.words["en"]["statuses"], **self.words[language].get("statuses", {})}
        notes = [n for n in order.get("notes", []) if n.get("kind") == "client"]
        html = self.env.get_template(template).render(
            token=token,
            confirmed=any(h["event"] == "Accepted" for h in order.get("history", [])),
            document_kind=lambda kind: "invoice" if kind == "supplementary" else kind,
            order=order,
            notes=notes,
            documents=documents,
            words=words,
            language=language,
            label=lambda status: statuses.get(status, (status or "").replace("_", " ")),
        )
        return 200, {"Content-Type": HTML, **NO_STORE}, html

    def _not_found(self, http):
        """No order to take the language from: the browser's (Accept-Language), else ours."""
        wanted = [
            part.split(";")[0].strip()[:2].lower()
            for part in (http.headers.get("Accept-Language") or "").split(",")
        ]
        language = next((w for w in wanted if w in self.words), self._default_language())
        words = {**self.words["en"], **self.words[language]}
        html = self.env.get_template("not_found.html").render(words=words, language=language)
        return 404, {"Content-Type": HTML, **NO_STORE}, html

    def _default_language(self) -> str:
        wanted = self.settings.notify_language
        return wanted if wanted in self.words else "en"

    def _resolve(self, call, token: str) -> str | None:
        try:
            return self._call(call, "notify", "resolve_tracking", [token])["order_id"]
        except (NotFound, ValidationFailed):
            return None

    def _call(self, call, service: str, method: str, args: list):
        token = actors.mint(self.settings.actor_secret, READER, "storefront", 60)
        return call(service, method, args, {actors.TOKEN_KEY: token})
