"""A distributor's stock-and-price feed, read on its interval (and on demand): each import is a
`FeedImport` aggregate of one event — the items it read (or that they were the same as the last
time), or why it failed. The latest snapshot per distributor is a read model (`FeedTables`),
so a failed import leaves the previous snapshot in place and says so.

Feeds are CSV (a header row naming `sku`, `stock` and `cost_price`; other columns are ignored) or
JSON (`{"items": [{"sku", "stock", "cost_price"}]}` or the list alone), at an http(s) URL or in a
file. A row that cannot be read fails the whole import, naming the row and the field."""

import csv
import hashlib
import io
import json
from decimal import Decimal, InvalidOperation
from pathlib import Path
from uuid import UUID

import requests
from eventsourcing.domain import Aggregate, event


class FeedImport(Aggregate):
    @event("Imported")
    def __init__(
        self,
        id: UUID,
        distributor: str,
        at: float,
        sha256: str | None,
        items: dict | None,
        count: int,
        error: str | None = None,
    ):
        """`items`: {sku: {"stock": int, "cost_price": str | None}}; None when they are the same
        as the previous import's (the same `sha256`), or when it failed (`error` says why)."""
        self.distributor, self.at, self.sha256 = distributor, at, sha256
        self.items, self.count, self.error = items, count, error


class FeedError(Exception):
    """The feed could not be read; the message says where and why."""


def fetch(source: str, timeout: float, limit: int) -> bytes:
    """The feed's bytes, from an http(s) URL or a file (a path or file:// URL)."""
    if source.startswith(("http://", "https://")):
        try:
            with requests.get(source, timeout=timeout, stream=True) as answer:
                if answer.status_code != 200:
                    raise FeedError(f"HTTP {answer.status_code} from {source}")
                raw = answer.raw.read(limit + 1, decode_content=True)
        except requests.RequestException as exc:
            raise FeedError(f"{type(exc).__name__}: {exc}") from None
    else:
        path = Path(source.removeprefix("file://"))
        try:
            with open(path, "rb") as file:
                raw = file.read(limit + 1)
        except OSError as exc:
            raise FeedError(f"cannot read {path}: {exc.strerror}") from None
    if len(raw) > limit:
        raise FeedError(f"the feed is larger than {limit} bytes")
    return raw


def parse(raw: bytes, kind: str) -> dict:
    """{sku: {"stock": int, "cost_price": str | None}} from a CSV or JSON feed."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise FeedError("the feed is not UTF-8 text") from None
    rows = _csv_rows(text) if kind == "csv" else _json_rows(text)
    items = {}
    for number, row in rows:
        sku, item = read_item(row, f"row {number}")
        items[sku] = item
    return items


def digest(items: dict) -> str:
    return hashlib.sha256(json.dumps(items, sort_keys=True).encode()).hexdigest()


def _csv_rows(text: str):
    reader = csv.DictReader(io.StringIO(text))
    fields = {name.strip().lower() for name in reader.fieldnames or ()}
    missing = {"sku", "stock"} - fields
    if missing:
        raise FeedError(f"the CSV header has no {', '.join(sorted(missing))} column")
    for number, row in enumerate(reader, start=2):
        yield number, {(k or "").strip().lower(): v for k, v in row.items()}


def _json_rows(text: str):
    try:
        document = json.loads(text)
    except ValueError as exc:
        raise FeedError(f"the feed is not JSON: {exc}") from None
    rows = document.get("items") if isinstance(document, dict) else document
    if not isinstance(rows, list):
        raise FeedError('the JSON feed must be a list of items or {"items": [...]}')
    yield from enumerate(rows, start=1)


def read_item(row, where: str) -> tuple[str, dict]:
    """One item of a feed or a live answer: (sku, {"stock", "cost_price"}), or FeedError."""
    if not isinstance(row, dict):
        raise FeedError(f"{where}: must be an object")
    sku = str(row.get("sku") or "").strip()
    if not sku or len(sku) > 100:
        raise FeedError(f"{where}: sku is missing or longer than 100 characters")
    stock = row.get("stock")
    try:
        whole = int(str(stock).strip())
    except (TypeError, ValueError):
        raise FeedError(f"{where} ({sku}): stock must be a whole number, not {stock!r}") from None
    if whole < 0:
        raise FeedError(f"{where} ({sku}): stock must not be negative")
    price = row.get("cost_price")
    if price in (None, ""):
        return sku, {"stock": whole, "cost_price": None}
    try:
        amount = Decimal(str(price).strip())
    except InvalidOperation:
        raise FeedError(f"{where} ({sku}): cost_price {price!r} is not a number") from None
    if not amount.is_finite() or amount < 0:
        raise FeedError(f"{where} ({sku}): cost_price must be a non-negative amount")
    return sku, {"stock": whole, "cost_price": str(amount)}
