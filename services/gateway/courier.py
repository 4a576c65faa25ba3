"""A courier's page, `/courier/<token>`: the delivery an own courier was given (where to, the
client's name and phone, what) and one button that marks it delivered. Opening the link changes
nothing — mail scanners and link previews open links too — the button (a POST) does, once; pressed
again it says when it was delivered. The token is the only credential (fulfilment signs and checks
it): a tampered, unknown or superseded one gets 404, an expired one 410."""

import tomllib
from pathlib import Path

import jinja2

from shared.errors import InvalidTransition, NotFound, ValidationFailed

PAGES = Path(__file__).parent / "pages"
HTML = "text/html; charset=utf-8"
NO_STORE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


class CourierPages:
    def __init__(self, settings):
        self.settings = settings
        with open(PAGES / "courier.toml", "rb") as file:
            self.words = tomllib.load(file)
        self.env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(PAGES)), autoescape=True)

    def routes(self) -> dict:
        return {"courierPage": ("/courier/<token>", self.page, ("GET", "POST"))}

    def page(self, http, call, params):
        method = "courier_delivered" if http.method == "POST" else "courier_task"
        words, language = self._words(http)
        try:
            task = call("fulfilment", method, [params["token"]], {})
        except (NotFound, ValidationFailed):
            return self._page(404, "courier_gone.html", words, language, message=words["gone"])
        except InvalidTransition:
            return self._page(410, "courier_gone.html", words, language, message=words["expired"])
        return self._page(200, "courier.html", words, language, task=task)

    def _page(self, status: int, template: str, words: dict, language: str, **values):
        html = self.env.get_template(template).render(words=words, language=language, **values)
        return status, {"Content-Type": HTML, **NO_STORE}, html

    def _words(self, http) -> tuple[dict, str]:
        wanted = [
            part.split(";")[0].strip()[:2].lower()
            for part in (http.headers.get("Accept-Language") or "").split(",")
        ]
        fallback = (
            self.settings.notify_language if self.settings.notify_language in self.words else "en"
        )
        language = next((w for w in wanted if w in self.words), fallback)
        return {**self.words["en"], **self.words[language]}, language
