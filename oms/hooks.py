"""`oms webhooks`: an admin's command line for integrators' webhook subscriptions — add (prints
the id and the `whsec_` secret once), list, deliveries, rewind, redeliver, resume, rotate and
remove (docs/integrators.md)."""

import click

from oms.console import pass_session, say

STATE = {"active": "green", "paused": "red", "removed": "dim"}


@click.group()
def webhooks() -> None:
    """Webhook subscriptions (Standard Webhooks) for integrators."""


@webhooks.command()
@click.argument("url")
@click.option(
    "--events",
    default="*",
    show_default=True,
    help="event types, comma-separated: orders.order_accepted, billing.* or * for all",
)
@click.option("--description", default="", help="whose endpoint it is, for operators")
@click.option(
    "--start", help="deliver from a journal position, event id or ISO time (default: now)"
)
@pass_session
def add(session, url, events, description, start) -> int:
    """Subscribe URL; prints the subscription's id and its secret (shown only now)."""
    given = {"url": url, "event_types": [e.strip() for e in events.split(",") if e.strip()]}
    if description:
        given["description"] = description
    if start:
        given["start"] = int(start) if start.isdigit() else start
    created = session.rpc.notify.create_webhook(given)
    say(("id      ", "bold"), created["id"])
    say(("secret  ", "bold"), created["secret"])
    say(("keep the secret now: it is shown only this once (and on rotation)", "yellow"))
    return 0


@webhooks.command(name="list")
@pass_session
def list_hooks(session) -> int:
    """Every subscription: its state (and why it is paused), position and deliveries."""
    listed = session.rpc.notify.list_webhooks()
    if not listed:
        say("no webhooks")
    for hook in listed:
        say(*_line(hook))
        if hook["paused_reason"]:
            say(("    paused: ", "red"), hook["paused_reason"])
    return 0


def _line(hook: dict) -> list:
    counts = ", ".join(f"{n} {status}" for status, n in sorted(hook["deliveries"].items()))
    return [
        f"{hook['id']}  ",
        (f"{hook['status']:<7}", STATE.get(hook["status"], "")),
        f"  {hook['url']}  [{','.join(hook['event_types'])}]  at {hook['position']}"
        f" (round {hook['round']})  {counts or 'nothing delivered yet'}",
    ]


@webhooks.command()
@click.argument("webhook_id", metavar="ID")
@click.option("--status", help="pending, delivered, dead, queued or dropped")
@click.option("--limit", type=int, default=50, show_default=True)
@pass_session
def deliveries(session, webhook_id, status, limit) -> int:
    """A subscription's deliveries, newest first (`--status dead`: its dead letters)."""
    colour = {"delivered": "green", "dead": "red", "pending": "yellow"}
    for d in session.rpc.notify.webhook_deliveries(webhook_id, status, limit):
        answer = f"  {d['answer']}" if d["answer"] else ""
        say(
            f"{d['seq']:>8}  {d['event_id']:<18} {d['event_type']:<36} ",
            (f"{d['status']:<9}", colour.get(d["status"], "")),
            f" {d['attempts']} tries{answer}",
        )
    return 0


@webhooks.command()
@click.argument("webhook_id", metavar="ID")
@click.argument("position")
@pass_session
def rewind(session, webhook_id, position) -> int:
    """Deliver again from POSITION: a journal position, an event id (orders:12) or an ISO time."""
    given = int(position) if position.isdigit() else position
    say(*_line(session.rpc.notify.rewind_webhook(webhook_id, given)))
    return 0


@webhooks.command()
@click.argument("webhook_id", metavar="ID")
@pass_session
def redeliver(session, webhook_id) -> int:
    """Its dead letters go again, in log order; it resumes if paused."""
    say(*_line(session.rpc.notify.redeliver_webhook(webhook_id)))
    return 0


@webhooks.command()
@click.argument("webhook_id", metavar="ID")
@pass_session
def resume(session, webhook_id) -> int:
    """A paused subscription goes on, leaving its dead letters where they are."""
    say(*_line(session.rpc.notify.resume_webhook(webhook_id)))
    return 0


@webhooks.command()
@click.argument("webhook_id", metavar="ID")
@click.option("--overlap", type=float, help="seconds the old secret still signs (default: a day)")
@pass_session
def rotate(session, webhook_id, overlap) -> int:
    """A new secret (printed once); the old one signs beside it for the overlap."""
    rotated = session.rpc.notify.rotate_webhook_secret(webhook_id, overlap)
    say(("secret  ", "bold"), rotated["secret"])
    say(f"the previous secret signs too until {rotated['previous_secret_until']} (unix time)")
    return 0


@webhooks.command()
@click.argument("webhook_id", metavar="ID")
@pass_session
def remove(session, webhook_id) -> int:
    """Stop delivering to it (a delivery under way is dropped)."""
    say(*_line(session.rpc.notify.remove_webhook(webhook_id)))
    return 0
