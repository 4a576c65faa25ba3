"""What fulfilment takes: distributors, cost edits, receipts, callbacks, stock questions, couriers
(views.py: what it answers)."""

import phonenumbers
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from shared.validation import Currency, MoneyAmount, Quantity, Strict, StrictBool, Text

CODE = validate.Regexp(
    r"^[a-z0-9][a-z0-9_-]{0,63}$",
    error="Must be 1-64 lower-case letters, digits, - or _, starting with a letter or digit.",
)
COUNTRY = validate.Regexp(r"^[A-Z]{2}$", error="Must be an ISO 3166 alpha-2 code such as GB.")


class Url(fields.Url):
    def __init__(self, **kwargs):
        super().__init__(schemes={"http", "https"}, require_tld=False, **kwargs)


class OrderingIn(Strict):
    """How purchase orders reach the distributor: `{"channel": "api", "url": "https://…/orders",
    "credential": "…"}` or `{"channel": "email"}` (the PDF to its account manager)."""

    channel = fields.String(required=True, validate=validate.OneOf(("api", "email")))
    url = Url(load_default=None, allow_none=True)
    credential = Text(load_default=None, allow_none=True, max_length=500)

    @validates_schema
    def _api_needs_url(self, data, **kwargs):
        if data["channel"] == "api" and not data.get("url"):
            raise ValidationError("Required when the channel is api.", "url")


class LiveIn(Strict):
    """A live stock-and-price API: `GET <url>?skus=A,B` answers `{"items": [{"sku", "stock",
    "cost_price"}]}`."""

    url = Url(required=True)
    credential = Text(load_default=None, allow_none=True, max_length=500)


class FeedIn(Strict):
    """A stock-and-price feed (CSV or JSON, at a URL or in a file) and how often it is read."""

    format = fields.String(required=True, validate=validate.OneOf(("csv", "json")))
    source = Text(required=True, max_length=1000)
    interval_seconds = fields.Integer(
        strict=True, load_default=3600, validate=validate.Range(min=10, max=7 * 86400)
    )


class BandIn(Strict):
    up_to_kg = MoneyAmount(required=True)
    charge = MoneyAmount(required=True)


class DeliveryIn(Strict):
    """`{"flat": "9.00"}` or `{"bands": [{"up_to_kg": "5", "charge": "7.50"}, …]}`."""

    flat = MoneyAmount()
    bands = fields.List(fields.Nested(BandIn), validate=validate.Length(min=1, max=50))

    @validates_schema
    def _one_kind(self, data, **kwargs):
        if ("flat" in data) == ("bands" in data):
            raise ValidationError("Give either flat or bands.", "_schema")
        limits = [band["up_to_kg"] for band in data.get("bands", ())]
        if limits != sorted(set(limits)):
            raise ValidationError("Bands must go up in weight, each once.", "bands")


class DistributorIn(Strict):
    name = Text(required=True, max_length=200)
    account_manager_email = fields.Email(required=True, validate=validate.Length(max=254))
    currency = Currency(load_default="EUR")
    ordering = fields.Nested(OrderingIn, required=True)
    live = fields.Nested(LiveIn, load_default=None, allow_none=True)
    feed = fields.Nested(FeedIn, load_default=None, allow_none=True)
    delivery = fields.Nested(DeliveryIn, load_default=None, allow_none=True)
    lead_time_days = fields.Integer(
        strict=True, load_default=1, validate=validate.Range(min=0, max=365)
    )
    delivers_to = fields.List(fields.String(validate=COUNTRY), load_default=list)
    active = StrictBool(load_default=True)


class DistributorChangesIn(Strict):
    name = Text(max_length=200)
    account_manager_email = fields.Email(validate=validate.Length(max=254))
    currency = Currency()
    ordering = fields.Nested(OrderingIn)
    live = fields.Nested(LiveIn, allow_none=True)
    feed = fields.Nested(FeedIn, allow_none=True)
    delivery = fields.Nested(DeliveryIn, allow_none=True)
    lead_time_days = fields.Integer(strict=True, validate=validate.Range(min=0, max=365))
    delivers_to = fields.List(fields.String(validate=COUNTRY))
    active = StrictBool()


