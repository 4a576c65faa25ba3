"""Forgetting a client in notify: when `orders.client_forgotten` is heard, its key is no longer
kept and nothing more is sent to it (an operator's send is refused, the sender fails what is
pending: services/notify/sending.py); its notifications keep their sealed values, which open to
"forgotten client".

The journal (which webhooks deliver from) keeps envelopes as they were published: a client's
details sealed with its key open to "forgotten client" once orders destroys it, and need nothing
more. Envelopes published before orders sealed anything hold them plain: when the client is
forgotten, those of that client (found by its code or its orders' ids) are written again with
each of its details as "forgotten client", and so is any such envelope journaled afterwards (a
replay from zero, an upstream lagging behind orders) — the journal remembers whose details were
forgotten."""

from services.notify.sealed import forgotten_in, sealed_subject, whose
from shared.personal import ADDRESS_FIELDS, CLIENT_FIELDS, client_subject
from shared.refusals import Refused
from shared.sealing import FORGOTTEN, is_sealed

CLIENT_KEYS = ("client", "billing")  # dicts holding a client's name, e-mail and phone
ADDRESS_KEYS = ("address", "default_address", "deliver_to")
CLIENT_EVENTS = "orders.client_"  # a catalogue client's own events: its details at the top


class Forgetting:
    """Mixin for the notify application (its journal: services/notify/journal.py)."""

    def _forget_client(self, envelope: dict) -> list:
        """The reaction to `orders.client_forgotten`: the key goes, the journal is scrubbed."""
        subject = envelope["data"]["subject"]
        self.keyring.forget(subject)
        with self.transaction() as session:
            self.journal.forget(session, subject)
        return []

    def _check_reachable(self, n) -> tuple | None:
        """(subject, key) sealing what `n` keeps of its client (None: nothing is sealed);
        refused once its client was forgotten — nothing more is sent to it."""
        subject = sealed_subject(n)
        key = self.keyring.keys([subject]).get(subject) if subject else None
        heard = n.client_subject and self.journal.is_forgotten(self.engine, whose(n))
        if (subject and key is None) or heard or forgotten_in(n.recipient):
            raise Refused("its client was forgotten: no message can reach them",
                          "client_forgotten")  # fmt: skip
        return (subject, key) if subject else None


def subjects_of(envelope: dict) -> set[str]:
    """Whose details an envelope may hold: its client's subject, and `order:<id>` of its order
    (a forgotten client's orders are remembered by id: some events name no client code)."""
    data = envelope.get("data") or {}
    found, order_id = set(), data.get("order_id")
    client = data.get("client")
    if isinstance(client, dict) and (client.get("subject") or client.get("code") or order_id):
        found.add(client.get("subject") or client_subject(client.get("code"), order_id))
    if envelope.get("type", "").startswith(CLIENT_EVENTS) and data.get("code"):
        found.add(data.get("subject") or f"client:{data['code']}")
    if order_id:
        found.add(f"order:{order_id}")
    return found


def order_ids_of(envelope: dict) -> set[str]:
    order_id = (envelope.get("data") or {}).get("order_id")
    return {str(order_id)} if order_id else set()


def scrubbed(envelope: dict) -> dict:
    """The envelope with every plain detail of its client as "forgotten client" (sealed values,
    and everything that is not a client's, as they are)."""
    data = envelope.get("data")
    if not isinstance(data, dict):
        return envelope
    kind = "client" if envelope.get("type", "").startswith(CLIENT_EVENTS) else None
    return dict(envelope, data=_scrub(data, kind))


def holds_plain(envelope: dict) -> bool:
    return scrubbed(envelope) != envelope


def _scrub(value, kind: str | None = None):
    if isinstance(value, list):
        return [_scrub(v, kind) for v in value]
    if not isinstance(value, dict) or is_sealed(value):
        return value
    personal = CLIENT_FIELDS if kind == "client" else ADDRESS_FIELDS if kind == "address" else ()
    out = {}
    for key, item in value.items():
        if key in personal:
            out[key] = FORGOTTEN if isinstance(item, str) else item
        elif key in CLIENT_KEYS:
            out[key] = _scrub(item, "client")
        elif key in ADDRESS_KEYS:
            out[key] = _scrub(item, "address")
        else:
            out[key] = _scrub(item)
    return out
