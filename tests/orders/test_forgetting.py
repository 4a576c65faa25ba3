"""Orders keeps a client's personal data sealed with the client's key, and forgetting the client
destroys the key: the events never held the plaintext, the read model is written again without
it, and the orders themselves — totals, statuses, history — stay (in process, on SQLite and
PostgreSQL)."""

import pytest
import sqlalchemy as sa

from services.orders.application import OrdersApplication
from services.orders.service import OrdersService
from shared import context
from shared.errors import NotFound, ValidationFailed
from shared.sealing import FORGOTTEN
from tests.support import order_payload, random_ref

ADDRESS = {"line1": "17 Quillfeather Lane", "city": "Thistlecombe", "postcode": "TC9 4ZZ",
           "country": "GB"}  # fmt: skip
MARKS = ("Orla Quillfeather", "orla@quillfeather.example", "+447700900417", "Quillfeather Lane",
         "Thistlecombe", "TC9 4ZZ")  # fmt: skip


@pytest.fixture
def orders(store):
    app = OrdersApplication(store["orders"])
    service = OrdersService()
    service.app = app
    with context.bound(actor="tests", role="admin"):
        yield service
    app.close()


def for_client(code: str) -> dict:
    """An order naming a catalogue client, shipped to its default address."""
    payload = order_payload(client_code=code)
    del payload["client"], payload["shippings"][0]["address"]
    return payload


def everything_stored(app) -> str:
    """Every row of every table of the store (events, read model, search index, keys...) as
    text: what a person reading the database file's tables would see."""
    text = []
    with app.engine.connect() as conn:
        for name in sa.inspect(conn).get_table_names():
            for row in conn.execute(sa.text(f'SELECT * FROM "{name}"')):
                for value in row:
                    if isinstance(value, bytes | memoryview):
                        value = bytes(value).decode("utf-8", "replace")
                    text.append(str(value))
    return "\n".join(text)


def test_a_clients_details_are_stored_only_sealed_and_forgetting_them_keeps_the_orders(orders):
    code = random_ref("Q").upper()
    orders.register_client(
        code,
        {"name": "Orla Quillfeather", "email": "orla@quillfeather.example",
         "phone": "+447700900417", "default_address": ADDRESS},
    )  # fmt: skip
    placed = orders.place_order(for_client(code), idempotency_key="q-1")
    other = orders.place_order(order_payload(), idempotency_key="q-2")  # someone else
    accepted = orders.accept_order(placed["id"])
    assert placed["client"]["name"] == "Orla Quillfeather"  # shown opened to the desk
    assert placed["shippings"][0]["address"]["line1"] == "17 Quillfeather Lane"
    assert placed["client"]["subject"] == f"client:{code}"

    events = "\n".join(
        bytes(n.state).decode("utf-8", "replace")
        for n in orders.app.recorder.select_notifications(1, 1000)
    )
    assert "Quillfeather" not in events and "orla@" not in events and "TC9" not in events
    assert "sealed" in events
    stored = everything_stored(orders.app)
    assert "Orla Quillfeather" in stored  # the read model shows it (the desk searches by name)
    assert orders.list_orders({"search": "quillfeather"})["orders"][0]["id"] == placed["id"]

    answer = orders.forget_client(code)
    assert answer == {"subject": f"client:{code}", "forgotten": True, "now": True}

    stored = everything_stored(orders.app)
    for mark in MARKS:
        assert mark not in stored, mark
    assert other["client"]["name"] in stored  # only that client is forgotten
    assert orders.list_orders({"search": "quillfeather"})["orders"] == []
    shown = orders.get_order(placed["id"])
    assert shown["client"]["name"] == FORGOTTEN and shown["client"]["email"] == FORGOTTEN
    assert shown["shippings"][0]["address"]["line1"] == FORGOTTEN
    assert shown["shippings"][0]["address"]["country"] == "GB"  # plain: it names nobody
    assert (shown["status"], shown["total"], shown["reference"]) == (
        accepted["status"], accepted["total"], accepted["reference"],
    )  # fmt: skip
    assert [h["event"] for h in shown["history"]] == ["Placed", "Accepted"]
    (client,) = orders.list_clients({"search": code.lower()})["clients"]
    assert client["name"] == FORGOTTEN and client["default_address"]["city"] == FORGOTTEN
    assert orders.personal_keys([f"client:{code}"]) == {f"client:{code}": None}

    # a replay gives the same rows, and nothing of the client comes back
    before = orders.app.read_model_rows()
    assert orders.rebuild_read_model()["aggregates"] >= 3
    assert orders.app.read_model_rows() == before
    assert not [m for m in MARKS if m in everything_stored(orders.app)]

    assert orders.forget_client(code)["now"] is False  # forgetting again changes nothing
    with pytest.raises(ValidationFailed) as refused:
        orders.place_order(for_client(code))
    assert "was forgotten" in str(refused.value.details["client"])


def test_a_guest_is_forgotten_by_its_first_order_with_its_re_orders(orders):
    guest = {"name": "Pim Vandergast", "email": "pim@vandergast.example", "phone": "+31612345678"}
    first = orders.place_order(order_payload(client=guest), idempotency_key="g-1")
    orders.accept_order(first["id"])
    payload = order_payload()
    del payload["client"]
    again = orders.new_order_for_client(first["id"], payload, idempotency_key="g-2")
    assert again["client"]["subject"] == first["client"]["subject"] == f"order:{first['id']}"
    assert again["client"]["name"] == "Pim Vandergast"

    orders.forget_client(f"order:{first['id']}")

    for order in (first, again):
        assert orders.get_order(order["id"])["client"]["name"] == FORGOTTEN
    assert "Vandergast" not in everything_stored(orders.app)
    with pytest.raises(NotFound):
        orders.forget_client("order:00000000-0000-4000-8000-000000000000")
    with pytest.raises(ValidationFailed):
        orders.forget_client("order:not an id")


def test_the_confirmation_shows_the_client_until_it_is_forgotten(orders):
    guest = {"name": "Ursel Brightwater", "email": "ursel@bw.example", "phone": "+441632960001"}
    placed = orders.place_order(order_payload(client=guest))
    orders.accept_order(placed["id"])
    document = orders.document("confirmation", placed["id"])
    assert document["sha256"]

    orders.forget_client(f"order:{placed['id']}")
    again = orders.document("confirmation", placed["id"], 1)
    assert again["sha256"] == document["sha256"]  # what was issued, as recorded
    assert "Brightwater" not in everything_stored(orders.app)
