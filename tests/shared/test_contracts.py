"""The public event contract, pinned: a sample of every event type, its envelope and its version."""

import copy

import pytest
from marshmallow import ValidationError

from shared import envelope, personal, sealing
from shared.contracts import REGISTRY, dump, load

CLIENT = {"name": "Ada Lovelace", "email": "ada@example.com", "phone": "+44 20 7946 0000"}
LINE = {
    "sku": "MUG-1",
    "name": "Mug",
    "quantity": 3,
    "unit_price": "9.50",
    "currency": "EUR",
    "distributor": "acme",
    "made_in_house": False,
}
ADDRESS = {
    "line1": "12 St James's Sq",
    "line2": None,
    "city": "London",
    "postcode": "SW1Y 4JH",
    "country": "GB",
}
ORDER = {
    "order_id": "8157fe76-2dff-568d-976a-d19994d6762f",
    "reference": "2026-000001",
    "client": CLIENT,
}
ACCOUNT = {
    "order_id": "o1",
    "order_reference": "2026-000001",
    "client": CLIENT,
    "currency": "EUR",
    "payment_status": "unpaid",
    "channel": "online_gateway",
    "refund_due": "0.00",
}
DOCUMENT = dict(
    ACCOUNT,
    invoice_id="i1",
    number="INV-2026-000001",
    kind="invoice",
    status="unpaid",
    total="34.20",
    issued_on="2026-11-22",
    issued_by="maria",
    due_on="2026-12-06",
    billing=dict(CLIENT, code=None, address=ADDRESS),
    lines=[
        {
            "sku": "MUG-1",
            "name": "Mug",
            "quantity": 3,
            "unit_price": "9.50",
            "vat_rate": "20",
            "net": "28.50",
        }
    ],
    vat=[{"rate": "20", "net": "28.50", "tax": "5.70"}],
    net="28.50",
    tax="5.70",
    gross="34.20",
    rounding="line nets and the VAT of each rate, each rounded half-up to the currency's minor unit",
    paid="0.00",
    due="34.20",
    corrects=None,
    shipping_id=None,
    reason=None,
)

JOB = {
    "production_order_id": "p1",
    "order_id": "o1",
    "order_reference": "2026-000001",
    "sku": "CARD-9",
    "product_name": "Printed card",
    "quantity": 100,
}

