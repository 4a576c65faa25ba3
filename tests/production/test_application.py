"""Production in process, fed by the orders service, on SQLite and PostgreSQL: planning by policy,
creating on demand, the workshop's commands and what the order's lines show, voids, production
notes, reprints, files, and the queue."""

import base64
import hashlib

import pytest

from shared.errors import InvalidTransition, NotFound, ValidationFailed
from tests.inprocess import InProcess
from tests.support import order_payload


def desk_for(tmp_path, store, services=("orders", "production"), **settings) -> InProcess:
    return InProcess(
        tmp_path,
        services=services,
        urls=store,
        PRODUCTION_FILES=str(tmp_path / "files"),
        **settings,
    )


@pytest.fixture
def store(module_store):
    return module_store


@pytest.fixture
def desk(tmp_path, store):
    services = desk_for(tmp_path, store)
    yield services
    services.close()


def two_house_lines() -> dict:
    payload = order_payload()
    payload["lines"].append(dict(payload["lines"][1], sku="FLYER-2", name="Flyer", quantity=50))
    payload["shippings"][0]["lines"].append({"sku": "FLYER-2", "quantity": 50})
    return payload


def accepted(desk, payload=None) -> tuple[dict, list]:
    order = desk.orders.place_order(payload or order_payload())
    desk.orders.accept_order(order["id"])
    return order, desk.production.production_orders_for_order(order["id"])


def line(desk, order_id: str, sku: str = "CARD-9") -> dict:
    return next(x for x in desk.orders.get_order(order_id)["lines"] if x["sku"] == sku)


def run(desk, job_id: str) -> None:
    desk.production.release_production_order(job_id)
    desk.production.start_production_order(job_id)


def test_an_accepted_order_plans_one_production_order_per_made_in_house_line(desk):
    order = desk.orders.place_order(order_payload())
    assert desk.production.production_orders_for_order(order["id"]) == []  # not yet accepted
    desk.orders.accept_order(order["id"])
    (planned,) = desk.production.production_orders_for_order(order["id"])
    assert (planned["sku"], planned["quantity"], planned["status"]) == ("CARD-9", 100, "planned")
    assert planned["number"] == f"{order['reference']}-P1"
    assert planned["planned_date"] == "2026-12-01"
    assert desk.orders.get_order(order["id"])["status"] == "in_production"
    assert line(desk, order["id"])["production_status"] == "in_production"


def test_an_order_without_made_in_house_lines_plans_nothing(desk):
    payload = order_payload()
    payload["lines"] = payload["lines"][:1]
    payload["shippings"][0]["lines"] = payload["shippings"][0]["lines"][:1]
    order, jobs = accepted(desk, payload)
    assert jobs == []
    assert desk.orders.get_order(order["id"])["status"] == "accepted"
    with pytest.raises(NotFound):  # production never heard of it
        desk.production.create_production_orders(order["id"])


def test_the_line_follows_the_workshop_in_production_partially_produced_ready(desk):
    order, (job,) = accepted(desk)
    run(desk, job["id"])
    desk.production.record_produced(job["id"], 40)
    shown = line(desk, order["id"])
    assert (shown["production_status"], shown["produced"]) == ("partially_produced", 40)
    with pytest.raises(ValidationFailed) as caught:
        desk.production.record_produced(job["id"], 61)
    assert "quantity" in caught.value.details
    finished = desk.production.finish_production_order(job["id"])
    assert (finished["status"], finished["produced"]) == ("finished", 100)
    assert desk.production.finish_production_order(job["id"]) == finished  # a retry: unchanged
    shown = line(desk, order["id"])
    assert (shown["production_status"], shown["produced"], shown["ready"]) == ("ready", 100, True)
    assert desk.orders.get_order(order["id"])["status"] == "ready"


def test_refused_transitions_name_their_rule(desk):
    _, (job,) = accepted(desk)
    for call, rule in (
        (lambda: desk.production.start_production_order(job["id"]), "start_requires_released"),
        (lambda: desk.production.finish_production_order(job["id"]), "finish_requires_in_progress"),
        (lambda: desk.production.resume_production_order(job["id"], "x"), "resume_requires_hold"),
    ):
        with pytest.raises(InvalidTransition) as caught:
            call()
        assert caught.value.details["rule"] == rule
    desk.production.hold_production_order(job["id"], "waiting for paper")
    with pytest.raises(InvalidTransition) as caught:
        desk.production.release_production_order(job["id"])
    assert caught.value.details["rule"] == "production_order_on_hold"
    held = desk.production.get_production_order(job["id"])
    assert held["status"] == "on_hold" and held["hold"]["reason"] == "waiting for paper"
    assert desk.production.resume_production_order(job["id"], "paper came")["status"] == "planned"
    with pytest.raises(ValidationFailed):
        desk.production.cancel_production_order(job["id"], "  ")  # a reason is required
    with pytest.raises(NotFound):
        desk.production.get_production_order("not-a-production-order")