class CostsIn(Strict):
    """`{"costs": {"MUG-1": "4.10"}, "reason": "agreed on the phone"}`."""

    costs = fields.Dict(
        keys=Text(max_length=100),
        values=MoneyAmount(),
        required=True,
        validate=validate.Length(min=1, max=500),
    )
    reason = Text(load_default=None, allow_none=True, max_length=1000)


class ReceivedLineIn(Strict):
    sku = Text(required=True, max_length=100)
    quantity = Quantity(required=True)


class ReceiveIn(Strict):
    lines = fields.List(
        fields.Nested(ReceivedLineIn), required=True, validate=validate.Length(min=1, max=500)
    )


class CallbackIn(Schema):
    """A distributor's answer; fields it adds beyond these are ignored."""

    purchase_order_id = fields.UUID(required=True)
    status = fields.String(required=True, validate=validate.OneOf(("acknowledged", "rejected")))
    reference = Text(load_default=None, allow_none=True, max_length=200)
    reason = Text(load_default=None, allow_none=True, max_length=1000)

    class Meta:
        unknown = "exclude"


class WantedIn(Strict):
    sku = Text(required=True, max_length=100)
    quantity = Quantity(load_default=1)


class AvailabilityIn(Strict):
    """`{"lines": [{"sku": "MUG-1", "quantity": 3}], "deadline_ms": 800}`."""

    lines = fields.List(
        fields.Nested(WantedIn), required=True, validate=validate.Length(min=1, max=100)
    )
    deadline_ms = fields.Integer(
        strict=True, load_default=None, allow_none=True, validate=validate.Range(min=50, max=10000)
    )

    @validates_schema
    def _each_sku_once(self, data, **kwargs):
        skus = [x["sku"] for x in data.get("lines", ())]
        if len(skus) != len(set(skus)):
            raise ValidationError("Name each sku once.", "lines")


class AvailabilityQueryIn(Strict):
    """`?skus=MUG-1,PEN-3&quantity=2`: the same quantity of each."""

    skus = Text(required=True, max_length=500)  # the URL stays under the server's limit
    quantity = fields.Integer(load_default=1, validate=validate.Range(min=1, max=1_000_000))
    deadline_ms = fields.Integer(
        load_default=None, allow_none=True, validate=validate.Range(min=50, max=10000)
    )


class DestinationIn(Schema):
    """Where the goods go: an address (`country` decides who delivers there)."""

    country = fields.String(required=True, validate=COUNTRY)
    line1 = Text(max_length=200)
    line2 = Text(max_length=200, allow_none=True)
    city = Text(max_length=100)
    postcode = Text(max_length=20)

    class Meta:
        unknown = "raise"


class BestSourceIn(AvailabilityIn):
    """`{"lines": [...], "destination": {"country": "GB", …}}`."""

    destination = fields.Nested(DestinationIn, required=True)


class Phone(fields.String):
    """A phone number in the international format (SMS goes to it): `+48 600 100 200`."""

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs).strip()
        try:
            parsed = phonenumbers.parse(text, None)
        except phonenumbers.NumberParseException:
            parsed = None
        if parsed is None or not phonenumbers.is_valid_number(parsed):
            raise ValidationError(
                "Must be a valid number in the international format, e.g. +48 600 100 200."
            )
        return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


class CourierIn(Strict):
    """`{"name": "Jan", "email": "jan@couriers.example", "phone": "+48 600 100 200"}`."""

    name = Text(required=True, max_length=200)
    email = fields.Email(required=True, validate=validate.Length(max=254))
    phone = Phone(required=True, validate=validate.Length(max=40))
    active = StrictBool(load_default=True)


class AssignIn(Strict):
    courier = Text(required=True, max_length=64)
