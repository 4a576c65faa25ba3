"""Stock and price, as a storefront asks for them from the basket: every distributor with a live
API is asked at once within one deadline; the others, the late and the failed are answered from
their latest feed, each answer saying where it came from and how old it is. Feeds are imported on
their interval (`FeedScheduler`, beside the relay) and on demand."""

import time
from datetime import UTC, datetime
from uuid import uuid4

import sqlalchemy as sa

from services.fulfilment import stock
from services.fulfilment.feeds import FeedError, FeedImport, digest, fetch, parse
from shared import logging as oms_logging
from shared.leadership import leader_lock
from shared.readmodels import rebuilding
from shared.refusals import Refused

log = oms_logging.get("feeds")


def iso(epoch: float | None) -> str | None:
    return None if epoch is None else datetime.fromtimestamp(epoch, UTC).isoformat()


class Availability:
    """Mixin of the fulfilment application: feeds, live answers, and the two together."""

    def define_tables(self, metadata: sa.MetaData) -> None:
        super().define_tables(metadata)
        self.feed_items, self.feed_status = stock.define(metadata)
        self.live = stock.LiveStock(self.settings.live_cache_seconds)

    def project(self, session, recordings) -> None:
        super().project(session, recordings)
        events = [r.domain_event for r in recordings]
        stock.project(session, self.feed_items, self.feed_status, events)

    def rebuild_feeds(self) -> int:
        with rebuilding(self, self.feed_items, self.feed_status) as session:
            position = 0
            while batch := self.notifications_after(position, 2000):
                events = [self.mapper.to_domain_event(n) for n in batch]
                stock.project(session, self.feed_items, self.feed_status, events)
                position = batch[-1].id
            return session.execute(
                sa.select(sa.func.count()).select_from(self.feed_status)
            ).scalar()

    # -- feeds -----------------------------------------------------------------------------------
    def import_feed(self, code: str) -> dict:
        """Read the distributor's feed now; a feed that cannot be read keeps the last snapshot."""
        distributor = self.distributor(code, field=None)
        feed = distributor.feed
        if not feed:
            raise Refused(f"distributor {code} has no feed", "no_feed")
        at, s = time.time(), self.settings
        try:
            items = parse(
                fetch(feed["source"], s.send_timeout_seconds, s.feed_max_bytes), feed["format"]
            )
        except FeedError as exc:
            log.warning("feed_failed", distributor=code, error=str(exc)[:300])
            self.save(FeedImport(id=uuid4(), distributor=code, at=at, sha256=None, items=None,
                                 count=0, error=str(exc)))  # fmt: skip
            return self.feed_of(code)
        sha = digest(items)
        same = (self._status_row(code) or {}).get("sha256") == sha
        self.save(FeedImport(id=uuid4(), distributor=code, at=at, sha256=sha,
                             items=None if same else items, count=len(items)))  # fmt: skip
        return self.feed_of(code)

    def _status_row(self, code: str) -> dict | None:
        t = self.feed_status
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(t).where(t.c.distributor == code)).first()
        return dict(row._mapping) if row else None

    def feed_of(self, code: str) -> dict:
        row = self._status_row(code) or {}
        now = time.time()
        imported = row.get("imported_at")
        return {
            "distributor": code,
            "imported_at": iso(imported),
            "age_seconds": None if imported is None else round(now - imported, 1),
            "items": row.get("items", 0),
            "failed_at": iso(row.get("failed_at")),
            "error": row.get("error"),
        }

    def feeds(self) -> list[dict]:
        with_feeds = [d for d in self.list_distributors() if d.feed]
        return [dict(self.feed_of(d.code), source=d.feed["source"]) for d in with_feeds]

    def feeds_due(self, now: float) -> list[str]:
        due = []
        for d in self.list_distributors():
            if not d.feed or not d.active:
                continue
            row = self._status_row(d.code) or {}
            last = max(filter(None, (row.get("imported_at"), row.get("failed_at"))), default=None)
            if last is None or now - last >= d.feed["interval_seconds"]:
                due.append(d.code)
        return due

    # -- stock and price ---------------------------------------------------------------------------
    def check_availability(self, lines: list, deadline_ms: int) -> dict:
        """Per sku, every candidate distributor's stock and cost price: live where it answered in
        time, else from its feed (with the feed's age and why), else unknown."""
        started = time.monotonic()
        deadline = started + deadline_ms / 1000
        active = [d for d in self.list_distributors() if d.active]
        candidates = {x["sku"]: self._candidates(x["sku"], active) for x in lines}
        distributors = {d.code: d for ds in candidates.values() for d in ds}
        asks = {}
        for code, d in distributors.items():
            skus = [sku for sku, ds in candidates.items() if d in ds]
            if d.live:
                asks[code] = (d.live, skus)
        answered = self.live.ask(asks, deadline)
        took = round((time.monotonic() - started) * 1000, 1)
        feed = self._feed_rows(list(candidates), list(distributors))
        now = time.time()
        out = []
        for line in lines:
            offers, unknown = [], []
            for d in candidates[line["sku"]]:
                offer = _offer(d, line, answered.get(d.code), feed, now)
                (offers if "stock" in offer else unknown).append(offer)
            offers.sort(key=lambda o: (not o["enough"], _price_key(o), o["distributor"]))
            out.append({"sku": line["sku"], "quantity": line["quantity"],
                        "available": any(o["enough"] for o in offers),
                        "offers": offers, "unknown": unknown})  # fmt: skip
        return {"checked_at": iso(now), "deadline_ms": deadline_ms, "took_ms": took, "lines": out}

    def _candidates(self, sku: str, active: list) -> list:
        """The active distributors that supply the sku (the catalogue's list; all when the sku is
        not in the catalogue)."""
        supply = self.supply(sku)
        if supply is None:
            return active
        if supply.made_in_house:
            return []
        return [d for d in active if d.code in supply.distributors]

    def _feed_rows(self, skus: list, codes: list) -> dict:
        items, status = self.feed_items, self.feed_status
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(items).where(items.c.sku.in_(skus), items.c.distributor.in_(codes))
            ).all()
            states = conn.execute(sa.select(status).where(status.c.distributor.in_(codes))).all()
        found = {(r.distributor, r.sku): dict(r._mapping) for r in rows}
        return {"items": found, "status": {s.distributor: dict(s._mapping) for s in states}}


