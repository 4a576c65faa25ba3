"""The catalogue the order desk sells from: clients and products, each an aggregate."""

from uuid import UUID

from eventsourcing.domain import Aggregate, event

from shared.refusals import Refused

CLIENT_FIELDS = ("name", "email", "phone", "default_address", "language")
PRODUCT_FIELDS = (
    "name",
    "unit_price",
    "currency",
    "vat_rate",
    "made_in_house",
    "distributors",
    "default_distributor",
    "active",
    "production_policy",  # since 2026-12: on_accept | on_demand | None (the deployment's)
    "weight",  # since 2026-12: kilograms (Decimal) or None, for delivery charges by weight
    "cost_prices",  # since 2026-12: {distributor: Decimal}, what each distributor charges
)


class Client(Aggregate):
    """A client known to the desk, by a unique code (the aggregate id derives from it)."""

    @event("Registered")
    def __init__(self, id: UUID, code: str, details: dict, actor: str):
        self.code = code
        self.name, self.email, self.phone = details["name"], details["email"], details["phone"]
        self.default_address = details.get("default_address")
        self.language = details.get("language")  # since 2026-12: what messages are written in
        self.active = True

    def update(self, changes: dict, actor: str) -> None:
        if not self.active:
            raise CatalogueRefused(f"client {self.code} is deactivated", "client_inactive")
        changed = {k: v for k, v in changes.items() if getattr(self, k) != v}
        if changed:
            self._update(changes=changed, actor=actor)

    @event("Updated")
    def _update(self, changes: dict, actor: str) -> None:
        for key, value in changes.items():
            setattr(self, key, value)

    def deactivate(self, reason: str, actor: str) -> None:
        if self.active:
            self._deactivate(reason=reason, actor=actor)

    @event("Deactivated")
    def _deactivate(self, reason: str, actor: str) -> None:
        self.active = False

    def snapshot(self) -> dict:
        """What an order keeps of its client: the details as they were when it was placed."""
        kept = {"code": self.code, "name": self.name, "email": self.email, "phone": self.phone}
        if getattr(self, "language", None):
            kept["language"] = self.language
        return kept


class Product(Aggregate):
    """A product by sku: its price, VAT rate, and who makes or supplies it."""

    @event("Registered")
    def __init__(self, id: UUID, sku: str, details: dict, actor: str):
        self.sku = sku
        for key in PRODUCT_FIELDS:
            setattr(self, key, details.get(key))
        self.cost_prices = self.cost_prices or {}

    def update(self, changes: dict, actor: str) -> None:
        merged = {k: changes.get(k, getattr(self, k, None)) for k in PRODUCT_FIELDS}
        check_supply(merged)
        changed = {k: v for k, v in changes.items() if getattr(self, k, None) != v}
        if changed:
            self._update(changes=changed, actor=actor)

    @event("Updated")
    def _update(self, changes: dict, actor: str) -> None:
        for key, value in changes.items():
            setattr(self, key, value)

    def order_line(self, quantity: int, distributor: str | None) -> dict:
        return line_from(dict(vars(self), sku=self.sku), quantity, distributor)


def line_from(product: dict, quantity: int, distributor: str | None) -> dict:
    """An order line from a product (its fields as a dict): name and price as they are now."""
    sku = product["sku"]
    if not product["active"]:
        raise CatalogueRefused(f"product {sku} is not active", "product_inactive")
    if distributor is not None and distributor not in product["distributors"]:
        raise CatalogueRefused(
            f"{distributor} does not supply {sku} (it has {', '.join(product['distributors'])})",
            "distributor_not_listed",
        )
    made_in_house = product["made_in_house"]
    return {
        "sku": sku,
        "name": product["name"],
        "quantity": quantity,
        "unit_price": product["unit_price"],
        "currency": product["currency"],
        "vat_rate": product["vat_rate"],
        "distributor": None if made_in_house else distributor or product["default_distributor"],
        "made_in_house": made_in_house,
        **({"production_policy": policy} if (policy := product.get("production_policy")) else {}),
    }


def check_supply(details: dict) -> None:
    """A bought-in product needs distributors, and its default must be one of them; cost prices
    are for its distributors only."""
    unknown = sorted(set(details.get("cost_prices") or {}) - set(details["distributors"] or ()))
    if unknown:
        raise CatalogueRefused(
            f"cost prices for {', '.join(unknown)}, who are not among the product's distributors",
            "cost_price_for_unlisted_distributor",
            "cost_prices",
        )
    if details["made_in_house"]:
        return
    if not details["distributors"]:
        raise CatalogueRefused(
            "a product not made in house needs a distributor", "no_distributor", "distributors"
        )
    if details["default_distributor"] not in details["distributors"]:
        raise CatalogueRefused(
            "the default distributor must be one of the product's distributors",
            "default_distributor_not_listed",
            "default_distributor",
        )


class CatalogueRefused(Refused):
    """A catalogue rule was broken; `field` names the input at fault, if one is."""

    def __init__(self, message: str, rule: str, field: str | None = None):
        super().__init__(message, rule, field=field)
