"""The words and formats of documents per language (`labels/<language>.toml`); a label missing in
a language falls back to English, an unknown language to the deployment's default."""

import functools
import tomllib
from decimal import Decimal
from pathlib import Path

HERE = Path(__file__).parent
FONTS = {"": HERE / "fonts" / "DejaVuSans.ttf", "B": HERE / "fonts" / "DejaVuSans-Bold.ttf"}
FALLBACK = "en"


@functools.cache
def _catalogue(language: str) -> dict:
    path = HERE / "labels" / f"{language}.toml"
    with open(path, "rb") as file:
        return tomllib.load(file)


def languages() -> tuple[str, ...]:
    return tuple(sorted(p.stem for p in (HERE / "labels").glob("*.toml")))


class Labels:
    """`labels["invoice"]`-style lookups, `labels.text("vat_at", rate=…)`, and the language's way
    of writing money, numbers and dates."""

    def __init__(self, language: str | None, default: str = FALLBACK):
        known = languages()
        self.language = language if language in known else (default if default in known else "en")
        self._own = _catalogue(self.language)
        self._english = _catalogue(FALLBACK)

    def _lookup(self, table: str, key: str) -> str:
        own = self._own.get(table, {})
        return own[key] if key in own else self._english[table].get(key, key)

    def __getitem__(self, key: str) -> str:
        return self._lookup("labels", key)

    def field(self, key: str, value: str) -> str:
        """`Payment channel: card` (`Mode de paiement : carte` in French)."""
        return f"{self[key]}{self._lookup('format', 'colon')}{value}"

    def text(self, key: str, **values) -> str:
        return self[key].format(**values)

    def title(self, kind: str) -> str:
        return self._lookup("titles", kind)

    def channel(self, channel: str | None) -> str:
        return self._lookup("channels", channel) if channel else self["none"]

    def status(self, status: str) -> str:
        return self._lookup("statuses", status)

    def date(self, iso: str | None) -> str:
        """`2026-12-02` (or a timestamp) as the language writes dates."""
        if not iso:
            return ""
        year, month, day = (int(part) for part in iso[:10].split("-"))
        fmt = self._lookup("format", "date")
        return (
            fmt.replace("%Y", f"{year:04d}")
            .replace("%m", f"{month:02d}")
            .replace("%d", f"{day:02d}")
        )

    def number(self, value, places: int | None = None) -> str:
        """A decimal with the language's separators: `1 234,50` in Polish."""
        value = Decimal(str(value))
        if places is not None:
            value = value.quantize(Decimal(1).scaleb(-places))
        sign, text = ("-", str(-value)) if value < 0 else ("", str(value))
        whole, _, fraction = text.partition(".")
        groups = []
        while len(whole) > 3:
            whole, groups = whole[:-3], [whole[-3:], *groups]
        grouped = self._lookup("format", "thousands").join([whole, *groups])
        decimal = self._lookup("format", "decimal")
        return sign + grouped + (decimal + fraction if fraction else "")

    def money(self, amount, currency: str) -> str:
        return f"{self.number(amount)} {currency}"

    def rate(self, rate) -> str:
        """A VAT rate without trailing zeros: `23`, `5,5`."""
        value = Decimal(str(rate))
        value = value.quantize(Decimal(1)) if value == value.to_integral() else value.normalize()
        return self.number(value)
