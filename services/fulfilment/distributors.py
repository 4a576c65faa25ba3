"""Who fulfilment buys from, and what it knows of the products it buys.

A `Distributor` (by its code): how purchase orders reach it (`api`: an HTTP endpoint and a
credential; `email`: the PDF to its account manager through notify), its live stock-and-price API
if it has one, its feed, what it charges to deliver (flat, or by weight band), its lead time and
where it delivers. A `Supply` is fulfilment's copy of a catalogue product as the orders service
last published it: its weight and each distributor's cost price."""

from decimal import Decimal
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from shared.refusals import Refused

DISTRIBUTOR_FIELDS = (
    "name",
    "account_manager_email",
    "currency",
    "ordering",
    "live",
    "feed",
    "delivery",
    "lead_time_days",
    "delivers_to",
    "active",
)


class Distributor(Aggregate):
    @event("Registered")
    def __init__(self, id: UUID, code: str, details: dict, callback_secret: str, actor: str):
        self.code = code
        for key in DISTRIBUTOR_FIELDS:
            setattr(self, key, details.get(key))
        self.callback_secret = callback_secret  # signs its acknowledgements (HMAC-SHA256)

    def update(self, changes: dict, actor: str) -> None:
        changed = {k: v for k, v in changes.items() if getattr(self, k) != v}
        if changed:
            self._update(changes=changed, actor=actor)

    @event("Updated")
    def _update(self, changes: dict, actor: str) -> None:
        for key, value in changes.items():
            setattr(self, key, value)

    def delivers(self, country: str | None) -> bool:
        return not self.delivers_to or country is None or country in self.delivers_to

    def delivery_charge(self, weight: Decimal) -> Decimal | None:
        """What it charges to deliver `weight` kilograms in one parcel (None: too heavy)."""
        return charge_for(self.delivery, weight)


def capacity_of(delivery: dict | None) -> Decimal | None:
    """The most kilograms one delivery takes: the last band's limit (None: no limit)."""
    bands = (delivery or {}).get("bands")
    return Decimal(str(bands[-1]["up_to_kg"])) if bands else None


def charge_for(delivery: dict | None, weight: Decimal) -> Decimal | None:
    """`{"flat": "9.00"}` or `{"bands": [{"up_to_kg": "5", "charge": "7.50"}, …]}` (bands in
    increasing weight; a weight over the last band is not delivered); no charges: free."""
    if not delivery:
        return Decimal("0")
    if "flat" in delivery:
        return Decimal(str(delivery["flat"]))
    for band in delivery.get("bands", ()):
        if weight <= Decimal(str(band["up_to_kg"])):
            return Decimal(str(band["charge"]))
    return None


class Supply(Aggregate):
    """A catalogue product as fulfilment knows it (from `orders.product_*` events)."""

    @event("Known")
    def __init__(self, id: UUID, sku: str, details: dict):
        self.sku = sku
        self._set(details)

    @event("Changed")
    def change(self, details: dict) -> None:
        self._set(details)

    def _set(self, details: dict) -> None:
        self.name = details["name"]
        self.made_in_house = details["made_in_house"]
        self.distributors = list(details["distributors"])
        self.weight = details.get("weight")  # kilograms, or None (unknown)
        self.cost_prices = dict(details.get("cost_prices") or {})

    def details(self) -> dict:
        keys = ("name", "made_in_house", "distributors", "weight", "cost_prices")
        return {k: getattr(self, k) for k in keys}

    def cost_price(self, distributor: str) -> Decimal | None:
        price = self.cost_prices.get(distributor)
        return None if price is None else Decimal(str(price))


class UnknownDistributor(Refused):
    def __init__(self, code: str, field: str = "distributor"):
        super().__init__(
            f"no distributor {code!r} is registered", "unknown_distributor", field=field
        )
