"""Invoice arithmetic on awkward amounts, checked against exact rational arithmetic."""

import random
from decimal import Decimal
from fractions import Fraction

import pytest

from shared.money import minor_unit, priced, rounded


def half_up(value: Fraction, digits: int) -> Fraction:
    """Round an exact value half-up (away from zero for these non-negative amounts)."""
    scaled = value * 10**digits
    whole = scaled.numerator // scaled.denominator
    if scaled - whole >= Fraction(1, 2):
        whole += 1
    return Fraction(whole, 10**digits)


def expected(lines, digits: int) -> dict:
    """The rule, computed independently: line nets rounded, then VAT per rate on their sums."""
    by_rate: dict[Fraction, Fraction] = {}
    for line in lines:
        net = half_up(Fraction(line["unit_price"]) * line["quantity"], digits)
        rate = Fraction(line["vat_rate"])
        by_rate[rate] = by_rate.get(rate, Fraction(0)) + net
    tax = sum((half_up(net * rate / 100, digits) for rate, net in by_rate.items()), Fraction(0))
    net = sum(by_rate.values(), Fraction(0))
    return {"net": net, "tax": tax, "gross": net + tax}


def line(sku, quantity, unit_price, vat_rate):
    return {
        "sku": sku,
        "name": sku,
        "quantity": quantity,
        "unit_price": unit_price,
        "vat_rate": vat_rate,
    }


def test_three_decimal_unit_prices_round_each_line_half_up_to_the_cent():
    body = priced([line("A", 3, "9.995", "20"), line("B", 7, "0.333", "7.7")], "EUR")
    assert [(li["sku"], str(li["net"])) for li in body["lines"]] == [("A", "29.99"), ("B", "2.33")]
    # VAT per rate: 29.99 x 20% = 5.998 -> 6.00; 2.33 x 7.7% = 0.17941 -> 0.18
    assert [(str(v["rate"]), str(v["net"]), str(v["tax"])) for v in body["vat"]] == [
        ("7.7", "2.33", "0.18"),
        ("20", "29.99", "6.00"),
    ]
    assert (str(body["net"]), str(body["tax"]), str(body["gross"])) == ("32.32", "6.18", "38.50")


def test_vat_is_rounded_once_per_rate_not_per_line():
    # ten lines of 0.05 at 10%: per line 0.005 would round to 0.01 each (0.10); on the sum it is 0.05
    body = priced([line(f"S{i}", 1, "0.05", "10") for i in range(10)], "EUR")
    assert (str(body["net"]), str(body["tax"]), str(body["gross"])) == ("0.50", "0.05", "0.55")


def test_a_half_cent_rounds_up():
    assert str(rounded(Decimal("0.125"), "EUR")) == "0.13"
    assert str(rounded(Decimal("0.124999"), "EUR")) == "0.12"


@pytest.mark.parametrize(
    ("currency", "unit_price", "net", "tax"),
    [
        ("JPY", "333.5", "1001", "200"),
        ("KWD", "1.2345", "3.704", "0.741"),
        ("EUR", "1.2345", "3.70", "0.74"),
    ],
)
def test_totals_are_rounded_to_the_currency_minor_unit(currency, unit_price, net, tax):
    body = priced([line("A", 3, unit_price, "20")], currency)
    assert (str(body["net"]), str(body["tax"])) == (net, tax)
    assert body["gross"] == body["net"] + body["tax"]
    assert body["gross"].as_tuple().exponent == minor_unit(currency).as_tuple().exponent


def test_no_lines_is_zero_in_the_currency():
    body = priced([], "EUR")
    assert (str(body["net"]), str(body["tax"]), str(body["gross"]), body["vat"]) == (
        "0.00",
        "0.00",
        "0.00",
        [],
    )


def test_a_missing_vat_rate_counts_as_zero():
    body = priced([line("A", 2, "1.50", None)], "EUR")
    assert (str(body["tax"]), str(body["gross"])) == ("0.00", "3.00")


@pytest.mark.parametrize("seed", range(40))
def test_many_lines_of_awkward_amounts_and_mixed_rates_match_exact_arithmetic(seed):
    rng = random.Random(seed)
    currency, digits = rng.choice([("EUR", 2), ("JPY", 0), ("BHD", 3)])
    rates = ["0", "5", "7.7", "10", "20", "23"]
    lines = [
        line(
            f"SKU-{i}",
            rng.randint(1, 5000),
            f"{rng.randint(0, 99_999)}.{rng.randint(0, 9999):04d}",
            rng.choice(rates),
        )
        for i in range(rng.randint(1, 300))
    ]
    body = priced(lines, currency)
    want = expected(lines, digits)
    assert (Fraction(body["net"]), Fraction(body["tax"]), Fraction(body["gross"])) == (
        want["net"],
        want["tax"],
        want["gross"],
    )
    assert body["net"] == sum(li["net"] for li in body["lines"])
    assert body["tax"] == sum(v["tax"] for v in body["vat"])
    assert len(body["vat"]) == len({li["vat_rate"] for li in lines})
