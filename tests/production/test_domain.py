"""The production order's state machine, its files and its notes: every transition, allowed and
refused (no infrastructure)."""

import uuid

import pytest

from services.production.domain import ProductionOrder, ProductionRefused, UnknownFile

AT = "2026-12-02T09:00:00+00:00"


def job(quantity: int = 100) -> ProductionOrder:
    return ProductionOrder(
        id=uuid.uuid4(),
        order_id="o1",
        order_reference="2026-000001",
        sku="CARD-9",
        name="Printed card",
        quantity=quantity,
        number="2026-000001-P1",
    )


def running(quantity: int = 100) -> ProductionOrder:
    started = job(quantity)
    started.release("maria")
    started.start("maria")
    return started


def refused(command, rule: str) -> None:
    with pytest.raises(ProductionRefused) as caught:
        command()
    assert caught.value.rule == rule, caught.value


def test_a_production_order_runs_planned_released_in_progress_finished():
    made = job()
    assert made.status == "planned" and made.produced == 0
    made.release("maria")
    assert made.status == "released"
    made.start("maria")
    assert made.status == "in_progress"
    made.record_produced(40, "jan")
    made.record_produced(35, "jan")
    assert made.produced == 75 and made.status == "in_progress"
    made.finish("jan")
    assert (made.status, made.produced) == ("finished", 100)  # the rest is recorded with it
    assert made.collect_events()[-1].remainder == 25


def test_each_step_is_refused_out_of_order():
    planned = job()
    refused(lambda: planned.start("maria"), "start_requires_released")
    refused(lambda: planned.record_produced(1, "maria"), "record_produced_requires_in_progress")
    refused(lambda: planned.finish("maria"), "finish_requires_in_progress")
    released = job()
    released.release("maria")
    refused(lambda: released.release("maria"), "release_requires_planned")
    refused(lambda: released.finish("maria"), "finish_requires_in_progress")


def test_more_than_the_quantity_cannot_be_produced_and_the_field_is_named():
    started = running(10)
    started.record_produced(8, "jan")
    with pytest.raises(ProductionRefused) as caught:
        started.record_produced(3, "jan")
    assert caught.value.rule == "produced_exceeds_quantity" and caught.value.field == "quantity"
    assert "2 of 10 left" in str(caught.value)


def test_finishing_twice_changes_nothing():
    started = running()
    started.finish("jan")
    version = started.version
    started.finish("jan")
    assert started.version == version


def test_cancel_closes_an_open_order_but_not_a_finished_one():
    for made in (job(), running()):
        assert made.cancel("client changed the artwork", "maria")
        assert (
            made.status == "cancelled" and made.cancelled["reason"] == "client changed the artwork"
        )
        assert not made.cancel("again", "maria")  # cancelled already: nothing new
        refused(lambda m=made: m.release("maria"), "release_requires_planned")
    done = running()
    done.finish("jan")
    refused(lambda: done.cancel("too late", "maria"), "production_order_finished")


def test_a_held_order_does_nothing_until_resumed():
    started = running()
    started.put_on_hold("out of ink", "jan")
    assert started.shown_status == "on_hold" and started.status == "in_progress"
    refused(lambda: started.record_produced(1, "jan"), "production_order_on_hold")
    refused(lambda: started.finish("jan"), "production_order_on_hold")
    refused(lambda: started.put_on_hold("again", "jan"), "production_order_on_hold")
    started.resume("ink delivered", "jan")
    refused(lambda: started.resume("again", "jan"), "resume_requires_hold")
    started.finish("jan")
    assert started.status == "finished"


def test_release_waits_for_every_required_file_to_be_certified():
    planned = job()
    file = {"id": "f1", "name": "front.pdf", "sha256": "ab" * 32, "size": 10,
            "content_type": "application/pdf", "required": True}  # fmt: skip
    proof = dict(file, id="f2", name="proof.jpg", required=False)
    planned.attach_file(file, "maria", AT)
    planned.attach_file(proof, "maria", AT)
    planned.attach_file(file, "maria", AT)  # a retried attach: once
    assert [f["id"] for f in planned.files] == ["f1", "f2"]
    with pytest.raises(ProductionRefused) as caught:
        planned.release("maria")
    assert caught.value.rule == "required_file_not_certified" and "front.pdf" in str(caught.value)
    planned.comment_file("f1", "c1", "bleed is 2 mm short", "jan", AT)
    planned.certify_file("f1", "maria", AT)
    planned.certify_file("f1", "someone", AT)  # certified already: unchanged
    assert planned.file("f1")["certified"] == {"by": "maria", "at": AT}
    assert planned.file("f1")["comments"][0]["text"] == "bleed is 2 mm short"
    planned.release("maria")  # the optional proof needs no certificate
    with pytest.raises(UnknownFile):
        planned.certify_file("nope", "maria", AT)


def test_a_closed_order_takes_no_files_and_notes_are_kept_once():
    made = job()
    made.add_note("n1", "matt laminate", "maria", AT)
    made.add_note("n1", "matt laminate", "maria", AT)
    assert made.follow_order_note({"id": "o-n1", "text": "rush", "author": "ada", "at": AT})
    assert not made.follow_order_note({"id": "o-n1", "text": "rush", "author": "ada", "at": AT})
    assert len(made.notes) == 1 and len(made.order_notes) == 1
    made.cancel("no longer needed", "maria")
    file = {"id": "f1", "name": "a.pdf", "sha256": "0" * 64, "size": 1,
            "content_type": "application/pdf", "required": True}  # fmt: skip
    refused(lambda: made.attach_file(file, "maria", AT), "production_order_closed")
