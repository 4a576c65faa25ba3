"""Which fields of an order desk's data are a client's personal data, sealed with that client's
key (shared/sealing.py) wherever they are stored or sent, and how a service opens them when it
must show or send them.

Personal: a client's name, e-mail and phone; an address's lines, city and postcode (its country
stays plain: it decides taxes and carriers, and names nobody). A client dict carries its
`subject` in the clear, the one whose key seals its fields: `client:<code>` for a catalogue
client, `order:<id>` for a guest named only by an order (its re-orders keep it).

Orders holds the keys. Every other service keeps what it receives sealed as it came and opens it
only where it must be shown or sent (an invoice, a message, a purchase order, a page), with keys
it asks orders for (`orders.personal_keys`) and keeps a short while (`Keyring`); what it renders
and stores is sealed again with the same subject's key (`reseal`).
"""

import base64
import contextlib
from collections.abc import Callable

from marshmallow import ValidationError, fields

from shared import sealing
from shared.sealing import FORGOTTEN, is_sealed, seal

CLIENT_FIELDS = ("name", "email", "phone")
ADDRESS_FIELDS = ("line1", "line2", "city", "postcode")


def client_subject(code: str | None, order_id) -> str:
    return f"client:{code}" if code else f"order:{order_id}"


def seal_address(address: dict | None, key: bytes, subject: str) -> dict | None:
    if not address:
        return address
    return {
        k: (seal(key, subject, v) if k in ADDRESS_FIELDS and _plain(v) else v)
        for k, v in address.items()
    }


def seal_client(client: dict, key: bytes, subject: str) -> dict:
    """A client's details with its personal fields sealed and its subject named."""
    sealed = {
        k: (seal(key, subject, v) if k in CLIENT_FIELDS and _plain(v) else v)
        for k, v in client.items()
    }
    if "default_address" in sealed:
        sealed["default_address"] = seal_address(sealed["default_address"], key, subject)
    sealed["subject"] = subject
    return sealed


def _plain(value) -> bool:
    return value is not None and not is_sealed(value)


def reseal(keys: dict, subject: str | None, value):
    """`value` (what a service rendered from a subject's data: a message, a document's text)
    sealed again with that subject's key, so that forgetting the subject forgets it too; as it
    is when it names nobody. A forgotten subject's value is `FORGOTTEN` itself."""
    if subject is None:
        return value
    key = keys.get(subject)
    return FORGOTTEN if key is None else seal(key, subject, value)


class Personal(fields.Field):
    """A contract field holding personal data: the value sealed (`{"sealed", "box"}`), or — in
    events stored before sealing, and in requests — the plain value `inner` checks."""

    def __init__(self, inner: fields.Field, **kwargs):
        super().__init__(**kwargs)
        self.inner = inner

    def _serialize(self, value, attr, obj, **kwargs):
        if value is None or is_sealed(value):
            return value
        return self.inner._serialize(value, attr, obj, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, dict):
            if not is_sealed(value) or not all(isinstance(v, str) for v in value.values()):
                raise ValidationError("A sealed value has exactly a 'sealed' and a 'box' string.")
            return value
        return self.inner.deserialize(value, attr, data, **kwargs)


def remote_fetch(config_for: Callable[[], dict], timeout: float = 5.0, keep: int = 4):
    """A `Keyring`'s fetch asking orders for keys over RPC. Proxies are pooled: a call takes a
    free one (or starts one), uses it alone — one proxy per greenthread at a time — and gives it
    back, so RPC workers' short-lived greenthreads share a few connections instead of each
    opening its own. At most `keep` wait free; one that failed is stopped, not given back."""
    from nameko.standalone.rpc import ClusterRpcProxy

    free: list = []  # (runner, proxy) started and idle; list ops never yield under eventlet

    def fetch(subjects: list[str]) -> dict:
        if free:
            runner, proxy = free.pop()
        else:
            runner = ClusterRpcProxy(config_for(), timeout=timeout)
            proxy = runner.start()
            fetch.started += 1
        try:
            answer = proxy.orders.personal_keys(subjects)
        except BaseException:
            with contextlib.suppress(Exception):  # its connection may be what failed
                runner.stop()
            raise
        if len(free) < keep:
            free.append((runner, proxy))
        else:
            runner.stop()
        return {s: (base64.b64decode(k) if k is not None else None) for s, k in answer.items()}

    fetch.started = 0  # how many proxies it has started: what its test reads
    return fetch


def encode_keys(keys: dict) -> dict:
    """Keys as they cross RPC: base64 text, None for a forgotten subject."""
    return {s: (base64.b64encode(k).decode() if k is not None else None) for s, k in keys.items()}


__all__ = [
    "ADDRESS_FIELDS",
    "CLIENT_FIELDS",
    "FORGOTTEN",
    "Personal",
    "client_subject",
    "encode_keys",
    "remote_fetch",
    "reseal",
    "seal_address",
    "seal_client",
    "sealing",
]
