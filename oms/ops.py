"""`oms status`, `events`, `parked`, `retry`, `discard`, `verify` and `rebuild`: the operator's
view of the running services' logs, followers and parked events, and the repairs."""

import json

import click
from rich.progress import Progress

from oms.console import err, pass_session, say
from shared import settings
from shared.integration_log import last_sent
from shared.settings import SERVICES

SERVICE = click.Choice(SERVICES)
SHOWN = 20  # breaches shown per check


@click.command()
@pass_session
def status(session) -> int:
    """Each service's log position, how far its relay has published, its parked and waiting
    events, and each follower's position and lag (what it still has to see of its upstream)."""
    say(
        (f"{'service':<12}{'logged':>8}{'relayed':>9}{'parked':>8}{'waiting':>9}", "bold"),
        ("  following (position / lag)", "bold"),
    )
    states = {name: getattr(session.rpc, name).log_status() for name in SERVICES}
    for state in states.values():
        following = []
        for up, pos in state["tracking"].items():
            behind = lag(states[up], pos, state.get("bound", {}).get(up))
            cut = replicas_of(state.get("segments", {}).get(up))
            following.append((f"{up} {pos}/{behind}{cut}", "yellow" if behind else "green"))
        parts = [
            f"{state['service']:<12}{state['last_position']:>8}{state['relayed_position']:>9}",
            (f"{state['parked']:>8}", "red" if state["parked"] else ""),
            (f"{state['waiting']:>9}", "yellow" if state["waiting"] else ""),
            "  ",
        ]
        for i, item in enumerate(following):
            parts += [", "] * bool(i) + [item]
        say(*parts, *(["-"] if not following else []))
    return 0


def replicas_of(segments: dict | None) -> str:
    """` [12 segments: billing-1 6, billing-3 6]` when a stream is shared out or not all held."""
    if not segments or (segments["count"] == 1 and not segments["unheld"]):
        return ""
    parts = [f"{name} {len(held)}" for name, held in segments["replicas"].items()]
    parts += [f"unheld {segments['unheld']}"] * bool(segments["unheld"])
    return f" [{segments['count']} segments: {', '.join(parts)}]"


def lag(upstream: dict, tracked: int, names: list[str] | None = None) -> int:
    """How many positions of the upstream's log a follower at `tracked` has still to see: up to
    the last event the upstream sent it (of the names it is bound to; private events and other
    names at the end are nothing to see)."""
    last = upstream["last_published"] if names is None else last_sent(upstream, names)
    return max(0, last - tracked)


@click.command()
@click.argument("service", type=SERVICE)
@click.option("--after", type=int, default=0, show_default=True)
@click.option("--limit", type=int, default=100, show_default=True)
@pass_session
def events(session, service, after, limit) -> int:
    """The integration events of a service's log after a position, one JSON object a line."""
    for env in getattr(session.rpc, service).events_after(after, limit):
        click.echo(json.dumps(env, sort_keys=True))
    return 0


@click.command()
@click.argument("service", type=SERVICE, required=False)
@click.option(
    "--status",
    default="open",
    show_default=True,
    type=click.Choice(["open", "parked", "waiting", "retried", "discarded", "all"]),
    help="open is parked and waiting",
)
@pass_session
def parked(session, service, status) -> int:
    """Reactions that failed every retry, and the events of the same aggregates waiting behind
    them, per service (listing them marks them seen)."""
    found = 0
    for name in [service] if service else list(SERVICES):
        entries = getattr(session.rpc, name).parked_events(None if status == "all" else status)
        for entry in entries:
            found += 1
            colour = {"parked": "red", "waiting": "yellow", "retried": "green"}
            say((describe_parked(name, entry), colour.get(entry["status"], "")))
        getattr(session.rpc, name).mark_parked_seen([e["id"] for e in entries])
    if not found:
        say(("no parked events", "green"))
    return 0


def describe_parked(service: str, entry: dict) -> str:
    head = f"{service} #{entry['id']} {entry['status']} {entry['event_id']} {entry['event_type']}"
    if entry["status"] == "waiting":
        return f"{head} waits behind #{entry['behind']} (same {entry['subject']})"
    tail = f"after {entry['attempts']} tries at {entry['parked_at']}: {entry['error']}"
    if entry["status"] == "discarded":
        tail += f"; discarded by {entry['resolution']}"
    return f"{head} {tail}"


