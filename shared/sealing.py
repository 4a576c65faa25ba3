"""Personal data sealed with its client's key, so that destroying the key forgets it everywhere
(crypto-shredding): in every service's events, in the messages between them, in what is derived
from them.

A sealed value is a small JSON object naming whose key sealed it and holding the value's JSON,
encrypted and authenticated with AES-256-GCM (a fresh 96-bit nonce each time; the subject is the
associated data, so a box cannot be passed off as another client's):

    {"sealed": "client:ACME-7", "box": "<base64url: nonce + ciphertext + tag>"}

A subject is whoever the data is about: `client:<code>` for a catalogue client, `order:<id>` for
the client an order names without a code (its re-orders keep the subject). Keys live in one
place only, a table of orders' (never in an event); a `Keyring` asks for them and keeps them a
short while. Opening a value whose key is gone gives `FORGOTTEN`, never an error: an order, its
totals, statuses and history stay what they were, only "who" is gone.
"""

import base64
import binascii
import json
import os
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

FORGOTTEN = "forgotten client"  # what a sealed value opens to once its key is destroyed
KEY_BYTES = 32


def new_key() -> bytes:
    return AESGCM.generate_key(bit_length=KEY_BYTES * 8)


def seal(key: bytes, subject: str, value) -> dict:
    """`value` (any JSON value) sealed with `subject`'s key."""
    nonce = os.urandom(12)
    plain = json.dumps(value, separators=(",", ":"), sort_keys=True).encode()
    box = AESGCM(key).encrypt(nonce, plain, subject.encode())
    return {"sealed": subject, "box": base64.urlsafe_b64encode(nonce + box).decode()}


def is_sealed(value) -> bool:
    return isinstance(value, dict) and set(value) == {"sealed", "box"}


def subject_of(value) -> str | None:
    return value["sealed"] if is_sealed(value) else None


def open_with(key: bytes | None, value, forgotten=FORGOTTEN):
    """The value a sealed one holds (a plain one as it is); `forgotten` when the key is gone."""
    if not is_sealed(value):
        return value
    if key is None:
        return forgotten
    try:
        raw = base64.urlsafe_b64decode(value["box"].encode())
        plain = AESGCM(key).decrypt(raw[:12], raw[12:], value["sealed"].encode())
    except (InvalidTag, ValueError, binascii.Error) as exc:
        raise SealBroken(f"a value sealed for {value['sealed']} does not open") from exc
    return json.loads(plain)


def subjects_in(data) -> set[str]:
    """Every subject whose key sealed something in `data` (nested dicts and lists)."""
    found: set[str] = set()
    _walk(data, lambda v: found.add(v["sealed"]) or v)
    return found


def open_all(data, keys: Mapping[str, bytes | None], forgotten=FORGOTTEN):
    """`data` with every sealed value in it opened (`forgotten` where its key is gone)."""
    return _walk(data, lambda v: open_with(keys.get(v["sealed"]), v, forgotten))


def _walk(data, on_sealed):
    if is_sealed(data):
        return on_sealed(data)
    if isinstance(data, dict):
        return {k: _walk(v, on_sealed) for k, v in data.items()}
    if isinstance(data, list):
        return [_walk(v, on_sealed) for v in data]
    return data


class SealBroken(ValueError):
    """A sealed value was altered, or sealed with another key than its subject's."""


class Keyring:
    """Subjects' keys as the key store answers them (`fetch(subjects) -> {subject: key or
    None}`; None: forgotten; a subject it leaves out: unknown), kept for `seconds` at most and
    for `size` subjects. `forget` drops one at once (a service hearing that a client was
    forgotten)."""

    def __init__(self, fetch: Callable[[list[str]], Mapping], seconds=60.0, size=10_000):
        self.fetch, self.seconds, self.size = fetch, seconds, size
        self._kept: OrderedDict[str, tuple[float, bytes | None]] = OrderedDict()

    def keys(self, subjects: Iterable[str]) -> dict[str, bytes | None]:
        now, wanted, found = time.monotonic(), set(subjects), {}
        for subject in wanted:
            kept = self._kept.get(subject)
            if kept is not None and now - kept[0] < self.seconds:
                found[subject] = kept[1]
        missing = sorted(wanted - set(found))
        if missing:
            fetched = self.fetch(missing)
            for subject in missing:
                found[subject] = fetched.get(subject)
                if subject in fetched:  # a subject the store does not know yet is not kept
                    self._kept[subject] = (now, found[subject])
                    self._kept.move_to_end(subject)
            while len(self._kept) > self.size:
                self._kept.popitem(last=False)
        return found

    def open_all(self, data, forgotten=FORGOTTEN):
        """`data` with every sealed value in it opened."""
        subjects = subjects_in(data)
        return open_all(data, self.keys(subjects), forgotten) if subjects else data

    def forget(self, subject: str) -> None:
        self._kept.pop(subject, None)
