"""The back office's list query on 10,000 generated orders, on SQLite and PostgreSQL: every sort
both ways, every filter, search, counts, and pagination without duplicates or gaps. Expected
results are computed here, in Python, from the orders the generator placed."""

import uuid
from collections import Counter
from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa

from oms.generate import generate
from services.orders.application import OrdersApplication
from services.orders.domain import CLOSED
from services.orders.queries import SORTS
from services.orders.schemas import EditIn, OrderIn
from shared.paging import CursorRefused
from shared.validation import load
from tests.support import order_payload

COUNT = 10_000


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def desk(request, tmp_path_factory):
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('db')}/orders.sqlite3"
    else:
        url = request.getfixturevalue("postgres").create_database(f"t{uuid.uuid4().hex[:10]}")
    app = OrdersApplication(url)
    orders = generate(app, COUNT)
    yield app, {str(o.id): o for o in orders}
    app.close()


@pytest.fixture(scope="module")
def names(desk) -> dict[str, str]:
    """Each order's client name, opened (the aggregates keep it sealed: shared/personal.py)."""
    app, orders = desk
    clients = app.opened({i: o.client for i, o in orders.items()})
    return {i: client["name"] for i, client in clients.items()}


def placed(order) -> datetime:
    return datetime.fromisoformat(order.placed).astimezone(UTC).replace(tzinfo=None)


SORT_KEYS = {
    "reference": lambda o: o.reference,
    "title": lambda o: o.title.lower(),
    "client_code": lambda o: o.client.get("code") or "",
    "product": lambda o: o.lines[0]["name"].lower(),
    "placed": placed,
    "total": lambda o: int(o.total * 10000),
}


def everything(app, **query) -> list[str]:
    """Every page of a query, following the cursors; the ids in the order served."""
    query = {"sort": "placed", "direction": "desc", "limit": 500, **query}
    ids, cursor = [], None
    while True:
        page = app.list_orders(dict(query, cursor=cursor))
        ids += [row["id"] for row in page["orders"]]
        cursor = page["next_cursor"]
        if cursor is None:
            return ids


def expected(orders, key, descending, keep=lambda o: True) -> list[str]:
    chosen = [o for o in orders.values() if keep(o)]
    ordered = sorted(chosen, key=lambda o: (key(o), str(o.id)), reverse=descending)
    return [str(o.id) for o in ordered]


def test_the_generated_desk_has_every_status(desk):
    _, orders = desk
    assert len(orders) == COUNT
    assert len(Counter(o.status for o in orders.values())) == 11


@pytest.mark.parametrize("direction", ["asc", "desc"])
@pytest.mark.parametrize("sort", SORTS)
def test_every_sort_pages_through_all_orders_in_order(desk, sort, direction):
    app, orders = desk
    served = everything(app, sort=sort, direction=direction, include_closed=True)
    assert served == expected(orders, SORT_KEYS[sort], direction == "desc")


def test_small_pages_have_no_duplicates_or_gaps(desk):
    app, orders = desk
    served = everything(app, sort="total", direction="asc", limit=37)
    open_orders = expected(orders, SORT_KEYS["total"], False, lambda o: o.status not in CLOSED)
    assert served == open_orders and len(set(served)) == len(served)


def test_closed_orders_are_left_out_unless_asked_for(desk):
    app, orders = desk
    served = set(everything(app))
    assert served == {i for i, o in orders.items() if o.status not in CLOSED}
    assert len(everything(app, include_closed=True)) == COUNT


@pytest.mark.parametrize(
    "statuses",
    [["new"], ["completed"], ["on_hold"], ["in_production", "ready"], ["voided", "declined"]],
)
def test_filtering_by_status(desk, statuses):
    app, orders = desk
    served = everything(app, statuses=statuses, sort="reference", direction="asc")
    assert served == expected(orders, SORT_KEYS["reference"], False, lambda o: o.status in statuses)


def test_filtering_by_client_product_and_dates_together_with_counts(desk):
    app, orders = desk
    some = next(o for o in orders.values() if o.client.get("code"))
    code, sku = some.client["code"], some.lines[-1]["sku"]
    start, end = date(2025, 6, 1), date(2026, 3, 31)

    def keep(o):
        return (
            o.client.get("code") == code
            and start <= placed(o).date() <= end
            and o.status not in CLOSED
        )

    by_client = everything(app, client_code=code, placed_from=start, placed_to=end)
    assert by_client == expected(orders, placed, True, keep)
    by_sku = set(everything(app, sku=sku, include_closed=True))
    assert by_sku == {i for i, o in orders.items() if sku in {x["sku"] for x in o.lines}}
    page = app.list_orders({"sort": "placed", "direction": "desc", "limit": 5, "client_code": code})
    assert page["counts"] == dict(
        Counter(o.status for o in orders.values() if o.client.get("code") == code)
    )


def test_a_date_range_includes_both_end_days(desk):
    app, orders = desk
    day = placed(next(iter(orders.values()))).date()
    served = set(everything(app, placed_from=day, placed_to=day, include_closed=True))
    assert served == {i for i, o in orders.items() if placed(o).date() == day} and served


def searchable(o, names: dict) -> str:
    fields = [o.reference, o.title, o.client.get("code") or "", names[str(o.id)]]
    fields += [x["sku"] for x in o.lines] + [x["name"] for x in o.lines]
    return "\n".join(fields).lower()


