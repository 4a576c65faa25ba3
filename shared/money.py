"""Invoice arithmetic: line nets, VAT per rate and totals, rounded to the currency's minor unit.

The rule (stated on every invoice as `rounding`): each line's net is quantity x unit price rounded
half-up to the minor unit; the VAT of each rate is the sum of that rate's line nets times the
rate, rounded half-up once; gross = net + VAT. So the totals always add up exactly, and VAT is
never the sum of separately rounded line taxes (the per-rate method of EU invoicing rules).
"""

from decimal import ROUND_HALF_UP, Decimal

ROUNDING = "line nets and the VAT of each rate, each rounded half-up to the currency's minor unit"

# ISO 4217 currencies whose minor unit is not the hundredth; every other code has two decimals.
MINOR_DIGITS = {
    "BHD": 3,
    "BIF": 0,
    "CLP": 0,
    "DJF": 0,
    "GNF": 0,
    "IQD": 3,
    "ISK": 0,
    "JOD": 3,
    "JPY": 0,
    "KMF": 0,
    "KRW": 0,
    "KWD": 3,
    "LYD": 3,
    "OMR": 3,
    "PYG": 0,
    "RWF": 0,
    "TND": 3,
    "UGX": 0,
    "UYI": 0,
    "VND": 0,
    "VUV": 0,
    "XAF": 0,
    "XOF": 0,
    "XPF": 0,
}
ZERO = Decimal("0")
HUNDRED = Decimal("100")


def minor_unit(currency: str) -> Decimal:
    return Decimal(1).scaleb(-MINOR_DIGITS.get(currency, 2))


def rounded(amount: Decimal, currency: str) -> Decimal:
    return amount.quantize(minor_unit(currency), rounding=ROUND_HALF_UP)


def priced(lines: list[dict], currency: str) -> dict:
    """The invoice body of `lines` (`sku`, `name`, `quantity`, `unit_price`, `vat_rate`):
    lines with their nets, the VAT per rate, and net, tax and gross totals."""
    out, by_rate = [], {}
    for line in lines:
        rate = Decimal(line.get("vat_rate") or 0)
        net = rounded(Decimal(line["unit_price"]) * line["quantity"], currency)
        out.append(
            {
                "sku": line["sku"],
                "name": line["name"],
                "quantity": line["quantity"],
                "unit_price": Decimal(line["unit_price"]),
                "vat_rate": rate,
                "net": net,
            }
        )
        by_rate[rate] = by_rate.get(rate, ZERO) + net
    vat = [
        {"rate": rate, "net": net, "tax": rounded(net * rate / HUNDRED, currency)}
        for rate, net in sorted(by_rate.items())
    ]
    net = sum((v["net"] for v in vat), ZERO)
    tax = sum((v["tax"] for v in vat), ZERO)
    zero = rounded(ZERO, currency)
    return {
        "lines": out,
        "vat": vat,
        "net": rounded(net, currency) if vat else zero,
        "tax": rounded(tax, currency) if vat else zero,
        "gross": rounded(net + tax, currency) if vat else zero,
        "rounding": ROUNDING,
    }
