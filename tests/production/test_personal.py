"""A client's personal data in production, in process beside a real orders (SQLite and
PostgreSQL): kept sealed in production's events and tables, opened only on the work sheet, which
shows "forgotten client" once the client is forgotten — and events stored before sealing (plain
names) still plan and print."""

import base64
import io

import pytest
import sqlalchemy as sa
from pypdf import PdfReader

from shared.sealing import FORGOTTEN
from tests.production.test_application import desk_for
from tests.support import order_payload


@pytest.fixture
def desk(tmp_path, module_store):
    services = desk_for(tmp_path, module_store)
    yield services
    services.close()


def sheet_text(desk, job_id: str, revision: int | None = None) -> tuple[dict, str]:
    """The work sheet's answer and the text of its PDF."""
    answer = desk.production.document("work_sheet", job_id, revision)
    content = base64.b64decode(answer["content"])
    return answer, "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(content)).pages)


def stored_text(store) -> str:
    """Every row of every table of a store (an application's, or a database URL), as text."""
    engine = sa.create_engine(store) if isinstance(store, str) else store.engine
    with engine.connect() as conn:
        tables = sa.inspect(conn).get_table_names()
        rows = [
            " ".join(_text(value) for value in row)
            for name in tables
            for row in conn.execute(sa.text(f'SELECT * FROM "{name}"'))
        ]
    if isinstance(store, str):
        engine.dispose()
    return "\n".join(rows)


def _text(value) -> str:
    if isinstance(value, memoryview | bytes):
        return bytes(value).decode("utf-8", errors="replace")
    return str(value)


def personal(payload: dict) -> tuple[str, ...]:
    client, address = payload["client"], payload["shippings"][0]["address"]
    return client["name"], client["email"], address["line1"]


def test_the_client_is_kept_sealed_shown_on_the_work_sheet_and_forgotten(desk):
    payload = order_payload()
    order = desk.orders.place_order(payload)
    desk.orders.accept_order(order["id"])
    (job,) = desk.production.production_orders_for_order(order["id"])
    desk.production.release_production_order(job["id"])  # issues the work sheet
    production = desk.apps["production"]
    stored = stored_text(production)
    assert job["id"] in stored and "sealed" in stored  # the events are there, sealed
    for plain in personal(payload):
        assert plain not in stored, plain

    answer, text = sheet_text(desk, job["id"])
    assert payload["client"]["name"] in text and FORGOTTEN not in text
    assert answer["sha256"] == production.production_order(job["id"]).work_sheets[0]["sha256"]

    forgotten = desk.orders.forget_client(f"order:{order['id']}")
    assert forgotten["now"] is True
    answer, text = sheet_text(desk, job["id"])
    assert FORGOTTEN in text and payload["client"]["name"] not in text
    # what it shows of the production order did not change: no new revision
    assert len(production.production_order(job["id"]).work_sheets) == 1
    _, first = sheet_text(desk, job["id"], 1)
    assert FORGOTTEN in first
    desk.production.rebuild_read_model()
    stored = stored_text(production)
    for plain in personal(payload):
        assert plain not in stored, plain


def test_a_forgotten_catalogue_client_reads_forgotten_on_every_sheet_of_its_orders(desk):
    code = f"ADA-{order_payload()['client']['name'].split()[-1]}"
    details = {"name": f"Ada Works {code}", "email": "ada@works.example", "phone": "+442079460001"}
    desk.orders.register_client(code, details)
    jobs = []
    for _ in range(2):
        payload = order_payload()
        del payload["client"]
        order = desk.orders.place_order(dict(payload, client_code=code))
        desk.orders.accept_order(order["id"])
        jobs += desk.production.production_orders_for_order(order["id"])
    for job in jobs:
        assert details["name"] in sheet_text(desk, job["id"])[1]
    assert details["name"] not in stored_text(desk.apps["production"])
    desk.orders.forget_client(code)
    for job in jobs:
        text = sheet_text(desk, job["id"])[1]
        assert FORGOTTEN in text and details["name"] not in text


def test_events_stored_before_sealing_plan_and_print_their_plain_names(tmp_path, desk):
    """Orders' events opened to plain values, as they were stored before sealing, fed to a
    production of their own: it plans as before and its work sheet prints the name."""
    payload = order_payload()
    order = desk.orders.place_order(payload)
    desk.orders.accept_order(order["id"])
    orders = desk.apps["orders"]
    plain = [orders.keyring.open_all(env) for env in orders.events_after(0, 1000)]
    mine = [e for e in plain if (e["data"].get("order_id") or "") == order["id"]]
    assert mine and all(isinstance(e["data"]["client"]["name"], str) for e in mine)
    (tmp_path / "older").mkdir()
    older = desk_for(tmp_path / "older", {}, services=("production",))
    try:
        app = older.apps["production"]
        for env in mine:
            app.handle(env, app.tracking_for("orders", env))
        (job,) = older.production.production_orders_for_order(order["id"])
        older.production.release_production_order(job["id"])
        assert payload["client"]["name"] in sheet_text(older, job["id"])[1]
        assert payload["client"]["name"] in stored_text(app)  # plain as it came (the search works)
    finally:
        older.close()
