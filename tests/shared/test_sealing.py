"""Sealed personal data (shared/sealing.py): it opens only with its own subject's key, shows no
plaintext, opens to "forgotten client" once the key is gone, and a keyring asks the key store
once per subject while it keeps the answer."""

import json

import pytest

from shared import sealing
from shared.sealing import FORGOTTEN, Keyring, SealBroken


def test_a_sealed_value_opens_with_its_key_and_shows_nothing_of_itself():
    key = sealing.new_key()
    client = {"name": "Ada Lovelace", "email": "ada@example.com", "phone": "+442079460000"}
    sealed = sealing.seal(key, "client:ADA", client)
    assert sealing.is_sealed(sealed) and sealing.subject_of(sealed) == "client:ADA"
    assert "Ada" not in json.dumps(sealed) and "example.com" not in json.dumps(sealed)
    assert sealing.open_with(key, sealed) == client
    assert sealing.seal(key, "client:ADA", client) != sealed  # a fresh nonce each time
    assert sealing.open_with(key, "plain text") == "plain text"


def test_without_its_key_a_value_is_forgotten_and_with_another_it_is_refused():
    key, other = sealing.new_key(), sealing.new_key()
    sealed = sealing.seal(key, "client:ADA", "Ada Lovelace")
    assert sealing.open_with(None, sealed) == FORGOTTEN
    with pytest.raises(SealBroken):
        sealing.open_with(other, sealed)
    moved = dict(sealed, sealed="client:BOB")  # passed off as another client's
    with pytest.raises(SealBroken):
        sealing.open_with(key, moved)
    box = sealed["box"]
    tampered = dict(sealed, box=box[:20] + ("A" if box[20] != "A" else "B") + box[21:])
    with pytest.raises(SealBroken):
        sealing.open_with(key, tampered)


def test_every_sealed_value_in_a_document_is_found_and_opened():
    ada, bob = sealing.new_key(), sealing.new_key()
    order = {
        "reference": "2026-000001",
        "client": {"code": "ADA", "name": sealing.seal(ada, "client:ADA", "Ada")},
        "shippings": [{"address": sealing.seal(ada, "client:ADA", {"city": "London"})}],
        "notes": [sealing.seal(bob, "client:BOB", "ring twice")],
    }
    assert sealing.subjects_in(order) == {"client:ADA", "client:BOB"}
    opened = sealing.open_all(order, {"client:ADA": ada, "client:BOB": None})
    assert opened == {
        "reference": "2026-000001",
        "client": {"code": "ADA", "name": "Ada"},
        "shippings": [{"address": {"city": "London"}}],
        "notes": [FORGOTTEN],
    }


def test_a_keyring_asks_once_per_subject_and_forgets_when_told():
    store = {"client:ADA": sealing.new_key()}
    asked = []

    def fetch(subjects):
        asked.append(list(subjects))
        return {s: store[s] for s in subjects if s in store}

    ring = Keyring(fetch, seconds=60)
    sealed = sealing.seal(store["client:ADA"], "client:ADA", "Ada")
    assert ring.open_all({"name": sealed}) == {"name": "Ada"}
    assert ring.open_all([sealed, sealed]) == ["Ada", "Ada"]
    assert asked == [["client:ADA"]]
    store["client:ADA"] = None  # destroyed in the key store
    ring.forget("client:ADA")  # and the service heard of it
    assert ring.open_all({"name": sealed}) == {"name": FORGOTTEN}
    assert ring.keys(["client:NEW"]) == {"client:NEW": None}
    store["client:NEW"] = sealing.new_key()  # an unknown subject is asked again
    assert ring.keys(["client:NEW"])["client:NEW"] == store["client:NEW"]


def test_a_keyring_asks_again_once_its_answer_is_old():
    calls = []
    ring = Keyring(lambda subjects: calls.append(subjects) or {"client:ADA": b"k" * 32}, 0.0)
    ring.keys(["client:ADA"])
    ring.keys(["client:ADA"])
    assert len(calls) == 2
