"""The billing application on its own store: settings, and stores written before accounts."""

from dataclasses import replace
from decimal import Decimal
from uuid import uuid4

import pytest

from services.billing.application import BillingApplication
from services.billing.legacy import LegacyInvoice
from shared.settings import Settings, SettingsError


def test_an_unknown_invoicing_moment_is_refused_at_start():
    with pytest.raises(
        SettingsError, match="OMS_INVOICE_ON must be accept or dispatch, not 'shipping'"
    ):
        Settings.load({"INVOICE_ON": "shipping"})


def test_an_invoice_stored_under_the_old_topic_is_published_as_before(tmp_path):
    """Invoices stored as `services.billing.domain:Invoice` (before accounts) still replay."""
    app = BillingApplication(f"sqlite:///{tmp_path}/billing.sqlite3")
    line = {
        "sku": "MUG-1",
        "name": "Mug",
        "quantity": 3,
        "unit_price": Decimal("9.50"),
        "currency": "EUR",
    }
    client = {"name": "Ada", "email": "ada@example.com", "phone": "1"}
    invoice = LegacyInvoice(
        id=uuid4(),
        order_id="o1",
        order_reference="2026-000001",
        client=client,
        lines=[line],
        currency="EUR",
    )
    (stored,) = [app.mapper.to_stored_event(e) for e in invoice.collect_events()]
    assert stored.topic == "services.billing.legacy:LegacyInvoice.Issued"
    app.recorder.insert_events([replace(stored, topic="services.billing.domain:Invoice.Issued")])

    (published,) = app.events_after(0, 10)
    assert (published["type"], published["subject"]) == ("billing.invoice_issued", str(invoice.id))
    assert published["data"] == {
        "invoice_id": str(invoice.id),
        "order_id": "o1",
        "order_reference": "2026-000001",
        "client": client,
        "status": "unpaid",
        "total": "28.50",
        "currency": "EUR",
    }


def test_each_series_numbers_from_1_again_in_a_new_year(tmp_path):
    app = BillingApplication(f"sqlite:///{tmp_path}/billing.sqlite3")
    with app.transaction() as session:
        taken = [
            (series, year, app._next_number(session, series, year))
            for series, year in [
                ("INV", 2026),
                ("INV", 2026),
                ("CN", 2026),
                ("INV", 2027),
                ("INV", 2026),
            ]
        ]
    assert taken == [
        ("INV", 2026, 1),
        ("INV", 2026, 2),
        ("CN", 2026, 1),
        ("INV", 2027, 1),
        ("INV", 2026, 3),
    ]


def test_a_number_taken_in_a_transaction_that_fails_is_not_used_up(tmp_path):
    app = BillingApplication(f"sqlite:///{tmp_path}/billing.sqlite3")
    with pytest.raises(RuntimeError):
        with app.transaction() as session:
            assert app._next_number(session, "INV", 2026) == 1
            raise RuntimeError("the document could not be stored")
    with app.transaction() as session:
        assert app._next_number(session, "INV", 2026) == 1
