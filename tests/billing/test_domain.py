"""The billing account on its own: documents, corrections, voids, payments and channels."""

from datetime import UTC, date, datetime
from decimal import Decimal
from uuid import uuid4

import pytest

from services.billing.domain import Account, BillingRefused, Issue

MUG = {
    "sku": "MUG-1",
    "name": "Mug",
    "quantity": 3,
    "unit_price": Decimal("9.50"),
    "vat_rate": Decimal("20"),
}
CARD = {
    "sku": "CARD-9",
    "name": "Card",
    "quantity": 100,
    "unit_price": Decimal("0.35"),
    "vat_rate": Decimal("10"),
}


class Numbers:
    """A counter per series, as the application's counter table behaves."""

    def __init__(self):
        self.last: dict[str, int] = {}

    def take(self, series: str) -> tuple[int, int]:
        self.last[series] = self.last.get(series, 0) + 1
        return 2026, self.last[series]


@pytest.fixture
def issue():
    return Issue(
        Numbers().take,
        lambda: {"name": "Ada", "address": None},
        date(2026, 11, 22),
        date(2026, 12, 6),
    )


def account(status="new", lines=(MUG, CARD)) -> Account:
    order = {"order_id": "o1", "reference": "2026-000001", "client": {"name": "Ada"}}
    return Account(
        id=uuid4(),
        order=dict(
            order, currency="EUR", lines=list(lines), status=status, payment_method="online_gateway"
        ),
    )


def pay(amount: str, reference: str, method: str = "bank_transfer") -> dict:
    return {
        "amount": Decimal(amount),
        "method": method,
        "reference": reference,
        "paid_on": "2026-11-22",
        "actor": "maria",
        "source": "operator",
        "transaction_id": None,
        "signed_at": None,
    }


def test_an_accepted_order_gets_exactly_one_invoice_with_the_next_number(issue):
    acc = account()
    acc.follow_order("accepted")
    invoice = acc.invoice_order(issue)
    assert acc.invoice_order(issue) is None
    assert (invoice["number"], invoice["kind"], invoice["due_on"]) == (
        "INV-2026-000001",
        "invoice",
        "2026-12-06",
    )
    # 28.50 at 20% and 35.00 at 10%
    assert (invoice["net"], invoice["tax"], invoice["gross"]) == (
        Decimal("63.50"),
        Decimal("9.20"),
        Decimal("72.70"),
    )
    assert acc.status_of(invoice) == acc.payment_status == "unpaid"


def test_payments_move_an_invoice_from_unpaid_to_partially_paid_to_paid_to_overpaid(issue):
    acc = account()
    invoice = acc.invoice_order(issue)
    seen = []
    for amount, ref in (("20.00", "t1"), ("52.70", "t2"), ("1.00", "t3")):
        assert acc.record_payment(invoice["id"], pay(amount, ref))
        seen.append((acc.status_of(invoice), str(acc.paid(invoice))))
    assert seen == [("partially_paid", "20.00"), ("paid", "72.70"), ("overpaid", "73.70")]
    assert acc.refund_due == Decimal("1.00")


def test_the_same_payment_reference_is_recorded_once(issue):
    acc = account()
    invoice = acc.invoice_order(issue)
    assert acc.record_payment(invoice["id"], pay("10.00", "TRF-1"))
    assert not acc.record_payment(invoice["id"], pay("10.00", "TRF-1"))
    assert acc.paid(invoice) == Decimal("10.00")


def test_a_voided_invoice_cannot_be_paid_and_money_received_becomes_a_refund_due(issue):
    acc = account()
    invoice = acc.invoice_order(issue)
    acc.record_payment(invoice["id"], pay("30.00", "t1"))
    assert acc.void(invoice["id"], "issued in error", "maria", datetime.now(UTC))
    assert not acc.void(invoice["id"], "again", "maria", datetime.now(UTC))
    assert (
        invoice["voided"]["refund_due"] == Decimal("30.00")
        and invoice["voided"]["reason"] == "issued in error"
    )
    assert acc.status_of(invoice) == acc.payment_status == "voided"
    assert acc.refund_due == Decimal("30.00")
    with pytest.raises(BillingRefused) as refused:
        acc.record_payment(invoice["id"], pay("42.70", "t2"))
    assert refused.value.rule == "invoice_voided"


def test_a_pro_forma_is_for_a_placed_order_and_is_reissued_only_when_the_order_changed(issue):
    acc = account()
    first = acc.pro_forma(issue)
    assert acc.pro_forma(issue) is first and first["number"] == "PF-2026-000001"
    acc.correct([MUG], "card dropped", "maria", issue)
    second = acc.pro_forma(issue)
    assert second["number"] == "PF-2026-000002" and second["gross"] == Decimal("34.20")
    with pytest.raises(BillingRefused) as refused:
        acc.record_payment(first["id"], pay("1.00", "x"))
    assert refused.value.rule == "not_payable"
    acc.follow_order("accepted")
    with pytest.raises(BillingRefused) as refused:
        acc.pro_forma(issue)
    assert refused.value.rule == "order_not_new"
    assert acc.payment_status is None  # a pro-forma is owed by nobody


