"""What a new order is made of: a validated request (services/orders/schemas.py) and the catalogue
as it is now, turned into the arguments of the `Placed` event — the client's details, lines priced
from the catalogue or taken as described, shippings with their ids and addresses."""

import copy
from datetime import UTC, datetime
from decimal import Decimal
from uuid import UUID, uuid5

from services.orders.catalogue import CatalogueRefused, line_from
from services.orders.domain import Order
from shared.errors import ValidationFailed

LINE_FIELDS = (
    "sku",
    "name",
    "quantity",
    "unit_price",
    "currency",
    "vat_rate",
    "distributor",
    "made_in_house",
)


class OrderBuilding:
    """Mixed into the orders application (it provides `catalogue_row` and `settings`)."""

    def order_args(
        self, order_id: UUID, order: dict, actor: str, origin=None, clients: dict | None = None
    ) -> dict:
        """The Placed event's arguments, from a validated order and the catalogue. `clients`:
        the catalogue's clients read so far (placing many orders reads each client once)."""
        client = self.client_for(order, clients)
        lines = self.lines_for(order["lines"], "lines")
        shippings = [
            {
                "id": str(uuid5(order_id, f"shipping-{i}")),
                "planned_date": s["planned_date"].isoformat(),
                "address": s.get("address") or _default_address(client, i),
                "lines": s["lines"],
            }
            for i, s in enumerate(order["shippings"])
        ]
        placed_at = order.get("placed_at")
        client.pop("default_address", None)
        for shipping in shippings:  # personal data is stored sealed (services/orders/forgetting.py)
            shipping["address"] = self.sealed_address(shipping["address"], client, order_id)
        return dict(
            id=order_id,
            title=order.get("title") or _title(lines),
            client=self.sealed_client(client, order_id),
            channel=order["channel"],
            lines=lines,
            shippings=shippings,
            payment_method=order.get("payment_method"),
            note=order.get("note"),
            actor=actor,
            origin=origin,
            placed_at=placed_at.isoformat() if placed_at else None,
        )

    def client_for(self, order: dict, clients: dict | None = None) -> dict:
        """A known client's details from the catalogue (as they are now), or a guest's."""
        code = order.get("client_code")
        if not code:
            return dict(order["client"], code=None)
        if clients is not None:
            if code not in clients:
                clients[code] = self.client_for(order)
            return copy.deepcopy(clients[code])
        row = self.catalogue_row("clients", code)
        if row is None or not row.active:
            problem = "is deactivated" if row else "is unknown: register it first"
            raise ValidationFailed("invalid client", {"client_code": [f"Client {code} {problem}."]})
        return {
            "code": code,
            "name": row.name,
            "email": row.email,
            "phone": row.phone,
            "default_address": row.default_address,
            **({"language": row.language} if getattr(row, "language", None) else {}),
        }

    def lines_for(self, lines: list, field: str) -> list:
        """Lines described in full are taken as given; the others come from the catalogue."""
        resolved, errors = [], {}
        for i, line in enumerate(lines):
            if "name" in line:
                resolved.append(line if "vat_rate" in line else self._with_vat(line))
                continue
            row = self.catalogue_row("products", line["sku"])
            if row is None:
                errors[f"{field}.{i}.sku"] = [
                    f"Unknown product {line['sku']}: register it, or describe the line in full."
                ]
                continue
            try:
                resolved.append(line_from(_product(row), line["quantity"], line.get("distributor")))
            except CatalogueRefused as exc:
                errors[f"{field}.{i}.sku"] = [str(exc)]
        if len({line["currency"] for line in resolved}) > 1:
            errors[f"{field}.currency"] = ["All lines of an order must share one currency."]
        if errors:
            raise ValidationFailed("invalid order lines", errors)
        return resolved

    def current_line(self, line: dict) -> dict:
        """Today's catalogue price for a product still sold; the old snapshot otherwise."""
        row = self.catalogue_row("products", line["sku"])
        if row is None or not row.active:
            return line
        return line_from(_product(row), line["quantity"], None)

    def _with_vat(self, line: dict) -> dict:
        """A line in the first storefront contract (no VAT rate): the catalogue's rate for the
        sku, else the deployment's default."""
        row = self.catalogue_row("products", line["sku"])
        rate = Decimal(row.details["vat_rate"]) if row else self.settings.default_vat_rate
        return dict(line, vat_rate=rate)


def derived_args(
    original: Order, new_id: UUID, lines: list, planned, actor: str, kind: str
) -> dict:
    """A new order from an existing one: its client, title and first address, one shipping."""
    planned_date = (planned or datetime.now(UTC).date()).isoformat()
    title = f"Reprint of {original.reference}" if kind == "reprint_of" else original.title
    return dict(
        id=new_id,
        title=title,
        client=original.client,
        channel=original.channel,
        lines=[{k: v for k, v in x.items() if k in LINE_FIELDS} for x in lines],
        shippings=[
            {
                "id": str(uuid5(new_id, "shipping-0")),
                "planned_date": planned_date,
                "address": original.shippings[0]["address"],
                "lines": [{"sku": x["sku"], "quantity": x["quantity"]} for x in lines],
            }
        ],
        payment_method=original.payment_method,
        note=None,
        actor=actor,
        origin={"kind": kind, "order_id": str(original.id), "reference": original.reference},
    )


def _default_address(client: dict, index: int) -> dict:
    if client.get("default_address"):
        return client["default_address"]
    raise ValidationFailed(
        "no address",
        {f"shippings.{index}.address": ["Required: the client has no default address."]},
    )


def _title(lines: list) -> str:
    more = len(lines) - 1
    return lines[0]["name"] + (f" + {more} more" if more else "")


def _product(row) -> dict:
    """A product row of the read model as the catalogue's `line_from` takes it."""
    details = row.details
    return dict(
        details,
        sku=row.sku,
        name=row.name,
        active=row.active,
        unit_price=Decimal(details["unit_price"]),
        vat_rate=Decimal(details["vat_rate"]),
    )