def test_on_demand_creates_for_the_uncovered_quantity_and_twice_creates_nothing(tmp_path, store):
    desk = desk_for(tmp_path, store, PRODUCTION_POLICY="on_demand")
    try:
        order = desk.orders.place_order(order_payload())
        with pytest.raises(InvalidTransition):  # not accepted yet
            desk.production.create_production_orders(order["id"])
        desk.orders.accept_order(order["id"])
        assert desk.production.production_orders_for_order(order["id"]) == []
        assert line(desk, order["id"])["in_production"] is False
        (created,) = desk.production.create_production_orders(order["id"])
        assert (created["sku"], created["quantity"]) == ("CARD-9", 100)
        assert desk.production.create_production_orders(order["id"]) == [created]
        desk.production.cancel_production_order(created["id"], "wrong stock")
        again = desk.production.create_production_orders(order["id"])  # cancelled covers nothing
        assert [(j["quantity"], j["status"]) for j in again] == [
            (100, "cancelled"),
            (100, "planned"),
        ]
        assert again[1]["number"].endswith("-P2")
    finally:
        desk.close()


def test_a_product_may_wait_for_an_operator_while_the_deployment_plans_on_accept(desk):
    desk.orders.register_product(
        "FLYER-2",
        {"name": "Flyer", "unit_price": "0.10", "currency": "EUR", "vat_rate": "20",
         "made_in_house": True, "production_policy": "on_demand"},
    )  # fmt: skip
    payload = order_payload()
    payload["lines"].append({"sku": "FLYER-2", "quantity": 500})
    payload["shippings"][0]["lines"].append({"sku": "FLYER-2", "quantity": 500})
    order, jobs = accepted(desk, payload)
    assert [j["sku"] for j in jobs] == ["CARD-9"]
    assert line(desk, order["id"], "FLYER-2")["production_policy"] == "on_demand"
    created = desk.production.create_production_orders(order["id"])
    assert [(j["sku"], j["quantity"]) for j in created] == [("CARD-9", 100), ("FLYER-2", 500)]


def test_an_edit_that_orders_more_plans_the_rest(desk):
    order, (first,) = accepted(desk)
    shipping = desk.orders.get_order(order["id"])["shippings"][0]["id"]
    contents = [{"sku": "MUG-1", "quantity": 3}, {"sku": "CARD-9", "quantity": 150}]
    desk.orders.edit_order(order["id"], {"shippings": [{"id": shipping, "lines": contents}]})
    jobs = desk.production.production_orders_for_order(order["id"])
    assert [(j["id"], j["quantity"]) for j in jobs] == [(first["id"], 100), (jobs[1]["id"], 50)]


def test_a_void_cancels_open_production_orders_and_finished_ones_stay(desk):
    order, jobs = accepted(desk, two_house_lines())
    done, open_ = jobs
    run(desk, done["id"])
    desk.production.finish_production_order(done["id"])
    desk.orders.void_order(order["id"], "client cancelled")
    after = {j["sku"]: j for j in desk.production.production_orders_for_order(order["id"])}
    assert after[done["sku"]]["status"] == "finished"
    assert after[open_["sku"]]["status"] == "cancelled"
    assert after[open_["sku"]]["cancelled"]["reason"] == "order voided: client cancelled"
    with pytest.raises(InvalidTransition):
        desk.production.create_production_orders(order["id"])


def test_production_notes_of_the_order_reach_its_production_orders(desk):
    order = desk.orders.place_order(order_payload())
    desk.orders.add_note(order["id"], {"kind": "production", "text": "Pantone 186 C"})
    desk.orders.add_note(order["id"], {"kind": "internal", "text": "not for the workshop"})
    desk.orders.accept_order(order["id"])
    (job,) = desk.production.production_orders_for_order(order["id"])
    desk.orders.add_note(order["id"], {"kind": "production", "text": "matt laminate"})
    noted = desk.production.add_production_note(job["id"], {"text": "use the new guillotine"})
    assert [n["text"] for n in noted["order_notes"]] == ["Pantone 186 C", "matt laminate"]
    assert [n["text"] for n in noted["notes"]] == ["use the new guillotine"]


