"""`oms history ORDER [--at TIME]`: an order's timeline across the five services — every event
of every aggregate that belongs to it, in time order, each under the event that caused it (the
causation chain: the command, the event, the reaction) — and, with `--at`, the order as it stood
then."""

from datetime import UTC, datetime

import click

from oms.console import pass_session, say
from oms.tail import COLOURS
from shared.settings import SERVICES


def timeline(rpc, order_id: str, until: str | None = None) -> list[dict]:
    """Every service's part of the order's timeline, merged in time order."""
    events = [e for s in SERVICES for e in getattr(rpc, s).order_events(order_id, until)]
    return sorted(events, key=lambda e: (e["time"], e["id"]))


def moment(text: str) -> str:
    """An ISO 8601 time (naive: UTC) as the logs write them."""
    try:
        at = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise click.BadParameter(f"{text!r} is not an ISO 8601 time") from None
    return (at if at.tzinfo else at.replace(tzinfo=UTC)).astimezone(UTC).isoformat()


@click.command()
@click.argument("order_id", metavar="ORDER")
@click.option("--at", "at", help="as it stood at this ISO 8601 time (naive: UTC)")
@pass_session
def history(session, order_id, at) -> int:
    """An order's events across all services, each under the one that caused it."""
    until = moment(at) if at else None
    events = timeline(session.rpc, order_id, until)
    if not events:
        say(f"nothing about order {order_id}" + (f" before {until}" if until else ""))
        return 1 if not until else 0
    ids = {e["id"] for e in events}
    children: dict[str, list[dict]] = {}
    roots = []
    for e in events:
        cause = e["causationid"]
        (children.setdefault(cause, []) if cause in ids else roots).append(e)
    for root in roots:
        _show(root, children, depth=0)
    if until:
        _state_at(events, until)
    return 0


def _show(event: dict, children: dict, depth: int) -> None:
    service = event["type"].split(".", 1)[0]
    lead = "  " * depth + ("└─ " if depth else "")
    cause = "" if depth else f"  ← {event['causationid']}"
    say(
        f"{event['time'][:23]}  {lead}",
        (event["type"], f"bold {COLOURS.get(service, '')}"),
        f"  {event['id']}",
        (cause, "dim"),
    )
    for child in children.get(event["id"], ()):
        _show(child, children, depth + 1)


def _state_at(events: list[dict], until: str) -> None:
    """The order, each document and each purchase or production order as their last event
    before `until` described them."""
    last: dict[str, dict] = {}
    for e in events:
        last[e["subject"]] = e
    say()
    say((f"as at {until}", "bold"))
    for subject, e in last.items():
        data = e["data"]
        status = data.get("status") or data.get("payment_status") or e["type"].split(".", 1)[1]
        extra = f", payment {data['payment_status']}" if data.get("payment_status") else ""
        say(f"  {e['type'].split('.', 1)[0]:<11} {subject}  ", (f"{status}{extra}", "bold"))