@pytest.mark.parametrize("pick", ["reference", "client name", "sku", "product name", "two words"])
def test_search_finds_by_reference_client_sku_and_product_name(desk, names, pick):
    app, orders = desk
    sample = list(orders.values())[1234]
    name = names[str(sample.id)]
    term = {
        "reference": sample.reference,
        "client name": name.split()[1].upper(),
        "sku": sample.lines[0]["sku"].lower(),
        "product name": sample.lines[-1]["name"].split()[0],
        "two words": f"{sample.lines[0]['name'].split()[0]} {name.split()[0]}",
    }[pick]
    served = everything(app, search=term, include_closed=True, sort="reference", direction="asc")
    words = term.lower().split()
    want = expected(
        orders,
        SORT_KEYS["reference"],
        False,
        lambda o: all(w in searchable(o, names) for w in words),
    )
    assert served == want and str(sample.id) in served


def test_counts_cover_every_status_under_the_other_filters(desk):
    app, orders = desk
    page = app.list_orders({"sort": "placed", "direction": "desc", "limit": 1, "statuses": ["new"]})
    assert page["counts"] == dict(Counter(o.status for o in orders.values()))


def test_rows_show_what_the_order_is(desk, names):
    app, orders = desk
    for row in app.list_orders(
        {"sort": "reference", "direction": "asc", "limit": 50, "include_closed": True}
    )["orders"]:
        order = app.get(row["id"])
        assert (row["reference"], row["status"], row["total"]) == (
            order.reference,
            order.status,
            str(order.total),
        )
        assert row["client_name"] == names[row["id"]] and row["product"] == order.lines[0]["name"]


def test_a_cursor_only_continues_the_query_it_came_from(desk):
    app, _ = desk
    first = app.list_orders({"sort": "total", "direction": "asc", "limit": 10})
    with pytest.raises(CursorRefused):
        app.list_orders(
            {"sort": "title", "direction": "asc", "limit": 10, "cursor": first["next_cursor"]}
        )
    with pytest.raises(CursorRefused):
        app.list_orders({"sort": "total", "direction": "asc", "limit": 10, "cursor": "garbage!"})


def test_rebuilding_the_read_model_from_the_log_gives_the_same_rows(desk):
    app, _ = desk
    before = app.read_model_rows()
    assert app.rebuild_read_model() == COUNT + 60  # the orders and the generated clients
    assert app.read_model_rows() == before


def test_kept_counts_follow_status_changes_and_are_computed_once_for_an_older_store(store):
    """The unfiltered counts come from a table the triggers keep; a store made before them gets
    its counts computed when the application opens it."""
    app = OrdersApplication(store["orders"])
    try:
        placed = [app.place_order(load(OrderIn, order_payload()), "tests") for _ in range(4)]
        app.accept_order(str(placed[0].id), "tests")
        app.accept_order(str(placed[1].id), "tests")
        app.void_order(str(placed[1].id), "a test", "tests")
        app.decline_order(str(placed[2].id), "a test", "tests")
        default = {"sort": "placed", "direction": "desc", "limit": 1}
        expected = {"new": 1, "accepted": 1, "voided": 1, "declined": 1}
        assert app.list_orders(default)["counts"] == expected
        with app.engine.begin() as conn:  # as a store from before the triggers
            if app.dialect == "postgresql":
                conn.execute(sa.text("DROP TRIGGER orders_list_count_rows ON orders_list"))
                conn.execute(sa.text("DROP TRIGGER orders_list_count_status ON orders_list"))
            else:
                for name in ("insert", "delete", "update"):
                    conn.execute(sa.text(f"DROP TRIGGER orders_list_count_{name}"))
            conn.execute(sa.text("DELETE FROM orders_status_counts"))
    finally:
        app.close()
    reopened = OrdersApplication(store["orders"])
    try:
        assert reopened.list_orders(default)["counts"] == expected
    finally:
        reopened.close()


def test_sqlite_search_goes_through_its_trigram_index_kept_through_changes_and_rebuilds(tmp_path):
    url = f"sqlite:///{tmp_path}/orders.sqlite3"
    app = OrdersApplication(url)
    try:
        ada = app.place_order(load(OrderIn, order_payload()), "tests")
        other = app.place_order(load(OrderIn, order_payload()), "tests")
        word = app.opened(ada.client)["name"].split()[-1].lower()  # unique to Ada's order
        query = {"sort": "placed", "direction": "desc", "limit": 10, "include_closed": True}

        def found(search: str) -> list[str]:
            rows = app.list_orders(dict(query, search=search))["orders"]
            return sorted(row["id"] for row in rows)

        assert app.search_index
        assert found(word) == [str(ada.id)]
        assert found(f"mug {word[1:-1]}") == [str(ada.id)]  # words inside others, as with LIKE
        assert found("ug") == sorted([str(ada.id), str(other.id)])  # short: LIKE
        tote = dict(order_payload()["lines"][0], sku="TOTE-7", name="Hopper tote", quantity=1)
        shipping = ada.shippings[0]
        lines = [{"sku": x["sku"], "quantity": x["quantity"]} for x in shipping["lines"]]
        edit = {
            "shippings": [
                {"id": shipping["id"], "lines": [*lines, {"sku": "TOTE-7", "quantity": 1}]}
            ]
        }
        app.edit_order(str(ada.id), load(EditIn, dict(edit, new_lines=[tote])), "tests")
        assert found("hopper") == [str(ada.id)] and found(word) == [str(ada.id)]
        app.rebuild_read_model()
        assert found("hopper") == [str(ada.id)]
        with app.engine.begin() as conn:  # as a store from before the index
            for name in ("insert", "delete", "update"):
                conn.execute(sa.text(f"DROP TRIGGER orders_search_{name}"))
            conn.execute(sa.text("DROP TABLE orders_search"))
    finally:
        app.close()
    reopened = OrdersApplication(url)
    try:
        rows = reopened.list_orders(dict(query, search="hopper"))["orders"]
        assert [row["id"] for row in rows] == [str(ada.id)]
    finally:
        reopened.close()