@click.command()
@click.argument("service", type=SERVICE)
@click.argument("parked_id", metavar="ID", type=int)
@pass_session
def retry(session, service, parked_id) -> int:
    """Run a parked reaction again, then the events waiting behind it, in order."""
    entry = getattr(session.rpc, service).retry_parked(parked_id)
    ok = entry["status"] == "retried"
    say((f"{service} #{entry['id']} {entry['status']}", "green" if ok else "red"))
    if not ok:
        say(f"  failed again: {entry['error']}")
    return 0 if ok else 1


@click.command()
@click.argument("service", type=SERVICE)
@click.argument("parked_id", metavar="ID", type=int)
@click.option("--reason", required=True, help="why it is given up (kept with it)")
@pass_session
def discard(session, service, parked_id, reason) -> int:
    """Give up on a parked reaction (it is never applied); the events behind it are replayed."""
    entry = getattr(session.rpc, service).discard_parked(parked_id, reason)
    say(f"{service} #{entry['id']} {entry['status']}")
    return 0


@click.command()
@click.option(
    "--invoice-on",
    type=click.Choice(["accept", "dispatch"]),
    default=lambda: settings.Settings.load().invoice_on,
    help="how billing invoices (default: $OMS_INVOICE_ON or accept)",
)
@click.option("--settle", type=float, default=30.0, help="seconds to wait for followers")
@click.option(
    "--parked-minutes",
    type=float,
    default=15.0,
    help="how long a parked event may wait unseen by an operator",
)
@pass_session
def verify(session, invoice_on, settle, parked_minutes) -> int:
    """Check the system's invariants from every service's log and status; exit 1 on a breach."""
    from oms.verify import verify as check

    checks = check(session.rpc, invoice_on, settle, parked_minutes)
    width = max(len(c.name) for c in checks)
    say((f"{'check'.ljust(width)}  {'checked':>8}  {'breaches':>8}", "bold"))
    for c in checks:
        row = f"{c.name.ljust(width)}  {c.checked:>8}  {len(c.breaches):>8}"
        say((row, "red" if c.breaches else "green"))
    for c in (c for c in checks if c.breaches):
        say()
        say((f"{c.name}:", "bold red"))
        for breach in c.breaches[:SHOWN]:
            say((f"  {breach}", "red"))
        if len(c.breaches) > SHOWN:
            say(f"  … and {len(c.breaches) - SHOWN} more")
    breaches = sum(len(c.breaches) for c in checks)
    say()
    say(("no breaches", "bold green") if not breaches else (f"{breaches} breaches", "bold red"))
    return 1 if breaches else 0


@click.command()
@click.argument("service", type=SERVICE, required=False)
@click.argument("read_model", required=False)
@click.option(
    "--verify",
    is_flag=True,
    help="rebuild into a scratch copy (a transaction rolled back) and compare it with the live"
    " rows; exit 1 if they differ",
)
@pass_session
def rebuild(session, service, read_model, verify) -> int:
    """Write read models again from the log: every one of every service, every one of SERVICE,
    or READ_MODEL alone; with --verify, only check that a rebuild would change nothing."""
    rpc = session.rpc
    if read_model and not service:
        raise click.UsageError("READ_MODEL needs its SERVICE")
    work = [
        (name, model)
        for name in ([service] if service else SERVICES)
        for model in ([read_model] if read_model else getattr(rpc, name).read_models())
    ]
    differ = 0
    with Progress(console=err, transient=True) as progress:
        task = progress.add_task("rebuilding" if not verify else "verifying", total=len(work))
        for name, model in work:
            progress.update(task, description=f"{name} {model}")
            done = getattr(rpc, name).rebuild(model, verify)
            differ += bool(done.get("differences"))
            progress.advance(task)
            _rebuilt(name, done)
    if verify:
        say(("every read model rebuilds to its live rows", "bold green") if not differ
            else (f"{differ} read models differ from a rebuild", "bold red"))  # fmt: skip
    return 1 if differ else 0


def _rebuilt(service: str, done: dict) -> None:
    head = f"{service} {done['read_model']}: "
    if "written_from" in done:
        say(head, "rebuilt from ", (str(done["written_from"]), "bold"))
        return
    if not done["differences"]:
        say(head, ("identical to a rebuild", "green"))
        return
    say(head, ("DIFFERS from a rebuild", "bold red"))
    for table in done["differences"]:
        say(f"  {table['table']}: {table['live_rows']} rows live, {table['rebuilt_rows']} rebuilt")
        for row in table["only_live"]:
            say(("    only live:    ", "red"), str(row))
        for row in table["only_rebuilt"]:
            say(("    only rebuilt: ", "yellow"), str(row))


COMMANDS = (status, events, parked, retry, discard, verify, rebuild)
