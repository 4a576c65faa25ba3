"""Billing's RPC and callback payloads: what each call accepts (strictly)."""

from datetime import UTC, datetime, timedelta

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate, validates_schema

from services.billing.domain import CHANNELS, PAYMENT_STATUSES
from services.billing.projections import SORTS
from shared.validation import Currency, MoneyAmount, Strict, StrictBool, Text

DOCUMENT_STATUSES = (*PAYMENT_STATUSES, "issued")
KINDS = ("invoice", "supplementary", "credit_note", "pro_forma")


def today():
    return datetime.now(UTC).date()


class PaymentIn(Strict):
    amount = MoneyAmount(required=True)
    currency = Currency()  # the invoice's when left out; another currency is refused
    method = fields.String(required=True, validate=validate.OneOf(CHANNELS))
    reference = Text(required=True, max_length=200)
    paid_on = fields.Date(load_default=today)

    @validates_schema
    def check_payment(self, data, **kwargs):
        if "amount" in data and data["amount"] <= 0:
            raise ValidationError("Must be more than 0.", "amount")
        if "paid_on" in data and data["paid_on"] > today() + timedelta(days=1):
            raise ValidationError("A payment cannot be dated in the future.", "paid_on")


class ChannelIn(Strict):
    channel = fields.String(required=True, validate=validate.OneOf(CHANNELS))
    reason = Text(required=True, max_length=500)


class ListInvoicesIn(Strict):
    sort = fields.String(load_default="number", validate=validate.OneOf(SORTS))
    direction = fields.String(load_default="desc", validate=validate.OneOf(("asc", "desc")))
    statuses = fields.List(
        fields.String(validate=validate.OneOf(DOCUMENT_STATUSES)), validate=validate.Length(max=10)
    )
    kinds = fields.List(
        fields.String(validate=validate.OneOf(KINDS)), validate=validate.Length(max=4)
    )
    client_code = Text(max_length=64)
    client = Text(max_length=200)
    order_id = Text(max_length=64)
    issued_from = fields.Date()
    issued_to = fields.Date()
    overdue = StrictBool(allow_none=True)
    overdue_on = fields.Date(load_default=today)  # overdue means due before this day and unpaid
    limit = fields.Integer(strict=True, load_default=50, validate=validate.Range(min=1, max=500))
    cursor = Text(max_length=500, allow_none=True)  # null or absent: the first page

    @validates_schema
    def check_range(self, data, **kwargs):
        if (
            data.get("issued_from")
            and data.get("issued_to")
            and data["issued_from"] > data["issued_to"]
        ):
            raise ValidationError("Must not be before issued_from.", "issued_to")


class GatewayCallbackIn(Schema):
    """What the payment gateway posts; fields it adds that we do not use are ignored."""

    class Meta:
        unknown = EXCLUDE

    transaction_id = Text(required=True, max_length=200)
    invoice_id = Text(required=True, max_length=64)
    outcome = fields.String(required=True, validate=validate.OneOf(("confirmed", "rejected")))
    amount = MoneyAmount(required=True)
    currency = Currency(required=True)
    reason = Text(load_default=None, allow_none=True, max_length=500)
