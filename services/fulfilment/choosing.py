"""The best source of some lines to a destination (sourcing.py plans it from the availability
answer), and applying it to an order's bought-in lines before they ship."""

from collections import Counter
from decimal import Decimal

from services.fulfilment import sourcing
from services.fulfilment.distributors import capacity_of
from shared.refusals import Refused


class BestSource:
    """Mixin of the fulfilment application."""

    def best_source(self, lines: list, destination: dict, deadline_ms: int) -> dict:
        """`lines`: [{sku, quantity}]; `destination`: an address (its `country` decides who
        delivers there). The plan, its reasons, and the availability it was made from."""
        checked = self.check_availability(lines, deadline_ms)
        country = (destination or {}).get("country")
        offered = [o for line in checked["lines"] for o in line["offers"]]
        currencies = Counter(o["currency"] for o in offered)
        currency = currencies.most_common(1)[0][0] if currencies else None
        offers, excluded = {}, []
        for line in checked["lines"]:
            for o in line["offers"]:
                why = self._unusable(o, line["sku"], country, currency)
                if why:
                    excluded.append(why)
                elif o["stock"] > 0:
                    offers.setdefault(line["sku"], []).append(
                        sourcing.Offer(o["distributor"], o["stock"], Decimal(o["cost_price"]))
                    )
        weights = {x["sku"]: self._weight(x["sku"]) for x in lines}
        planned = sourcing.plan(lines, offers, weights, self._charge, self._capacity)
        planned["reasoning"] += sorted(set(excluded))
        return dict(planned, currency=currency, destination=destination, availability=checked)

    def _unusable(self, offer: dict, sku: str, country, currency) -> str | None:
        code = offer["distributor"]
        if not self.known_distributor(code).delivers(country):
            return f"{code} does not deliver to {country}"
        if offer["cost_price"] is None:
            return f"{code} gives no price for {sku}"
        if offer["currency"] != currency:
            return f"{code} prices in {offer['currency']}, not {currency}: not compared"
        return None

    def _weight(self, sku: str):
        supply = self.supply(sku)
        return None if supply is None or supply.weight is None else Decimal(str(supply.weight))

    def _capacity(self, code: str):
        return capacity_of(self.known_distributor(code).delivery)

    def _charge(self, code: str, kilograms: Decimal):
        return self.known_distributor(code).delivery_charge(kilograms)

    def source_for_order(self, order: dict, deadline_ms: int) -> tuple[dict, dict]:
        """The best source of the order's bought-in quantities still to ship (to the address of
        the first pending shipping), and {sku: distributor} to apply it — refused when a line
        would have to be split between distributors (split its shipping first)."""
        pending = [s for s in order["shippings"] if s["status"] == "pending"]
        bought = {x["sku"] for x in order["lines"] if not x["made_in_house"]}
        quantities = Counter()
        for shipping in pending:
            for item in shipping["lines"]:
                if item["sku"] in bought:
                    quantities[item["sku"]] += item["quantity"]
        if not quantities:
            raise Refused("no bought-in line of this order is still to ship", "nothing_to_source")
        lines = [{"sku": sku, "quantity": q} for sku, q in sorted(quantities.items())]
        planned = self.best_source(lines, pending[0]["address"], deadline_ms)
        if not planned["feasible"]:
            short = ", ".join(
                f"{s['sku']} ({s['in_stock']} of {s['wanted']})" for s in planned["short"]
            )
            raise Refused(f"not enough stock: {short}", "not_enough_stock")
        chosen: dict[str, set] = {}
        for shipment in planned["shipments"]:
            for part in shipment["lines"]:
                chosen.setdefault(part["sku"], set()).add(shipment["distributor"])
        split = sorted(sku for sku, codes in chosen.items() if len(codes) > 1)
        if split:
            raise Refused(
                f"{', '.join(split)} would come from more than one distributor: split the"
                " shipping by quantity first, then choose each part's distributor",
                "source_needs_split",
            )
        return planned, {sku: codes.pop() for sku, codes in chosen.items()}
