"""Orders' RPC payloads: what each call accepts (strictly), and how orders and catalogue entries
are shown."""

from marshmallow import ValidationError, fields, validate, validates_schema

from services.orders.domain import STATUSES
from services.orders.queries import SORTS
from shared.validation import Currency, MoneyAmount, Quantity, Strict, StrictBool, Text

CHANNELS = ("storefront", "phone", "chat", "email", "quote", "import")
PAYMENT_METHODS = ("cash", "card", "bank_transfer", "online_gateway")
NOTE_KINDS = ("internal", "production", "client")
PRODUCTION_POLICIES = ("on_accept", "on_demand")


def listing(nested, max_length: int, **kwargs):
    return fields.List(
        fields.Nested(nested), validate=validate.Length(min=1, max=max_length), **kwargs
    )


LANGUAGE = validate.Regexp(r"^[a-z]{2}$", error="Must be a 2-letter ISO 639-1 code such as pl.")


class ClientIn(Strict):
    name = Text(required=True, max_length=200)
    email = fields.Email(required=True, validate=validate.Length(max=254))
    phone = Text(required=True, max_length=40)
    #: the language messages to the client are written in (notify falls back to its default)
    language = fields.String(validate=LANGUAGE)


class AddressIn(Strict):
    line1 = Text(required=True, max_length=200)
    line2 = Text(load_default=None, allow_none=True, max_length=200)
    city = Text(required=True, max_length=100)
    postcode = Text(required=True, max_length=20)
    country = fields.String(
        required=True,
        validate=validate.Regexp(r"^[A-Z]{2}$", error="Must be a 2-letter ISO 3166 code."),
    )


class Weight(MoneyAmount):
    """Kilograms as a decimal string ("0.350"), at most 100 tonnes."""

    def _deserialize(self, value, attr, data, **kwargs):
        weight = super()._deserialize(value, attr, data, **kwargs)
        if weight > 100_000:
            raise ValidationError("At most 100000 (kilograms).")
        return weight


class CostPrices(fields.Dict):
    """{distributor code: cost price as a decimal string}."""

    def __init__(self, **kwargs):
        super().__init__(
            keys=Text(max_length=100),
            values=MoneyAmount(),
            validate=validate.Length(max=50),
            **kwargs,
        )


class VatRate(MoneyAmount):
    """A VAT rate in percent, as a decimal string: "23", "7.7", "0"."""

    def _deserialize(self, value, attr, data, **kwargs):
        rate = super()._deserialize(value, attr, data, **kwargs)
        if rate > 100:
            raise ValidationError("Must be a percentage from 0 to 100.")
        return rate


class LineIn(Strict):
    """A catalogue line names a sku and a quantity (and may pick one of its distributors); a line
    described in full (name, price, currency, made in house, VAT) is taken as given. `vat_rate`
    may be left out, as the first release's storefront contract did: the catalogue's rate for a
    known sku is used, else OMS_DEFAULT_VAT_RATE."""

    sku = Text(required=True, max_length=64)
    quantity = Quantity(required=True)
    distributor = Text(allow_none=True, max_length=100)
    name = Text(max_length=200)
    unit_price = MoneyAmount()
    currency = Currency()
    vat_rate = VatRate()
    made_in_house = StrictBool()

    @validates_schema
    def check_described_in_full(self, data, **kwargs):
        described = {"name", "unit_price", "currency", "made_in_house"}  # and maybe vat_rate
        given = described & set(data)
        if (given or "vat_rate" in data) and given != described:
            missing = sorted(described - given)
            raise ValidationError(
                {k: ["Required when a line is described in full."] for k in missing}
            )
        if given and not data["made_in_house"] and not data.get("distributor"):
            raise ValidationError("Required unless the line is made in house.", "distributor")


class ShippingLineIn(Strict):
    sku = Text(required=True, max_length=64)
    quantity = Quantity(required=True)


