"""`oms history ORDER [--at TIME]`: an order's timeline across the five services — every event
of every aggregate that belongs to it, in time order, each under the event that caused it (the
causation chain: the command, the event, the reaction) — and, with `--at`, the order, its
documents and its purchase and production orders as they stood then (shared/timeline.py)."""

import click

from oms.console import pass_session, say
from oms.tail import COLOURS
from shared import timeline
from shared.settings import SERVICES


@click.command()
@click.argument("order_id", metavar="ORDER")
@click.option("--at", "at", help="as it stood at this ISO 8601 time (naive: UTC)")
@pass_session
def history(session, order_id, at) -> int:
    """An order's events across all services, each under the one that caused it."""
    try:
        until = timeline.moment(at) if at else None
    except ValueError:
        raise click.BadParameter(f"{at!r} is not an ISO 8601 time", param_hint="--at") from None
    parts = {s: getattr(session.rpc, s).order_events(order_id, until) for s in SERVICES}
    events = timeline.merged(parts)
    if not events:
        say(f"nothing about order {order_id}" + (f" before {until}" if until else ""))
        return 0 if until else 1
    for depth, event in timeline.causation_tree(events):
        service = event["type"].split(".", 1)[0]
        lead = "  " * depth + ("└─ " if depth else "")
        cause = "" if depth else f"  ← {event['causationid']}"
        say(
            f"{event['time'][:23]}  {lead}",
            (event["type"], f"bold {COLOURS.get(service, '')}"),
            f"  {event['id']}",
            (cause, "dim"),
        )
    if until:
        say()
        say((f"as at {until}", "bold"))
        for state in timeline.states_at(events, until):
            data = state["data"]
            status = data.get("status") or state["type"].split(".", 1)[1]
            extra = f", payment {data['payment_status']}" if data.get("payment_status") else ""
            say(f"  {state['service']:<11} {state['subject']}  ", (f"{status}{extra}", "bold"))
    return 0
