"""How a service asks orders for clients' keys (shared/personal.py `remote_fetch`), against the
running system: as a service's own broker user, over a few pooled connections however many
short-lived greenthreads (RPC workers) ask, and a forgotten client's key comes back as None."""

import eventlet

from shared.personal import remote_fetch
from tests.support import random_ref, user_uri


def test_keys_are_asked_over_pooled_proxies_and_a_forgotten_clients_is_none(sqlite_system):
    code = random_ref("KEYS").upper()
    with sqlite_system.rpc(timeout=30) as rpc:
        rpc.orders.register_client(
            code, {"name": "Ida Keyworth", "email": "ida@keys.example", "phone": "+447700900123"}
        )
    subject = f"client:{code}"
    fetch = remote_fetch(lambda: {"AMQP_URI": user_uri(sqlite_system.amqp_uri, "notify")})

    # one greenthread after another, as RPC workers come and go: one proxy serves them all
    answers = [eventlet.spawn(fetch, [subject, "client:NOBODY-KNOWN"]).wait() for _ in range(20)]
    assert fetch.started == 1
    key = answers[0][subject]
    assert isinstance(key, bytes) and len(key) == 32
    assert all(answer == {subject: key} for answer in answers)  # an unknown subject: left out

    # at once: each greenthread has a proxy of its own, and they are kept for the next ones
    pool = eventlet.GreenPool(8)
    assert all(a == {subject: key} for a in pool.imap(lambda _: fetch([subject]), range(8)))
    started = fetch.started
    assert 1 <= started <= 8
    for _ in range(10):
        eventlet.spawn(fetch, [subject]).wait()
    assert fetch.started == started

    with sqlite_system.rpc(timeout=30) as rpc:
        rpc.orders.forget_client(code)
    assert fetch([subject]) == {subject: None}