class ShippingIn(Strict):
    planned_date = fields.Date(required=True)
    address = fields.Nested(AddressIn, load_default=None)  # default: the client's address
    lines = listing(ShippingLineIn, 500, required=True)


class OrderIn(Strict):
    client = fields.Nested(ClientIn)
    client_code = Text(max_length=64)
    title = Text(max_length=200)
    channel = fields.String(required=True, validate=validate.OneOf(CHANNELS))
    lines = listing(LineIn, 500, required=True)
    shippings = listing(ShippingIn, 50, required=True)
    payment_method = fields.String(
        load_default=None, allow_none=True, validate=validate.OneOf(PAYMENT_METHODS)
    )
    note = Text(load_default=None, allow_none=True, max_length=2000)
    placed_at = fields.AwareDateTime()  # only for the import channel: when it was really placed

    @validates_schema
    def check_client(self, data, **kwargs):
        if ("client" in data) == ("client_code" in data):
            raise ValidationError("Give either a client_code or a new client's details.", "client")
        if "placed_at" in data and data.get("channel") != "import":
            raise ValidationError("Only imported orders carry their own placing time.", "placed_at")

    @validates_schema
    def check_lines_and_shippings(self, data, **kwargs):
        errors = quantity_errors(data.get("lines") or [], data.get("shippings") or [])
        if errors:
            raise ValidationError(errors)


def quantity_errors(lines: list, shippings: list) -> dict:
    """Each sku once; shippings name only the order's skus and carry exactly its quantities."""
    errors: dict = {}
    ordered: dict[str, int] = {}
    for i, line in enumerate(lines):
        if line["sku"] in ordered:
            errors[f"lines.{i}.sku"] = [f"Duplicate sku {line['sku']}: give each product one line."]
        ordered[line["sku"]] = line["quantity"]
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
                f"Shippings carry {shipped.get(sku, 0)} of {sku} but the order has {quantity}: "
                "they must add up."
            )
    return errors


class QuantitiesIn(Strict):
    lines = listing(ShippingLineIn, 500, required=True)


class ShippingContentIn(Strict):
    id = Text(required=True, max_length=64)
    lines = listing(ShippingLineIn, 500, required=True)


class EditIn(Strict):
    """New contents for pending shippings, and the new lines they bring in."""

    shippings = listing(ShippingContentIn, 50, required=True)
    new_lines = fields.List(
        fields.Nested(LineIn), load_default=list, validate=validate.Length(max=500)
    )
    reason = Text(load_default=None, allow_none=True, max_length=1000)


class MovedLineIn(Strict):
    sku = Text(required=True, max_length=64)
    quantity = Quantity(required=True)
    from_shipping = Text(required=True, max_length=64)


class NewShippingIn(Strict):
    planned_date = fields.Date(required=True)
    address = fields.Nested(AddressIn, required=True)
    lines = listing(MovedLineIn, 500, required=True)


class MoveIn(Strict):
    from_shipping = Text(required=True, max_length=64)
    to_shipping = Text(required=True, max_length=64)
    sku = Text(required=True, max_length=64)
    quantity = Quantity(required=True)


class RescheduleIn(Strict):
    planned_date = fields.Date()
    address = fields.Nested(AddressIn)
    reason = Text(load_default=None, allow_none=True, max_length=1000)

    @validates_schema
    def check_something_changes(self, data, **kwargs):
        if "planned_date" not in data and "address" not in data:
            raise ValidationError("Give a new planned_date, a new address, or both.")


class NoteIn(Strict):
    kind = fields.String(required=True, validate=validate.OneOf(NOTE_KINDS))
    text = Text(required=True, max_length=4000)


class ClaimIn(Strict):
    reason = Text(required=True, max_length=1000)
    lines = listing(ShippingLineIn, 500, required=True)


class ResolutionIn(Strict):
    resolution = fields.String(required=True, validate=validate.OneOf(("reprinted", "rejected")))
    reason = Text(required=True, max_length=1000)
    planned_date = fields.Date(load_default=None)