def test_an_edit_after_issue_credits_what_was_removed_and_invoices_what_was_added(issue):
    acc = account()
    invoice = acc.invoice_order(issue)
    fewer_mugs = dict(MUG, quantity=1)
    stickers = {
        "sku": "ST-1",
        "name": "Sticker",
        "quantity": 10,
        "unit_price": Decimal("0.10"),
        "vat_rate": Decimal("0"),
    }
    credit, supplementary = acc.correct(
        [fewer_mugs, CARD, stickers], "client changed it", "maria", issue
    )
    assert (credit["kind"], credit["number"], credit["corrects"]) == (
        "credit_note",
        "CN-2026-000001",
        invoice["id"],
    )
    assert [(li["sku"], li["quantity"]) for li in credit["lines"]] == [("MUG-1", 2)]
    assert credit["gross"] == Decimal("22.80")
    assert (supplementary["kind"], supplementary["number"]) == ("supplementary", "INV-2026-000002")
    assert [(li["sku"], li["quantity"]) for li in supplementary["lines"]] == [("ST-1", 10)]
    assert invoice["gross"] == Decimal("72.70")  # the invoice itself never changes
    assert acc.due(invoice) == Decimal("49.90")
    acc.record_payment(invoice["id"], pay("49.90", "t1"))
    assert (acc.status_of(invoice), acc.payment_status) == ("paid", "partially_paid")
    acc.record_payment(supplementary["id"], pay("1.00", "t2"))
    assert acc.payment_status == "paid"
    assert acc.correct([fewer_mugs, CARD, stickers], None, "maria", issue) == []  # nothing changed


def test_an_edit_back_to_what_was_invoiced_credits_the_supplement(issue):
    acc = account()
    acc.invoice_order(issue)
    acc.correct([dict(MUG, quantity=5), CARD], None, "maria", issue)
    (credit,) = acc.correct([MUG, CARD], None, "maria", issue)
    assert [(li["sku"], li["quantity"]) for li in credit["lines"]] == [("MUG-1", 2)]
    assert acc.payment_status == "unpaid" and acc.refund_due == 0


def test_voiding_the_order_voids_every_invoice_it_has(issue):
    acc = account()
    invoice = acc.invoice_order(issue)
    (supplementary,) = acc.correct([dict(MUG, quantity=4), CARD], None, "maria", issue)
    assert acc.void_all("order voided: client cancelled", "maria", datetime.now(UTC))
    assert [acc.status_of(d) for d in (invoice, supplementary)] == ["voided", "voided"]
    assert not acc.void_all("again", "maria", datetime.now(UTC))
    assert acc.correct([MUG], None, "maria", issue) == []  # nothing live to correct


def test_a_credit_note_or_pro_forma_is_not_voided(issue):
    acc = account()
    pro_forma = acc.pro_forma(issue)
    with pytest.raises(BillingRefused) as refused:
        acc.void(pro_forma["id"], "no", "maria", datetime.now(UTC))
    assert refused.value.rule == "not_voidable"


def test_invoicing_on_dispatch_invoices_each_shipping_once(issue):
    acc = account(status="accepted")
    first = acc.invoice_shipping("s1", [dict(MUG, quantity=2)], issue)
    assert acc.invoice_shipping("s1", [dict(MUG, quantity=2)], issue) is None
    second = acc.invoice_shipping("s2", [dict(MUG, quantity=1), CARD], issue)
    assert (first["number"], second["number"]) == ("INV-2026-000001", "INV-2026-000002")
    assert (first["shipping_id"], first["gross"]) == ("s1", Decimal("22.80"))
    assert (
        acc.correct([MUG], None, "maria", issue) == []
    )  # no invoice of the whole order to correct


def test_the_payment_channel_change_keeps_who_and_why(issue):
    acc = account()
    assert acc.change_channel("cash", "pays at pick-up", "maria")
    assert not acc.change_channel("cash", "again", "maria")
    assert acc.channel == "cash"
    assert acc.channel_changes == [
        {
            "channel": "cash",
            "previous": "online_gateway",
            "reason": "pays at pick-up",
            "actor": "maria",
        }
    ]


def test_a_gateway_rejection_is_kept_once_and_leaves_the_invoice_open(issue):
    acc = account()
    invoice = acc.invoice_order(issue)
    rejection = {"transaction_id": "tx-1", "amount": Decimal("72.70"), "reason": "declined"}
    assert acc.reject_payment(invoice["id"], rejection)
    assert not acc.reject_payment(invoice["id"], rejection)
    assert [r["transaction_id"] for r in acc.rejections] == ["tx-1"]
    assert acc.status_of(invoice) == "unpaid"
