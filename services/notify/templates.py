"""The messages: per language, a TOML file of Jinja2 templates per event type (`templates/en.toml`,
`pl.toml`, `fr.toml`), laid out by `layout.txt` and `layout.html` (autoescaped: a client's name or
an operator's note is text in the HTML part, never markup). `OMS_NOTIFY_TEMPLATES` names a directory
whose files take precedence, so operators change wording without touching code. A language or a
part that is missing falls back to the default language, then to English."""

import tomllib
from dataclasses import dataclass, replace
from pathlib import Path

import jinja2

BUILT_IN = Path(__file__).parent / "templates"
FALLBACK = "en"
PARTS = ("subject", "text", "sms")

# Only notes meant for the client are sent to the client; a purchase order's PDF only to the
# account manager it is handed to (e-mail ordering, or cost prices edited).
WHEN = {
    "orders.note_added": lambda data: data.get("kind") == "client",
    "fulfilment.purchase_order_sent": lambda data: bool(data.get("recipient")),
}


@dataclass(frozen=True)
class Rendered:
    language: str
    subject: str
    text: str
    html: str
    sms: str
    to_operations: bool = False
    #: the message goes to the event's own `recipient` (a distributor's account manager) or to
    #: its `courier`, not to the client
    to_recipient: bool = False
    to_courier: bool = False
    channel: str = "email"  # the channel it is written for (a template's `channel`)


class Templates:
    def __init__(self, default_language: str = FALLBACK, directory: str | None = None):
        self.default_language = default_language
        self.directories = [Path(directory)] if directory else []
        self.directories.append(BUILT_IN)
        loader = jinja2.FileSystemLoader([str(d) for d in self.directories])
        self.text = jinja2.Environment(autoescape=False, keep_trailing_newline=False)
        self.layouts = jinja2.Environment(loader=loader, autoescape=jinja2.select_autoescape())
        self.languages: dict[str, dict] = {}
        for directory in reversed(self.directories):  # built-in first, overridden by the rest
            for path in sorted(directory.glob("*.toml")):
                with open(path, "rb") as file:
                    table = tomllib.load(file)
                merged = self.languages.setdefault(path.stem, {})
                for key, parts in table.items():
                    merged.setdefault(key, {}).update(parts)
        keys = {key for table in self.languages.values() for key in table if key != "layout"}
        #: every event type a message is written for; `type@audience` keys are more messages
        #: about the same event (`fulfilment.courier_assigned@courier`: to its courier)
        self.event_types = frozenset(key.partition("@")[0] for key in keys)
        self.keys = frozenset(keys)

    def variants(self, event_type: str) -> list[str]:
        """The messages written about an event type: the type itself first, then its others."""
        found = sorted(k for k in self.keys if k.partition("@")[0] == event_type)
        return sorted(found, key=lambda k: "@" in k)

    def covers(self, key: str, data: dict) -> bool:
        event_type = key.partition("@")[0]
        return key in self.keys and WHEN.get(event_type, bool)(data)

    def language_for(self, wanted: str | None) -> str:
        return wanted if wanted in self.languages else self.default_language

    def render(self, event_type: str, data: dict, language: str | None, link: str | None):
        """The message about an event, in the client's language (None when none is written for
        it, or its condition is not met)."""
        if not self.covers(event_type, data):
            return None
        language = self.language_for(language)
        values = {"client": {}, **data}
        values.setdefault("reference", data.get("order_reference"))
        to = self._part(event_type, "to", language)
        to_operations, to_recipient = to == "operations", to in ("recipient", "courier")
        if to_operations or to_recipient:
            language, link = self.default_language, None
        parts = {p: self._fill(self._part(event_type, p, language), values) for p in PARTS}
        rendered = self._laid_out(language, parts, values, link, to_operations or to_recipient)
        if to_recipient:
            rendered = replace(
                rendered,
                to_operations=False,
                to_recipient=to == "recipient",
                to_courier=to == "courier",
            )
        channel = self._part(event_type, "channel", language) or "email"
        return replace(rendered, channel=channel)

    def message(self, subject: str, body: str, data: dict, language: str | None, link: str):
        """An operator's own message to the client, laid out like the others (not a template:
        what the operator wrote is sent as written)."""
        language = self.language_for(language)
        parts = {"subject": subject, "text": body, "sms": body}
        return self._laid_out(language, parts, {"client": {}, **data}, link, False)

    def _laid_out(self, language, parts, values, link, to_operations) -> Rendered:
        layout = {
            key: self._fill(self._part("layout", key, language), values)
            for key in ("greeting", "track", "signature")
        }
        if to_operations:
            layout["greeting"] = ""
        context = {**layout, "language": language, "link": link, "subject": parts["subject"]}
        text = self.layouts.get_template("layout.txt").render(context, message=parts["text"])
        html = self.layouts.get_template("layout.html").render(
            context, paragraphs=[p for p in parts["text"].split("\n\n") if p.strip()]
        )
        sms = parts["sms"] or parts["subject"]
        if link:
            sms = f"{sms} {link}"
        return Rendered(language, parts["subject"], text.strip() + "\n", html, sms, to_operations)

    def _part(self, key: str, part: str, language: str) -> str:
        for lang in (language, self.default_language, FALLBACK):
            value = self.languages.get(lang, {}).get(key, {}).get(part)
            if value is not None:
                return value
        return ""

    def _fill(self, source: str, values: dict) -> str:
        return self.text.from_string(source).render(values).strip()
