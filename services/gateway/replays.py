"""Idempotency-Key replays keep no client's plaintext. The answer kept for a replay is sealed
with the key of the client it names (shared/sealing.py), asked of orders as every service asks
(`orders.personal_keys`), and opened when it is replayed; once the client is forgotten the kept
answer opens no more, and its replay says so (409) instead of running the request again.

Whose answer it is: the subjects the answer names (a client's details carry their `subject`;
sealed values name theirs); else the catalogue client it shows (`/v1/clients/{code}`); else the
client of the order its path or the answer names (`order_id`), asked of orders. An answer naming
none of these, or from a route whose answers name no client (`Route.anonymous`), is kept as it
is. An answer whose client's key is gone (or unknown: an order placed before sealing) is not
kept. An answer that cannot be sealed now (orders does not answer) is not kept either: a retry
then runs again, as after a server error, and the services' own idempotency keys and state
checks keep it from acting twice.
"""

import base64
import copy
import json
import re

from services.gateway.problems import Problem
from shared import sealing
from shared.errors import NotFound, ValidationFailed
from shared.personal import CLIENT_FIELDS, client_subject
from shared.sealing import Keyring

SUBJECT = re.compile(r"client:[A-Za-z0-9][A-Za-z0-9._-]{0,63}|order:[0-9a-f-]{36}")
NOT_KEPT = None  # the body of a replay whose answer is not kept


class Replays:
    """Seals and opens the bodies the gateway's store keeps for replays (built once; each call
    brings the request whose RPC asks orders for keys)."""

    def __init__(self, seconds: float):
        self.keyring = Keyring(_no_fetch, seconds)

    def forget(self, subject: str) -> None:
        """Drop a forgotten client's key at once (the forget routes, on this gateway)."""
        self.keyring.forget(subject)

    # -- keeping ---------------------------------------------------------------------------------
    def sealed(self, request, body: str):
        """`body` as the store keeps it: sealed with the key of each client it names, as it is
        when it names none, `NOT_KEPT` when a client's key is gone."""
        subjects = self.subjects(request, _parsed(body))
        if not subjects:
            return body
        keys = self._keys(request, subjects)
        kept = body
        for subject in sorted(subjects):  # one seal in another: each key opens its layer
            if keys.get(subject) is None:
                return NOT_KEPT
            kept = sealing.seal(keys[subject], subject, kept)
        return kept

    def opened(self, request, kept) -> str:
        """The body of a replay, opened; a 409 problem when it was not kept or its client has
        since been forgotten."""
        while sealing.is_sealed(kept):
            subject = kept["sealed"]
            kept = sealing.open_with(self._keys(request, {subject}).get(subject), kept, NOT_KEPT)
        if kept is NOT_KEPT:
            raise Problem(
                "conflict",
                "the request with this Idempotency-Key was done, but its answer named a client"
                " who is forgotten (or whose data was never sealed), so it was not kept: read"
                " what the request changed instead",
                {"Idempotent-Replayed": "true"},
            )
        return kept

    # -- whose answer ----------------------------------------------------------------------------
    def subjects(self, request, answer) -> set[str]:
        route, params = request.route, request.params
        if route.anonymous or answer is None:
            return set()
        named = _named(answer)
        if named:
            return named
        shown = answer if isinstance(answer, dict) else {}
        if route.path.startswith("/v1/clients/{code}") and shown.get("code") == params["code"]:
            return {f"client:{params['code']}"}
        order_id = params.get("order_id") or shown.get("order_id")
        if not isinstance(order_id, str):
            return set()
        try:
            order = request.rpc("orders", "get_order", [order_id])
        except (NotFound, ValidationFailed):
            return set()  # no such order: the answer names nobody
        client = order.get("client") or {}
        return {client.get("subject") or client_subject(client.get("code"), order["id"])}

    def _keys(self, request, subjects: set[str]) -> dict:
        ring = copy.copy(self.keyring)  # the same kept keys, asked for through this request
        ring.fetch = lambda missing: _decoded(request.rpc("orders", "personal_keys", [missing]))
        return ring.keys(subjects)


def _named(answer) -> set[str]:
    """The subjects of the clients' details (with any personal field) and sealed values in it."""
    found = sealing.subjects_in(answer)

    def walk(value):
        if isinstance(value, dict):
            subject = value.get("subject")
            if isinstance(subject, str) and SUBJECT.fullmatch(subject):
                if any(k in value for k in CLIENT_FIELDS):
                    found.add(subject)
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(answer)
    return found


def _parsed(body):
    try:
        return json.loads(body) if isinstance(body, str | bytes) and body else None
    except ValueError:
        return None


def _decoded(answer: dict) -> dict:
    return {s: (base64.b64decode(k) if k is not None else None) for s, k in answer.items()}


def _no_fetch(subjects):
    raise RuntimeError("the gateway asks for keys through a request (Replays._keys)")