PURCHASE_ORDER = {
    "purchase_order_id": "po1",
    "number": "PO-2026-000001-1",
    "order_id": "o1",
    "order_reference": "2026-000001",
    "shipping_id": "s1",
    "distributor": "acme",
    "channel": "api",
    "lines": [
        dict(
            {k: LINE[k] for k in ("sku", "name", "quantity", "unit_price", "currency")},
            cost_price="4.10",
            cost_source="catalogue",
        )
    ],
    "version": 3,
    "status": "sent",
}
SAMPLES = {
    "orders.order_placed": dict(
        ORDER,
        status="new",
        channel="storefront",
        lines=[LINE],
        payment_method="card",
        note=None,
        total="28.50",
        currency="EUR",
        shippings=[
            {
                "id": "s1",
                "planned_date": "2026-12-01",
                "address": ADDRESS,
                "lines": [{"sku": "MUG-1", "quantity": 3}],
                "status": "pending",
            }
        ],
    ),
    "orders.order_accepted": dict(
        ORDER, status="accepted", lines=[LINE], total="28.50", currency="EUR"
    ),
    "orders.order_declined": dict(ORDER, status="declined", reason="out of stock"),
    "orders.shipping_shipped": dict(
        ORDER,
        status="shipped",
        shipping_id="s1",
        planned_date="2026-12-01",
        address=ADDRESS,
        lines=[LINE],
    ),
    "orders.order_voided": dict(ORDER, status="voided", reason="client cancelled", actor="maria"),
    "orders.order_held": dict(ORDER, status="on_hold", reason="address check", actor="maria"),
    "orders.order_released": dict(ORDER, status="accepted", reason="address ok", actor="maria"),
    "orders.order_completed": dict(ORDER, status="completed", reason=None, actor="maria"),
    "orders.line_in_production": dict(ORDER, status="in_production", sku="CARD-9"),
    "orders.line_ready": dict(ORDER, status="ready", sku="CARD-9"),
    "orders.line_production_changed": dict(
        ORDER,
        status="in_production",
        sku="CARD-9",
        production_order_id="p1",
        production_status="partially_produced",
        produced=40,
    ),
    "orders.lines_delivered": dict(
        ORDER,
        status="delivered",
        lines=[dict(LINE, vat_rate="20", delivered=3, in_production=False, ready=False)],
        delivered_now=[{"sku": "MUG-1", "quantity": 3}],
        actor="courier-7",
    ),
    "orders.distributors_chosen": dict(
        ORDER, status="accepted", choices={"MUG-1": "bic"}, reason="best source", actor="maria"
    ),
    "orders.order_edited": dict(
        ORDER,
        status="accepted",
        lines=[dict(LINE, quantity=5)],
        changes=[{"sku": "MUG-1", "before": 3, "after": 5}],
        total_before="28.50",
        total_after="47.50",
        reason="client asked",
        actor="maria",
    ),
    "orders.shippings_changed": dict(
        ORDER,
        status="accepted",
        change="rescheduled",
        shipping_id="s1",
        shippings=[
            {
                "id": "s1",
                "planned_date": "2026-12-24",
                "address": ADDRESS,
                "lines": [{"sku": "MUG-1", "quantity": 3}],
                "status": "pending",
            }
        ],
        reason="client away",
        actor="maria",
    ),
    "orders.note_added": dict(
        ORDER,
        status="accepted",
        note_id="n1",
        kind="client",
        text="Gift wrap, please",
        at="2026-11-22T10:00:00+00:00",
        actor="maria",
    ),
    "orders.claim_opened": dict(
        ORDER,
        status="completed",
        claim={
            "id": "c1",
            "reason": "smudged print",
            "lines": [{"sku": "CARD-9", "quantity": 20}],
            "status": "open",
            "opened_by": "maria",
        },
    ),
    "orders.claim_resolved": dict(
        ORDER,
        status="completed",
        claim={
            "id": "c1",
            "reason": "smudged print",
            "lines": [{"sku": "CARD-9", "quantity": 20}],
            "status": "reprinted",
            "opened_by": "maria",
            "resolution_reason": "our fault",
            "reorder": {"order_id": "o2", "reference": "2026-000002"},
        },
        links=[{"kind": "reprinted_as", "order_id": "o2", "reference": "2026-000002"}],
    ),
    "orders.order_linked": dict(
        ORDER,
        status="completed",
        kind="duplicated_as",
        links=[{"kind": "duplicated_as", "order_id": "o3", "reference": "2026-000003"}],
    ),
    "orders.payment_status_changed": dict(ORDER, status="accepted", payment_status="paid"),
    "orders.client_registered": {
        "code": "ACME",
        "name": "Acme Ltd",
        "email": "buy@acme.example",
        "phone": "+44 113 496 0000",
        "default_address": ADDRESS,
        "active": True,
    },
    "orders.client_updated": {
        "code": "ACME",
        "name": "Acme Ltd",
        "email": "orders@acme.example",
        "phone": "+44 113 496 0000",
        "default_address": None,
        "active": True,
    },
    "orders.client_deactivated": {
        "code": "ACME",
        "name": "Acme Ltd",
        "email": "orders@acme.example",
        "phone": "+44 113 496 0000",
        "default_address": None,
        "active": False,
    },
    "orders.client_forgotten": {"subject": "client:ACME", "code": "ACME", "actor": "maria"},
    "orders.product_registered": {
        "sku": "MUG-1",
        "name": "Mug",
        "unit_price": "9.50",
        "currency": "EUR",
        "vat_rate": "20",
        "made_in_house": False,
        "distributors": ["acme", "zed"],
        "default_distributor": "acme",
        "active": True,
    },
    "orders.product_updated": {
        "sku": "MUG-1",
        "name": "Mug",
        "unit_price": "9.90",
        "currency": "EUR",
        "vat_rate": "20",
        "made_in_house": False,
        "distributors": ["acme"],
        "default_distributor": "acme",
        "active": False,
    },
    "production.production_order_finished": {
        "production_order_id": "p1",
        "order_id": "o1",
        "order_reference": "2026-000001",
        "sku": "CARD-9",
        "product_name": "Printed card",
        "quantity": 100,
        "status": "finished",
        "actor": "maria",
    },
    "billing.invoice_issued": {  # version 1 as first published: the optional fields are new
        "invoice_id": "i1",
        "order_id": "o1",
        "order_reference": "2026-000001",
        "client": CLIENT,
        "status": "unpaid",
        "total": "28.50",
        "currency": "EUR",
    },
    "billing.credit_note_issued": dict(DOCUMENT, kind="credit_note", status="issued"),
    "billing.pro_forma_issued": dict(DOCUMENT, kind="pro_forma", status="issued", due_on=None),
    "billing.invoice_voided": dict(
        DOCUMENT, status="voided", void_reason="order voided: duplicate", voided_by="maria"
    ),
    "billing.payment_recorded": dict(
        DOCUMENT,
        status="paid",
        payment_status="paid",
        paid="34.20",
        due="34.20",
        amount="34.20",
        method="online_gateway",
        reference="tx-1",
        paid_on="2026-11-22",
        source="gateway",
        actor="payment gateway",
        transaction_id="tx-1",
    ),
    "billing.payment_rejected": dict(
        DOCUMENT, transaction_id="tx-2", amount="34.20", rejection_reason="card declined"
    ),
    "billing.payment_channel_changed": dict(
        ACCOUNT, channel="cash", previous="online_gateway", reason="pays at pick-up", actor="maria"
    ),
    "production.production_order_created": {
        "production_order_id": "p1",
        "order_id": "o1",
        "order_reference": "2026-000001",
        "sku": "CARD-9",
        "product_name": "Printed card",
        "quantity": 100,
        "status": "planned",
    },
    **{
        f"production.{name}": dict(
            JOB,
            **extra,
            number="2026-000001-P1",
            produced=40,
            on_hold=False,
            planned_date="2026-12-01",
            rerun_of=None,
            actor="maria",
            version=4,
        )
        for name, extra in (
            ("production_order_released", {"status": "released"}),
            ("production_order_started", {"status": "in_progress"}),
            ("production_recorded", {"status": "in_progress", "produced_now": 40}),
            ("production_order_cancelled", {"status": "cancelled", "reason": "order voided"}),
            ("production_order_held", {"status": "released", "reason": "ink"}),
            ("production_order_resumed", {"status": "released", "reason": "ink came"}),
            ("production_file_attached", {"status": "planned"}),
            ("production_file_certified", {"status": "planned", "file_id": "f1"}),
            (
                "work_sheet_issued",
                {
                    "status": "released",
                    "work_sheet": {
                        "number": "2026-000001-P1",
                        "revision": 1,
                        "issued_on": "2026-12-02",
                        "sha256": "ab" * 32,
                    },
                },
            ),
        )
    },
    "fulfilment.purchase_order_raised": {
        "purchase_order_id": "po1",
        "order_id": "o1",
        "order_reference": "2026-000001",
        "shipping_id": "s1",
        "distributor": "acme",
        "lines": [{k: LINE[k] for k in ("sku", "name", "quantity", "unit_price", "currency")}],
        "status": "raised",
    },
    **{
        f"fulfilment.purchase_order_{name}": dict(PURCHASE_ORDER, status=status, **fields)
        for name, status, fields in (
            ("acknowledged", "acknowledged", {"reference": "D-1", "by": "callback"}),
            ("rejected", "rejected", {"reason": "discontinued", "by": "answer"}),
            ("costs_edited", "raised", {"reason": None, "actor": "maria"}),
            ("cancelled", "cancelled", {"reason": "void", "actor": None, "by_void": True}),
            ("received", "partially_received", {"actor": "maria"}),
            ("closed", "closed", {"reason": "short delivery", "actor": "maria"}),
        )
    },
    **{
        f"fulfilment.purchase_order_{name}": dict(
            PURCHASE_ORDER,
            kind="order",
            attempt=attempt,
            answer=answer,
            reference=None,
            retry_at=retry_at,
            send_channel="api",
        )
        for name, attempt, answer, retry_at in (
            ("send_deferred", 1, "HTTP 503: busy", 1764720000.5),
            ("send_failed", 8, "HTTP 422: bad sku", None),
        )
    },
    "fulfilment.purchase_order_sent": dict(
        PURCHASE_ORDER,
        kind="order",
        attempt=1,
        answer="handed to notify for am@acme.example",
        reference=None,
        retry_at=None,
        send_channel="email",
        recipient="am@acme.example",
        document={
            "filename": "PO-2026-000001-1.pdf",
            "content_type": "application/pdf",
            "sha256": "ab" * 32,
            "content": "JVBERi0=",
        },
    ),
    **{
        f"fulfilment.distributor_{name}": {
            "code": "acme",
            "name": "Acme Supplies",
            "channel": "api",
            "live": True,
            "feed": False,
            "active": True,
            "version": version,
        }
        for name, version in (("registered", 1), ("updated", 2))
    },
    "fulfilment.courier_registered": {
        "code": "jan",
        "name": "Jan Kowalski",
        "email": "jan@couriers.example",
        "phone": "+48600100200",
        "active": True,
        "version": 1,
    },
    **{
        f"fulfilment.courier_{name}": {
            "run_id": "r1",
            "order_id": "o1",
            "order_reference": "2026-000001",
            "shipping_id": "s1",
            "courier": {
                "code": "jan",
                "name": "Jan Kowalski",
                "email": "jan@couriers.example",
                "phone": "+48600100200",
            },  # fmt: skip
            "client": {
                "name": "Ada Lovelace",
                "email": "ada@example.com",
                "phone": "+442079460000",
                "language": None,
            },  # fmt: skip
            "address": {
                "line1": "12 St James's Sq",
                "city": "London",
                "postcode": "SW1Y 4JH",
                "country": "GB",
            },  # fmt: skip
            "lines": [{"sku": "MUG-1", "name": "Mug", "quantity": 3}],
            "planned_date": "2026-12-20",
            "eta": "2026-12-02T14:30+00:00",
            "generation": 1,
            "expires": 1764950000,
            "delivered": delivered,
            "version": version,
        }
        for name, delivered, version in (
            ("assigned", None, 1),
            (
                "delivered",
                {"at": "2026-12-02T14:05:00+00:00", "by": "courier jan", "generation": 1},
                2,
            ),  # fmt: skip
        )
    },
    "notify.notification_queued": {
        "notification_id": "n1",
        "order_id": "o1",
        "recipient": {"sealed": "client:ACME", "box": "bm9uY2UrY2lwaGVydGV4dA=="},
        "channel": "email",
        "subject": "Order 2026-000001 accepted",
        "status": "sending",
        "source_event": "orders:2",
        "event_type": "orders.order_accepted",
        "policy": "auto",
        "language": "en",
        "client_subject": "client:ACME",
    },
    **{
        f"notify.notification_{name}": {
            "notification_id": "n1",
            "order_id": "o1",
            "recipient": "+48600100200",
            "channel": "sms",
            "subject": "Order 2026-000001 accepted",
            "status": status,
            "source_event": "orders:2",
            "event_type": "orders.order_accepted",
            "policy": "auto",
            "language": "pl",
            "client_subject": None,  # written before sealing: the number as it was
            "send_id": "n1:2",
            "attempt": 1,
            "outcome": outcome,
            "answer": answer,
            "retry_at": retry_at,
        }
        for name, status, outcome, answer, retry_at in (
            ("sent", "sent", "sent", "HTTP 200: {}", None),
            ("deferred", "sending", "retry", "HTTP 503: busy", 1764720000.5),
            ("failed", "failed", "failed", "status 3: Invalid Message", None),
        )
    },
    "notify.policy_changed": {
        "event_type": "orders.order_placed",
        "policy": "manual",
        "actor": "maria",
    },
}