class DuplicateIn(Strict):
    planned_date = fields.Date(load_default=None)


class ForClientIn(OrderIn):
    """A new order for the client of another order: everything but the client."""

    @validates_schema
    def check_client(self, data, **kwargs):
        if "client" in data or "client_code" in data:
            raise ValidationError("The client comes from the original order.", "client")


class ListOrdersIn(Strict):
    sort = fields.String(load_default="placed", validate=validate.OneOf(SORTS))
    direction = fields.String(load_default="desc", validate=validate.OneOf(("asc", "desc")))
    statuses = fields.List(
        fields.String(validate=validate.OneOf(STATUSES)), validate=validate.Length(max=20)
    )
    client_code = Text(max_length=64)
    sku = Text(max_length=64)
    placed_from = fields.Date()
    placed_to = fields.Date()
    include_closed = StrictBool(load_default=False)
    search = Text(max_length=200)
    limit = fields.Integer(strict=True, load_default=50, validate=validate.Range(min=1, max=500))
    cursor = Text(max_length=500)

    @validates_schema
    def check_range(self, data, **kwargs):
        if (
            data.get("placed_from")
            and data.get("placed_to")
            and data["placed_from"] > data["placed_to"]
        ):
            raise ValidationError("Must not be before placed_from.", "placed_to")


class ListCatalogueIn(Strict):
    active = StrictBool(load_default=None, allow_none=True)
    search = Text(max_length=200)
    after = Text(max_length=64)
    limit = fields.Integer(strict=True, load_default=50, validate=validate.Range(min=1, max=500))


class ClientDetailsIn(ClientIn):
    default_address = fields.Nested(AddressIn, load_default=None, allow_none=True)


class ClientChangesIn(Strict):
    name = Text(max_length=200)
    email = fields.Email(validate=validate.Length(max=254))
    phone = Text(max_length=40)
    language = fields.String(validate=LANGUAGE)
    default_address = fields.Nested(AddressIn, allow_none=True)


class ChoicesIn(Strict):
    """`{"choices": {"MUG-1": "bic"}, "reason": "cheaper delivery"}`."""

    choices = fields.Dict(
        keys=Text(max_length=100),
        values=Text(max_length=100),
        required=True,
        validate=validate.Length(min=1, max=500),
    )
    reason = Text(load_default=None, allow_none=True, max_length=1000)


class ProductDetailsIn(Strict):
    name = Text(required=True, max_length=200)
    unit_price = MoneyAmount(required=True)
    currency = Currency(required=True)
    vat_rate = VatRate(required=True)
    made_in_house = StrictBool(required=True)
    distributors = fields.List(
        Text(max_length=100), load_default=list, validate=validate.Length(max=50)
    )
    default_distributor = Text(load_default=None, allow_none=True, max_length=100)
    active = StrictBool(load_default=True)
    #: when production orders are made for it: on_accept, on_demand, or null (the deployment's)
    production_policy = fields.String(
        load_default=None, allow_none=True, validate=validate.OneOf(PRODUCTION_POLICIES)
    )
    #: kilograms, e.g. "0.350" (delivery charges by weight)
    weight = Weight(load_default=None, allow_none=True)
    #: what each of its distributors charges: {"acme": "4.20"}
    cost_prices = CostPrices(load_default=dict)


class ProductChangesIn(Strict):
    name = Text(max_length=200)
    unit_price = MoneyAmount()
    currency = Currency()
    vat_rate = VatRate()
    made_in_house = StrictBool()
    distributors = fields.List(Text(max_length=100), validate=validate.Length(max=50))
    default_distributor = Text(allow_none=True, max_length=100)
    active = StrictBool()
    production_policy = fields.String(allow_none=True, validate=validate.OneOf(PRODUCTION_POLICIES))
    weight = Weight(allow_none=True)
    cost_prices = CostPrices()
