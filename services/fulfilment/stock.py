"""What each distributor has and at what price: the latest feed snapshot per distributor (a read
model of the `FeedImport` events, written in their transaction, rebuildable) and the live
stock-and-price APIs of those who have one, asked in parallel within one deadline, their answers
kept briefly."""

import threading
import time

import eventlet
import requests
import sqlalchemy as sa

from services.fulfilment.feeds import FeedError, FeedImport, read_item


def define(metadata: sa.MetaData) -> tuple[sa.Table, sa.Table]:
    items = sa.Table(
        "fulfilment_feed_items",
        metadata,
        sa.Column("distributor", sa.String(100), primary_key=True),
        sa.Column("sku", sa.String(100), primary_key=True),
        sa.Column("stock", sa.Integer, nullable=False),
        sa.Column("cost_price", sa.String(32)),
    )
    status = sa.Table(
        "fulfilment_feed_status",
        metadata,
        sa.Column("distributor", sa.String(100), primary_key=True),
        sa.Column("imported_at", sa.Float),  # the last import that read the feed
        sa.Column("items", sa.Integer, nullable=False, default=0),
        sa.Column("sha256", sa.String(64)),
        sa.Column("failed_at", sa.Float),  # the last import, if it failed
        sa.Column("error", sa.Text),
    )
    return items, status


def project(session, items: sa.Table, status: sa.Table, events) -> None:
    for e in events:
        if not isinstance(e, FeedImport.Imported):
            continue
        if e.error is not None:
            _set(session, status, e.distributor, failed_at=e.at, error=e.error[:2000])
            continue
        if e.items is not None:
            session.execute(items.delete().where(items.c.distributor == e.distributor))
            rows = [
                {"distributor": e.distributor, "sku": sku, **item} for sku, item in e.items.items()
            ]
            if rows:
                session.execute(items.insert(), rows)
        _set(
            session,
            status,
            e.distributor,
            imported_at=e.at,
            items=e.count,
            sha256=e.sha256,
            failed_at=None,
            error=None,
        )


def _set(session, table: sa.Table, distributor: str, **values) -> None:
    changed = session.execute(
        table.update().where(table.c.distributor == distributor).values(**values)
    )
    if changed.rowcount == 0:
        session.execute(table.insert().values(distributor=distributor, **values))


class LiveStock:
    """The live APIs: `GET <url>?skus=A,B` → `{"items": [{"sku", "stock", "cost_price"}]}`,
    asked in parallel (green threads) within a deadline; each answer kept `keep_seconds`. An API
    that was late or failed is not waited for again in that time either (its feed answers): one
    slow distributor does not slow every basket down."""

    def __init__(self, keep_seconds: float):
        self.keep_seconds = keep_seconds
        self._kept: dict[tuple[str, str], tuple[float, dict | None]] = {}
        self._held: dict[str, tuple[float, dict]] = {}  # code -> (until, how it last went)
        self._lock = threading.Lock()

    def ask(self, asks: dict, deadline: float) -> dict:
        """`asks`: {code: (live config, [sku…])}; `deadline`: time.monotonic() by which to have
        answered. Answers {code: {"status": live | late | failed, "items": {sku: item | None},
        "at": epoch seconds, "error"?, "took_ms"?}} — item None: the distributor does not
        carry the sku."""
        results, threads = {}, []
        pool = eventlet.GreenPool(max(1, len(asks)))
        now = time.time()
        for code, (live, skus) in asks.items():
            kept = self._fresh(code, skus)
            held = self._held.get(code)
            if kept is not None:
                results[code] = kept
            elif held is not None and held[0] > now:
                results[code] = dict(held[1], held=True)
            else:
                threads.append(pool.spawn(self._one, results, code, live, skus, deadline))
        with eventlet.Timeout(max(0.0, deadline - time.monotonic()), False):
            pool.waitall()
        for thread in threads:
            thread.kill()  # too late: answered from the feed
        for code in asks:
            results.setdefault(code, {"status": "late", "items": {}})
            outcome = results[code]
            if self.keep_seconds > 0 and outcome["status"] != "live" and not outcome.get("held"):
                self._held[code] = (time.time() + self.keep_seconds, outcome)
        return results

    def _one(self, results: dict, code: str, live: dict, skus: list, deadline: float) -> None:
        started = time.monotonic()
        headers = (
            {"Authorization": f"Bearer {live['credential']}"} if live.get("credential") else {}
        )
        try:
            answer = requests.get(
                live["url"],
                params={"skus": ",".join(skus)},
                headers=headers,
                timeout=max(0.05, deadline - started),
            )
            if answer.status_code != 200:
                raise FeedError(f"HTTP {answer.status_code}")
            listed = answer.json().get("items")
            if not isinstance(listed, list):
                raise FeedError('the answer has no "items" list')
            found = dict(read_item(row, "live item") for row in listed)
        except (requests.RequestException, ValueError, FeedError, AttributeError) as exc:
            results[code] = {"status": "failed", "items": {}, "error": str(exc)[:300]}
            return
        at = time.time()
        items = {sku: found.get(sku) for sku in skus}
        with self._lock:
            for sku, item in items.items():
                self._kept[(code, sku)] = (at, item)
        took = round((time.monotonic() - started) * 1000, 1)
        results[code] = {"status": "live", "items": items, "at": at, "took_ms": took}

    def _fresh(self, code: str, skus: list) -> dict | None:
        """Every sku's answer, if all were asked within `keep_seconds`."""
        now, items, oldest = time.time(), {}, None
        with self._lock:
            for sku in skus:
                kept = self._kept.get((code, sku))
                if kept is None or now - kept[0] > self.keep_seconds:
                    return None
                items[sku] = kept[1]
                oldest = kept[0] if oldest is None else min(oldest, kept[0])
        return {"status": "live", "items": items, "at": oldest, "cached": True}