def test_every_registered_contract_has_a_pinned_sample():
    assert set(REGISTRY) == set(SAMPLES)


@pytest.mark.parametrize("event_type", sorted(SAMPLES))
def test_a_sample_payload_survives_load_and_dump_unchanged(event_type):
    sample = SAMPLES[event_type]
    assert dump(event_type, load(event_type, sample)) == sample
    assert REGISTRY[event_type].version == VERSIONS.get(event_type, 1)


# version 2: the client's personal fields and the addresses are sealed (shared/personal.py)
VERSIONS = {
    t: 2
    for t in SAMPLES
    if t.startswith("orders.") and not t.startswith(("orders.product_", "orders.client_forgotten"))
}
VERSIONS.update({t: 2 for t in SAMPLES if t.startswith("billing.")})  # the client, as it came
# notify's version 2: a client's address (recipient) sealed, the client's subject named
VERSIONS |= {f"notify.notification_{n}": 2 for n in ("queued", "sent", "deferred", "failed")}


def test_personal_fields_travel_sealed_and_a_broken_seal_is_refused():
    key = sealing.new_key()
    sample = copy.deepcopy(SAMPLES["orders.order_placed"])
    sample["client"] = personal.seal_client(sample["client"], key, "client:ACME")
    address = sample["shippings"][0]["address"]
    sample["shippings"][0]["address"] = personal.seal_address(address, key, "client:ACME")
    assert sealing.is_sealed(sample["client"]["email"])
    assert dump("orders.order_placed", load("orders.order_placed", sample)) == sample

    sample["client"]["name"] = {"sealed": "client:ACME"}  # no box
    with pytest.raises(ValidationError, match="sealed"):
        load("orders.order_placed", sample)


def test_a_payload_that_breaks_its_contract_is_refused():
    broken = dict(SAMPLES["orders.order_accepted"])
    del broken["lines"]
    with pytest.raises(ValueError, match="lines"):
        dump("orders.order_accepted", broken)


def test_the_envelope_is_cloudevents_with_sequence_and_correlation():
    env = envelope.build(
        "orders",
        7,
        "order_accepted",
        1,
        "o1",
        "2026-11-22T10:00:00+00:00",
        SAMPLES["orders.order_accepted"],
        "corr-1",
        "rpc:42",
    )
    assert (
        env["specversion"] == "1.0"
        and env["id"] == "orders:7"
        and env["type"] == "orders.order_accepted"
    )
    assert (env["sequence"], env["correlationid"], env["causationid"]) == (7, "corr-1", "rpc:42")
    assert envelope.name_of(env) == "order_accepted" and envelope.service_of(env) == "orders"
    assert envelope.EnvelopeSchema().load(env)["subject"] == "o1"
