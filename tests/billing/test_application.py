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
