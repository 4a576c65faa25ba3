"""Orders' RPC payloads: what place_order accepts, and how an order is shown."""

from marshmallow import EXCLUDE, RAISE, Schema, ValidationError, fields, validate, validates_schema

from shared.validation import Currency, MoneyAmount, Quantity, StrictBool, Text

CHANNELS = ("storefront", "phone", "chat", "email", "quote", "import")
PAYMENT_METHODS = ("cash", "card", "bank_transfer", "online_gateway")


class Strict(Schema):
    class Meta:
        unknown = RAISE


class ClientIn(Strict):
    name = Text(required=True, max_length=200)
    email = fields.Email(required=True, validate=validate.Length(max=254))
    phone = Text(required=True, max_length=40)


class LineIn(Strict):
    sku = Text(required=True, max_length=64)
    name = Text(required=True, max_length=200)
    quantity = Quantity(required=True)
    unit_price = MoneyAmount(required=True)
    currency = Currency(required=True)
    distributor = Text(required=True, allow_none=True, max_length=100)
    made_in_house = StrictBool(required=True)

    @validates_schema
    def check_supplier(self, data, **kwargs):
        if not data.get("made_in_house") and not data.get("distributor"):
            raise ValidationError("Required unless the line is made in house.", "distributor")


class AddressIn(Strict):
    line1 = Text(required=True, max_length=200)
    line2 = Text(load_default=None, allow_none=True, max_length=200)
    city = Text(required=True, max_length=100)
    postcode = Text(required=True, max_length=20)
    country = fields.String(
        required=True,
        validate=validate.Regexp(r"^[A-Z]{2}$", error="Must be a 2-letter ISO 3166 code."),
    )


class ShippingLineIn(Strict):
    sku = Text(required=True, max_length=64)
    quantity = Quantity(required=True)


class ShippingIn(Strict):
    planned_date = fields.Date(required=True)
    address = fields.Nested(AddressIn, required=True)
    lines = fields.List(
        fields.Nested(ShippingLineIn), required=True, validate=validate.Length(min=1, max=500)
    )


class OrderIn(Strict):
    client = fields.Nested(ClientIn, required=True)
    channel = fields.String(required=True, validate=validate.OneOf(CHANNELS))
    lines = fields.List(
        fields.Nested(LineIn), required=True, validate=validate.Length(min=1, max=500)
    )
    shippings = fields.List(
        fields.Nested(ShippingIn), required=True, validate=validate.Length(min=1, max=50)
    )
    payment_method = fields.String(
        load_default=None, allow_none=True, validate=validate.OneOf(PAYMENT_METHODS)
    )
    note = Text(load_default=None, allow_none=True, max_length=2000)

    @validates_schema
    def check_lines_and_shippings(self, data, **kwargs):
        lines, shippings = data.get("lines") or [], data.get("shippings") or []
        errors = {}
        ordered: dict[str, int] = {}
        for i, line in enumerate(lines):
            if line["sku"] in ordered:
                errors[f"lines.{i}.sku"] = [
                    f"Duplicate sku {line['sku']}: give each product one line."
                ]
            ordered[line["sku"]] = line["quantity"]
        if len({line["currency"] for line in lines}) > 1:
            errors["lines.currency"] = ["All lines of an order must share one currency."]
        shipped: dict[str, int] = {}
        for i, shipping in enumerate(shippings):
            for j, sline in enumerate(shipping["lines"]):
                if sline["sku"] not in ordered:
                    errors[f"shippings.{i}.lines.{j}.sku"] = [
                        f"Unknown sku {sline['sku']}: not a line of the order."
                    ]
                shipped[sline["sku"]] = shipped.get(sline["sku"], 0) + sline["quantity"]
        for sku, quantity in ordered.items():
            if shipped.get(sku, 0) != quantity:
                errors.setdefault("shippings", []).append(
                    f"Shippings carry {shipped.get(sku, 0)} of {sku} but the order has {quantity}: they must add up."
                )
        if errors:
            raise ValidationError(errors)


class DeclineIn(Strict):
    reason = Text(required=True, max_length=1000)


class OrderOut(Schema):
    class Meta:
        unknown = EXCLUDE

    id = fields.String()
    reference = fields.String()
    status = fields.String()
    client = fields.Dict()
    channel = fields.String()
    lines = fields.Method("dump_lines")
    shippings = fields.List(fields.Dict())
    payment_method = fields.String(allow_none=True)
    note = fields.String(allow_none=True)
    total = fields.Function(lambda order: str(order.total))
    currency = fields.String()
    decline_reason = fields.String(allow_none=True)
    version = fields.Integer()

    def dump_lines(self, order):
        return [dict(line, unit_price=str(line["unit_price"])) for line in order.lines]
