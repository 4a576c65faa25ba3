"""The cheapest way to fulfil some lines: goods at each distributor's cost price plus what each
distributor used charges to deliver its part (flat, or by the weight band of that part), subject
to stock — from one distributor, or split across several when that is cheaper — with the reasons.

Every set of candidate distributors is tried (at most `MOST` of them: 2^12 sets); within a set each
line takes the cheapest stock first, as much as each distributor can carry (the heaviest weight
band it delivers). So the choice of distributors is exact, and within it the goods are the
cheapest; a split made only to land in a lower (cheaper) weight band is not sought."""

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from itertools import combinations

MOST = 12
CENT = Decimal("0.01")


@dataclass(frozen=True)
class Offer:
    distributor: str
    stock: int
    cost_price: Decimal


def money(value: Decimal) -> str:
    return str(value.quantize(CENT, ROUND_HALF_UP))


def plan(lines: list, offers: dict, weights: dict, charge, capacity=lambda code: None) -> dict:
    """`lines`: [{sku, quantity}]; `offers`: {sku: [Offer]} (priced, in stock, delivering to
    the destination); `weights`: {sku: kilograms or None}; `charge(code, kg)`: the delivery
    charge, or None when it does not take that weight; `capacity(code)`: the most kilograms it
    takes in one delivery (None: no limit)."""
    codes = sorted({o.distributor for found in offers.values() for o in found})
    reasons = []
    if len(codes) > MOST:
        codes = _cheapest(codes, offers)
        reasons.append(f"the {MOST} distributors cheapest on these lines were compared")
    tried = []
    for size in range(1, len(codes) + 1):
        for chosen in combinations(codes, size):
            taken = _allocate(lines, offers, set(chosen), weights, capacity)
            if taken is not None:
                priced = _priced(taken, weights, charge)
                if priced is not None:
                    tried.append(priced)
    if not tried:
        short = _short(lines, offers)
        if not short:
            reasons.append(
                "there is stock enough, but more than the distributors deliver at once"
                " (the heaviest weight band each takes)"
            )
        return {"feasible": False, "short": short, "reasoning": reasons}
    tried.sort(key=lambda p: (p["total"], len(p["shipments"]), p["distributors"]))
    best = tried[0]
    reasons += _explain(best, tried, lines, offers, weights)
    return {
        "feasible": True,
        "total": money(best["total"]),
        "goods": money(sum((s["goods"] for s in best["shipments"]), Decimal(0))),
        "delivery": money(sum((s["charge"] for s in best["shipments"]), Decimal(0))),
        "shipments": [_shown(s) for s in best["shipments"]],
        "alternatives": [
            {"distributors": p["distributors"], "total": money(p["total"])} for p in tried[1:6]
        ],
        "reasoning": reasons,
    }


def _cheapest(codes: list, offers: dict) -> list:
    score = {c: 0 for c in codes}
    for found in offers.values():
        for rank, o in enumerate(sorted(found, key=lambda o: o.cost_price)):
            score[o.distributor] += rank
    return sorted(codes, key=lambda c: (score[c], c))[:MOST]


def _allocate(lines: list, offers: dict, chosen: set, weights: dict, capacity) -> dict | None:
    """{code: [(sku, quantity, price)]} taking the cheapest stock first, within what each
    distributor carries; None: not enough."""
    taken: dict[str, list] = {}
    room = {code: capacity(code) for code in chosen}  # kilograms left (None: no limit)
    for line in lines:
        left, unit = line["quantity"], Decimal(str(weights.get(line["sku"]) or 0))
        for o in sorted(offers.get(line["sku"], ()), key=lambda o: (o.cost_price, o.distributor)):
            if o.distributor not in chosen or left <= 0 or o.stock <= 0:
                continue
            part = min(left, o.stock)
            if room[o.distributor] is not None and unit > 0:
                part = min(part, int(room[o.distributor] / unit))
                room[o.distributor] -= part * unit
            if part > 0:
                taken.setdefault(o.distributor, []).append((line["sku"], part, o.cost_price))
                left -= part
        if left > 0:
            return None
    if set(taken) != chosen:
        return None  # a distributor in the set with nothing to do: the smaller set covers it
    return taken


def _priced(taken: dict, weights: dict, charge) -> dict | None:
    shipments = []
    for code, parts in sorted(taken.items()):
        weight = sum((Decimal(str(weights.get(s) or 0)) * q for s, q, _ in parts), Decimal(0))
        fee = charge(code, weight)
        if fee is None:
            return None  # too heavy for it
        goods = sum((p * q for _, q, p in parts), Decimal(0))
        shipments.append({"distributor": code, "parts": parts, "goods": goods, "weight": weight,
                          "charge": fee, "subtotal": goods + fee})  # fmt: skip
    total = sum((s["subtotal"] for s in shipments), Decimal(0))
    return {"shipments": shipments, "total": total, "distributors": sorted(taken)}


def _shown(s: dict) -> dict:
    return {
        "distributor": s["distributor"],
        "lines": [
            {"sku": sku, "quantity": q, "cost_price": str(p), "net": money(p * q)}
            for sku, q, p in s["parts"]
        ],
        "goods": money(s["goods"]),
        "weight_kg": str(s["weight"].normalize()) if s["weight"] else "0",
        "delivery_charge": money(s["charge"]),
        "subtotal": money(s["subtotal"]),
    }


def _explain(best: dict, tried: list, lines: list, offers: dict, weights: dict) -> list:
    said = [
        f"{s['distributor']}: goods {money(s['goods'])} + delivery {money(s['charge'])}"
        f" for {str(s['weight'].normalize()) if s['weight'] else '0'} kg"
        f" = {money(s['subtotal'])}"
        for s in best["shipments"]
    ]
    singles = [p for p in tried if len(p["distributors"]) == 1]
    if len(best["distributors"]) > 1:
        if singles:
            one = singles[0]
            said.append(
                f"from one distributor it would cost at least {money(one['total'])}"
                f" ({one['distributors'][0]}): splitting saves {money(one['total'] - best['total'])}"
            )
        else:
            said.append("no one distributor has enough stock of everything: the order is split")
    elif len(tried) > 1:
        runner = tried[1]
        said.append(
            f"the next cheapest, {' + '.join(runner['distributors'])}, costs"
            f" {money(runner['total'])}"
        )
    for sku in sorted({x["sku"] for x in lines}):
        if weights.get(sku) is None:
            said.append(f"the weight of {sku} is unknown: counted as 0 kg")
        split = [s["distributor"] for s in best["shipments"] for p in s["parts"] if p[0] == sku]
        if len(split) > 1:
            said.append(f"{sku} comes from {' and '.join(split)}: no one of them has enough stock")
    return said


def _short(lines: list, offers: dict) -> list:
    short = []
    for line in lines:
        have = sum(o.stock for o in offers.get(line["sku"], ()))
        if have < line["quantity"]:
            short.append({"sku": line["sku"], "wanted": line["quantity"], "in_stock": have})
    return short
