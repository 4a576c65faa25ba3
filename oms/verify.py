"""`oms verify`: the system's invariants, checked from what every service answers over RPC (its
log of integration events and its status), as an operator would. Each check counts what it looked
at and lists its breaches; any breach makes the command exit non-zero.

The invariants:
- every accepted order has exactly one invoice (one per shipped shipping when invoicing on
  dispatch), and no invoice exists without an accepted order;
- every shipped shipping has one purchase order per distributor of its bought-in lines, and no
  purchase order exists without one (a shipping an own courier delivers needs none);
- every status event that notify's rules notify has exactly one notification;
- once quiet, every follower has seen the last event its upstream sent it (of the names its queue
  is bound to);
- no parked event is older than N minutes without an operator having seen it (`oms parked`).
"""

import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from services.notify.templates import Templates
from shared.integration_log import last_sent
from shared.settings import SERVICES

NOTIFIED_UPSTREAMS = ("orders", "billing", "production", "fulfilment")


@dataclass
class Check:
    name: str
    checked: int = 0
    breaches: list[str] = field(default_factory=list)

    def count(self, what, ok: bool, breach: str) -> None:
        self.checked += 1
        if not ok:
            self.breaches.append(f"{what}: {breach}")


def read_log(service_rpc, page: int = 1000) -> list[dict]:
    """A service's whole log of integration events, in order."""
    events, position = [], 0
    while True:
        got = service_rpc.events_page(position, page)
        events += got["events"]
        position = got["scanned_to"]
        if not got["more"]:
            return events


def of(log: list[dict], name: str) -> list[dict]:
    return [e for e in log if e["type"].endswith(f".{name}")]


def invoices(logs: dict, invoice_on: str) -> list[Check]:
    accepted = {e["data"]["order_id"] for e in of(logs["orders"], "order_accepted")}
    issued = [e["data"] for e in of(logs["billing"], "invoice_issued")]
    main = [d for d in issued if d.get("kind", "invoice") == "invoice"]
    per_order = Counter(d["order_id"] for d in main)
    one = Check("every accepted order has its invoice, once")
    if invoice_on == "dispatch":
        shipped = {(e["data"]["order_id"], e["data"]["shipping_id"]) for e in _shipped(logs)}
        per_shipping = Counter((d["order_id"], d.get("shipping_id")) for d in main)
        for key in sorted(shipped | set(per_shipping)):
            n = per_shipping[key]
            one.count(f"order {key[0]} shipping {key[1]}", n == (key in shipped), f"{n} invoices")
    else:
        for order_id in sorted(accepted | set(per_order)):
            n = per_order[order_id]
            one.count(f"order {order_id}", n == (order_id in accepted), f"{n} invoices")
    orphans = Check("no invoice without an accepted order")
    for d in issued:
        orphans.count(f"invoice {d.get('number')}", d["order_id"] in accepted, "order not accepted")
    return [one, orphans]


def _shipped(logs: dict) -> list[dict]:
    return of(logs["orders"], "shipping_shipped")


def purchase_orders(logs: dict) -> Check:
    expected = set()
    for e in _shipped(logs):
        for line in e["data"]["lines"]:
            if line.get("distributor") and not line.get("made_in_house"):
                expected.add((e["data"]["shipping_id"], line["distributor"]))
    raised = Counter(
        (e["data"]["shipping_id"], e["data"]["distributor"])
        for e in of(logs["fulfilment"], "purchase_order_raised")
    )
    # an own courier delivers from stock: its shipping needs none (one raised before the
    # courier was assigned stands, once)
    couriered = {e["data"]["shipping_id"] for e in of(logs["fulfilment"], "courier_assigned")}
    check = Check("every shipped shipping has one purchase order per distributor")
    for key in sorted(expected | set(raised)):
        n = raised[key]
        ok = n <= 1 if key[0] in couriered else n == (key in expected)
        check.count(f"shipping {key[0]} to {key[1]}", ok, f"{n} raised")
    return check


def notifications(logs: dict) -> Check:
    queued = of(logs["notify"], "notification_queued")
    sent = Counter(  # an operator's own messages are about no event
        e["data"].get("source_event")
        for e in queued
        if e["data"].get("event_type") != "notify.message"
    )
    templates = Templates()
    # {event id: how many messages its templates write: one, or more with `type@audience` ones
    # (an SMS one only to someone with a number, so at least the first)}
    expected = {
        e["id"]: len([k for k in templates.variants(e["type"]) if templates.covers(k, e["data"])])
        for service in NOTIFIED_UPSTREAMS
        for e in logs[service]
        if templates.covers(e["type"], e["data"])
    }
    check = Check("every status event has its notifications")
    for source in sorted(set(expected) | (set(sent) - {None}), key=str):
        n, most = sent[source], expected.get(source, 0)
        check.count(f"event {source}", 1 <= n <= most if most else n == 0, f"{n} notifications")
    return check


def followers(statuses: dict) -> Check:
    """A follower is bound to some of its upstream's event names: it has to reach the last event
    of those (the rest it reads on its idle pulls, and need not)."""
    check = Check("every follower has seen the last event its upstream sent it")
    for name, state in statuses.items():
        for upstream, tracked in state["tracking"].items():
            last = None
            if upstream in statuses:
                names = state.get("bound", {}).get(upstream)
                last = (
                    statuses[upstream]["last_published"]
                    if names is None
                    else last_sent(statuses[upstream], names)
                )
            check.count(
                f"{name} following {upstream}",
                last is not None and tracked >= last,
                f"at {tracked}, upstream sent it up to {last}",
            )
    return check


def parked(entries: dict, older_than: timedelta, now: datetime) -> Check:
    check = Check(f"no parked event unseen for over {older_than.total_seconds() / 60:g} min")
    for service, listed in entries.items():
        for entry in listed:
            age = now - datetime.fromisoformat(entry["parked_at"])
            check.count(
                f"{service} #{entry['id']} {entry['event_id']}",
                entry["seen_at"] is not None or age <= older_than,
                f"{entry['status']} for {age.total_seconds() / 60:.0f} min, never listed",
            )
    return check


def statuses_when_quiet(rpc, settle: float) -> dict:
    """Every service's status, once the followers have caught up or `settle` seconds passed (a
    service that does not answer yet — still reconnecting — is asked again meanwhile)."""
    deadline = time.monotonic() + settle
    while True:
        try:
            statuses = {name: getattr(rpc, name).log_status() for name in SERVICES}
        except Exception:  # noqa: BLE001 - not answering yet: ask again until the deadline
            if time.monotonic() >= deadline:
                raise
            time.sleep(1)
            continue
        if not followers(statuses).breaches or time.monotonic() >= deadline:
            return statuses
        time.sleep(0.5)


def verify(rpc, invoice_on: str, settle: float, parked_minutes: float) -> list[Check]:
    statuses = statuses_when_quiet(rpc, settle)
    logs = {name: read_log(getattr(rpc, name)) for name in SERVICES}
    entries = {name: getattr(rpc, name).parked_events("open") for name in SERVICES}
    return [
        *invoices(logs, invoice_on),
        purchase_orders(logs),
        notifications(logs),
        followers(statuses),
        parked(entries, timedelta(minutes=parked_minutes), datetime.now(UTC)),
    ]