def _price_key(offer: dict):
    return (offer["cost_price"] is None, float(offer["cost_price"] or 0))


def _offer(d, line: dict, live: dict | None, feed: dict, now: float) -> dict:
    """One distributor's answer for one line: live, else its feed, else unknown (and why)."""
    sku, base = line["sku"], {"distributor": d.code, "currency": d.currency}
    why = "no live API"
    if live is not None:
        if live["status"] == "live":
            item = live["items"].get(sku)
            if item is None:
                return dict(base, why="its live API does not list this sku")
            return dict(base, **_stock(item, line), source="live",
                        age_seconds=round(now - live["at"], 1), as_of=iso(live["at"]))  # fmt: skip
        why = (
            "live answer late" if live["status"] == "late" else f"live API failed: {live['error']}"
        )
    status = feed["status"].get(d.code) or {}
    item = feed["items"].get((d.code, sku))
    if item is None or status.get("imported_at") is None:
        reason = "no feed" if not d.feed else "its feed does not list this sku"
        return dict(base, why=f"{why}; {reason}")
    offer = dict(base, **_stock(item, line), source="feed", why=why,
                 age_seconds=round(now - status["imported_at"], 1),
                 as_of=iso(status["imported_at"]))  # fmt: skip
    if status.get("failed_at"):
        offer["feed_problem"] = (
            f"the last import failed at {iso(status['failed_at'])}: {status['error']}"
        )
    return offer


def _stock(item: dict, line: dict) -> dict:
    return {
        "stock": item["stock"],
        "cost_price": item["cost_price"],
        "enough": item["stock"] >= line["quantity"],
    }


class FeedScheduler:
    """Imports each distributor's feed when its interval has passed, while it holds the
    service's feeds lock (one importer per service)."""

    def __init__(self, app, settings):
        self.app, self.every = app, settings.feed_check_seconds
        self._stopping = False
        self._leader = leader_lock(app, "feeds")

    def stop(self) -> None:
        self._stopping = True

    def run(self) -> None:
        try:
            while not self._stopping:
                try:
                    self.import_due()
                except Exception as exc:  # noqa: BLE001 - store away: try on the next round
                    log.warning("feeds_failed", error=repr(exc)[:300])
                for _ in range(int(self.every * 10)):
                    if self._stopping:
                        break
                    time.sleep(0.1)
        finally:
            self._leader.release()

    def import_due(self) -> int:
        if not self._leader.acquire():
            return 0
        due = self.app.feeds_due(time.time())
        for code in due:
            if self._stopping:
                break
            self.app.import_feed(code)
        return len(due)
