"""A message written from a client's sealed details, kept without opening them, and opened only
where it is sent or shown (shared/personal.py).

The reaction that writes a message about a status event opens nothing: each sealed value in the
event's data becomes a *blank* (a token naming its number) before the templates run, so the
subject, text, HTML and SMS keep blanks where the client's name or address goes, and the sealed
values are kept beside them as they came (`Notification.personal`). The sender fills the blanks,
outside any transaction, with keys asked of orders; an RPC answer fills them to show the
message. Once the client is forgotten a blank fills as "forgotten client" — and the sender sends
nothing (`forgotten_in`).

Templates should print a personal value whole (`{{ client.name }}`, `{{ address.city|upper }}`):
a slice of one (`{{ client.name[:3] }}`) cuts a blank, and what is left of it is dropped.
"""

import re

import markupsafe

from shared.personal import client_subject
from shared.sealing import FORGOTTEN, is_sealed, subjects_in

PARTS = ("subject", "body", "html", "sms")
_BLANK = "\ue000{}\ue001"  # private-use characters: neither a template nor a client writes them
_BLANKS = re.compile("\ue000(\\d+)\ue001")
_PIECES = re.compile("\ue000\\d*|\\d*\ue001")  # what is left of a blank a template cut


class Blanks:
    """`data` with each sealed value in it replaced by a blank (`self.data`), and the sealed
    values the rendered parts use (`kept`)."""

    def __init__(self, data):
        self.values: list[dict] = []
        self.data = self._walk(data)

    def _walk(self, data):
        if is_sealed(data):
            self.values.append(data)
            return _BLANK.format(len(self.values) - 1)
        if isinstance(data, dict):
            return {k: self._walk(v) for k, v in data.items()}
        if isinstance(data, list):
            return [self._walk(v) for v in data]
        return data

    def kept(self, *texts: str | None) -> dict[str, dict]:
        """{blank number: its sealed value} for the blanks the texts hold."""
        used = {n for text in texts if text for n in _BLANKS.findall(text)}
        return {n: self.values[int(n)] for n in sorted(used, key=int)}


def fill(text: str | None, values: dict, html: bool = False) -> str | None:
    """`text` with each blank replaced by its opened value (escaped in HTML)."""
    if not text:
        return text

    def value(match) -> str:
        opened = values.get(match.group(1))
        opened = "" if opened is None else str(opened)
        return str(markupsafe.escape(opened)) if html else opened

    return _PIECES.sub("", _BLANKS.sub(value, text))


def filled(content: dict, values: dict) -> dict:
    """A message's content (subject, text, html, or an SMS's text) with its blanks filled."""
    return {
        k: fill(v, values, html=k == "html") if isinstance(v, str) else v
        for k, v in content.items()
    }


def redacted(text: str | None) -> str | None:
    """What is published of a written part: its blanks as "…" (integrators get no one's data)."""
    return _PIECES.sub("", _BLANKS.sub("…", text)) if text else text


def forgotten_in(*opened) -> bool:
    """Does anything opened for a message say that its client was forgotten (its key is gone,
    or the event came before sealing and was scrubbed)?"""
    for value in opened:
        if value == FORGOTTEN:
            return True
        if isinstance(value, dict) and forgotten_in(*value.values()):
            return True
        if isinstance(value, list) and forgotten_in(*value):
            return True
    return False


def client_subject_of(data: dict) -> str | None:
    """Whose details an event's data holds: its client's subject (`client:<code>`, or
    `order:<id>` for a guest; worked out for events published before it was carried), else
    the subject of any sealed value in it (None: no client's)."""
    client = data.get("client") if isinstance(data.get("client"), dict) else {}
    if client.get("subject"):
        return client["subject"]
    if isinstance(data.get("subject"), str):  # a client's own event, a purchase order's
        return data["subject"]
    found = subjects_in(data)
    if found:
        return min(found)
    if client and (client.get("code") or data.get("order_id")):
        return client_subject(client.get("code"), data.get("order_id"))
    return None


def sealed_subject(n) -> str | None:
    """The subject whose key seals what the notification keeps of its client (None: nothing of
    it is sealed — an operations message, or one written before sealing)."""
    kept = subjects_in([n.recipient, n.phone, n.personal, n.attachments])
    if not kept:
        return None
    return n.client_subject if n.client_subject in kept else min(kept)


def whose(n) -> set[str]:
    """The subjects a notification's client may be forgotten by: its own, and its order's."""
    return {s for s in (n.client_subject, n.order_id and f"order:{n.order_id}") if s}


def shown(n, keyring) -> dict:
    """A notification as an RPC answer shows it: everything sealed opened, its blanks filled,
    and each attempt's content as it was sent."""
    state = {k: v for k, v in vars(n).items() if not k.startswith("_")}
    state.update(id=n.id, version=n.version, status=n.status)
    opened = keyring.open_all(state)
    values = opened.pop("personal", None) or {}
    for part in PARTS:
        opened[part] = fill(opened.get(part), values, html=part == "html")
    return opened