def test_a_reprint_resolving_a_claim_creates_production_orders_linked_to_the_originals(desk):
    order, (original,) = accepted(desk)
    shipping = desk.orders.get_order(order["id"])["shippings"][0]["id"]
    desk.orders.ship_shipping(order["id"], shipping)
    desk.orders.mark_delivered(order["id"], [{"sku": "CARD-9", "quantity": 100}])
    claimed = desk.orders.open_claim(order["id"], {"reason": "smudged", "lines": [
        {"sku": "CARD-9", "quantity": 20}]})  # fmt: skip
    resolved = desk.orders.resolve_claim(
        order["id"], claimed["claim_id"], {"resolution": "reprinted", "reason": "our fault"}
    )
    reprint = next(x for x in resolved["links"] if x["kind"] == "reprinted_as")
    desk.orders.accept_order(reprint["order_id"])
    (rerun,) = desk.production.production_orders_for_order(reprint["order_id"])
    assert rerun["quantity"] == 20
    assert rerun["rerun_of"] == {
        "production_order_id": original["id"],
        "number": original["number"],
        "order_id": order["id"],
        "order_reference": order["reference"],
    }


def test_files_are_kept_by_hash_and_a_required_one_is_certified_before_release(desk, tmp_path):
    _, (job,) = accepted(desk)
    artwork = b"%PDF-1.7 the front of the card"
    attached = desk.production.attach_file(job["id"], {
        "name": "front.pdf", "content": base64.b64encode(artwork).decode(),
        "content_type": "application/pdf"})  # fmt: skip
    (file,) = attached["files"]
    digest = hashlib.sha256(artwork).hexdigest()
    assert (file["sha256"], file["size"], file["required"]) == (digest, len(artwork), True)
    assert (tmp_path / "files" / digest[:2] / digest).read_bytes() == artwork
    with pytest.raises(InvalidTransition) as caught:
        desk.production.release_production_order(job["id"])
    assert caught.value.details["rule"] == "required_file_not_certified"
    desk.production.comment_file(job["id"], file["id"], {"text": "bleed is fine"})
    desk.production.certify_file(job["id"], file["id"])
    released = desk.production.release_production_order(job["id"])
    assert released["status"] == "released" and released["files"][0]["certified"]["by"] == "tests"
    fetched = desk.production.production_file(job["id"], file["id"])
    assert base64.b64decode(fetched["content"]) == artwork and fetched["sha256"] == digest
    with pytest.raises(ValidationFailed) as caught:
        desk.production.attach_file(job["id"], {"name": "x", "content": "not base64!"})
    assert "content" in caught.value.details


def test_the_queue_lists_open_work_soonest_first_and_rebuilds_identically(desk):
    later = order_payload()
    later["shippings"][0]["planned_date"] = "2026-12-20"
    _, (late,) = accepted(desk, later)
    _, (soon,) = accepted(desk)
    _, (cancelled,) = accepted(desk)
    desk.production.cancel_production_order(cancelled["id"], "duplicate")
    queue = desk.production.production_queue({"status": "open", "limit": 500})["items"]
    ids = [j["id"] for j in queue]
    assert ids.index(soon["id"]) < ids.index(late["id"]) and cancelled["id"] not in ids
    cancelled_only = desk.production.production_queue({"status": "cancelled", "limit": 500})
    assert cancelled["id"] in [j["id"] for j in cancelled_only["items"]]
    assert {j["status"] for j in cancelled_only["items"]} == {"cancelled"}
    first = desk.production.production_queue({"status": "open", "limit": 1})
    second = desk.production.production_queue({"status": "open", "cursor": first["next_cursor"]})
    assert first["items"][0]["id"] not in [j["id"] for j in second["items"]]
    app = desk.apps["production"]
    before = _rows(app)
    assert desk.production.rebuild_read_model()["aggregates"] == len(before) >= 3
    assert _rows(app) == before


def _rows(app) -> list:
    with app.engine.connect() as conn:
        return [r._asdict() for r in conn.execute(app.queue.select().order_by(app.queue.c.id))]


def test_a_replayed_acceptance_plans_nothing_new(desk):
    order = desk.orders.place_order(order_payload())
    desk.orders.accept_order(order["id"])
    production = desk.apps["production"]
    accepted_event = next(
        e for e in desk.apps["orders"].events_after(0, 100) if e["type"] == "orders.order_accepted"
    )
    assert production.react(accepted_event) == []  # its production order exists already
