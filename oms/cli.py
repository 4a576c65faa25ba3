"""`oms`: the operator's command line over the running services (status and lag, logs, parked
events, rebuilding the read models)."""

import warnings

warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")

import eventlet  # noqa: E402

eventlet.monkey_patch()

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402

from nameko.standalone.rpc import ClusterRpcProxy  # noqa: E402

from oms import documents, feeds, mailbox  # noqa: E402
from shared import actors, settings  # noqa: E402
from shared.errors import OmsError  # noqa: E402
from shared.integration_log import last_sent  # noqa: E402
from shared.settings import SERVICES  # noqa: E402


def status(rpc, args) -> int:
    """Each service's log position, how far its relay has published, its parked and waiting
    events, and each follower's position and lag (what it still has to see of its upstream)."""
    print(
        f"{'service':<12}{'logged':>8}{'relayed':>9}{'parked':>8}{'waiting':>9}"
        "  following (position / lag)"
    )
    states = {name: getattr(rpc, name).log_status() for name in SERVICES}
    for state in states.values():
        following = ", ".join(
            f"{up} {pos}/{lag(states[up], pos, state.get('bound', {}).get(up))}"
            for up, pos in state["tracking"].items()
        )
        print(
            f"{state['service']:<12}{state['last_position']:>8}{state['relayed_position']:>9}"
            f"{state['parked']:>8}{state['waiting']:>9}  {following or '-'}"
        )
    return 0


def lag(upstream: dict, tracked: int, names: list[str] | None = None) -> int:
    """How many positions of the upstream's log a follower at `tracked` has still to see: up to
    the last event the upstream sent it (of the names it is bound to; private events and other
    names at the end are nothing to see)."""
    last = upstream["last_published"] if names is None else last_sent(upstream, names)
    return max(0, last - tracked)


def events(rpc, args) -> int:
    """The integration events of a service's log after a position, one JSON object a line."""
    for env in getattr(rpc, args.service).events_after(args.after, args.limit):
        print(json.dumps(env, sort_keys=True))
    return 0


def parked(rpc, args) -> int:
    """Reactions that failed every retry, and the events of the same aggregates waiting behind
    them, per service (listing them marks them seen)."""
    services = [args.service] if args.service else list(SERVICES)
    status = None if args.status == "all" else args.status
    found = 0
    for name in services:
        entries = getattr(rpc, name).parked_events(status)
        for entry in entries:
            found += 1
            print(describe_parked(name, entry))
        getattr(rpc, name).mark_parked_seen([e["id"] for e in entries])
    if not found:
        print("no parked events")
    return 0


def describe_parked(service: str, entry: dict) -> str:
    head = f"{service} #{entry['id']} {entry['status']} {entry['event_id']} {entry['event_type']}"
    if entry["status"] == "waiting":
        return f"{head} waits behind #{entry['behind']} (same {entry['subject']})"
    tail = f"after {entry['attempts']} tries at {entry['parked_at']}: {entry['error']}"
    if entry["status"] == "discarded":
        tail += f"; discarded by {entry['resolution']}"
    return f"{head} {tail}"


def retry(rpc, args) -> int:
    """Run a parked reaction again, then the events waiting behind it, in order."""
    entry = getattr(rpc, args.service).retry_parked(args.id)
    print(f"{args.service} #{entry['id']} {entry['status']}")
    if entry["status"] != "retried":
        print(f"  failed again: {entry['error']}")
    return 0 if entry["status"] == "retried" else 1


def discard(rpc, args) -> int:
    """Give up on a parked reaction (it is never applied); the events behind it are replayed."""
    entry = getattr(rpc, args.service).discard_parked(args.id, args.reason)
    print(f"{args.service} #{entry['id']} {entry['status']}")
    return 0


def verify(rpc, args) -> int:
    """Check the system's invariants from every service's log and status; exit 1 on a breach."""
    from oms.verify import report
    from oms.verify import verify as check

    checks = check(rpc, args.invoice_on, args.settle, args.parked_minutes)
    print(report(checks))
    breaches = sum(len(c.breaches) for c in checks)
    print(f"\n{'no breaches' if not breaches else f'{breaches} breaches'}")
    return 1 if breaches else 0


def rebuild(rpc, args) -> int:
    """Drop the read models (the orders list, billing's documents list, production's queue,
    notify's and fulfilment's outboxes, the distributors) and write them again from the log."""
    rebuilt = rpc.orders.rebuild_read_model()
    print(f"orders: the list rebuilt from {rebuilt['aggregates']} aggregates")
    rebuilt = rpc.billing.rebuild_read_model()
    print(f"billing: the documents list rebuilt from {rebuilt['aggregates']} accounts")
    rebuilt = rpc.production.rebuild_read_model()
    print(
        f"production: the workshop's queue rebuilt from {rebuilt['aggregates']} production orders"
    )
    rebuilt = rpc.notify.rebuild_read_model()
    print(f"notify: the outbox rebuilt, {rebuilt['sends']} sends")
    rebuilt = rpc.fulfilment.rebuild_read_model()
    print(
        f"fulfilment: the outbox rebuilt, {rebuilt['sends']} sends;"
        f" {rebuilt['distributors']} distributors"
    )
    return 0


def keys(rpc, args) -> int:
    """API keys for the HTTP gateway: create, revoke, list, or an RPC actor token for one."""
    if args.action == "create":
        created = rpc.gateway.create_key(args.name, args.role)
        print(f"{created['name']} ({created['role']}): {created['key']}")
        print("keep it now: it is shown only this once (the gateway stores a hash)")
    elif args.action == "revoke":
        revoked = rpc.gateway.revoke_key(args.name)
        print(f"{revoked['name']} revoked at {revoked['revoked_at']}")
    elif args.action == "token":
        token = rpc.gateway.token_for_key(args.name)
        print(token["token"])
        print(
            f"{token['name']} ({token['role']}), valid until {token['expires_at']}", file=sys.stderr
        )
    else:
        for key in rpc.gateway.list_keys():
            state = f"revoked {key['revoked_at']}" if key["revoked_at"] else "active"
            print(f"{key['name']:<24} {key['role']:<10} {key['hint']:<14} {state}")
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="oms", description=__doc__)
    p.add_argument(
        "--amqp-uri", default=None, help="broker (default: $OMS_AMQP_URI or the local one)"
    )
    p.add_argument(
        "--actor",
        default=os.environ.get("USER") or "operator",
        help="who the changes are recorded as (default: $USER); the CLI acts as admin with"
        " the local actor secret (OMS_ACTOR_SECRET or var/actor-secret)",
    )
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser("status", help=status.__doc__).set_defaults(handler=status)
    ev = sub.add_parser("events", help=events.__doc__)
    ev.add_argument("service", choices=SERVICES)
    ev.add_argument("--after", type=int, default=0)
    ev.add_argument("--limit", type=int, default=100)
    ev.set_defaults(handler=events)
    pk = sub.add_parser("parked", help=parked.__doc__)
    pk.add_argument("service", nargs="?", choices=SERVICES)
    pk.add_argument(
        "--status",
        default="open",
        choices=["open", "parked", "waiting", "retried", "discarded", "all"],
        help="open (the default) is parked and waiting",
    )
    pk.set_defaults(handler=parked)
    rt = sub.add_parser("retry", help=retry.__doc__)
    rt.add_argument("service", choices=SERVICES)
    rt.add_argument("id", type=int)
    rt.set_defaults(handler=retry)
    dc = sub.add_parser("discard", help=discard.__doc__)
    dc.add_argument("service", choices=SERVICES)
    dc.add_argument("id", type=int)
    dc.add_argument("--reason", required=True, help="why it is given up (kept with it)")
    dc.set_defaults(handler=discard)
    sub.add_parser("rebuild", help=rebuild.__doc__).set_defaults(handler=rebuild)
    ky = sub.add_parser("keys", help=keys.__doc__)
    ky.set_defaults(handler=keys)
    actions = ky.add_subparsers(dest="action", required=True)
    made = actions.add_parser("create", help="a new key (printed once)")
    made.add_argument("--name", required=True, help="who its requests are recorded as")
    made.add_argument("--role", required=True, choices=actors.ROLES)
    for action, text in (("revoke", "refuse the key from now on"), ("token", "an RPC token")):
        actions.add_parser(action, help=text).add_argument("name")
    actions.add_parser("list", help="every key (never the key itself)")
    documents.add_parser(sub)
    feeds.add_parser(sub)
    vf = sub.add_parser("verify", help=verify.__doc__)
    vf.add_argument(
        "--invoice-on",
        choices=["accept", "dispatch"],
        default=settings.Settings.load().invoice_on,
        help="how billing invoices (default: $OMS_INVOICE_ON or accept)",
    )
    vf.add_argument(
        "--settle", type=float, default=30.0, help="seconds to wait for followers to catch up"
    )
    vf.add_argument(
        "--parked-minutes",
        type=float,
        default=15.0,
        help="how long a parked event may wait unseen by an operator",
    )
    vf.set_defaults(handler=verify)
    for name, handler in (("mail", mailbox.mail), ("sms", mailbox.sms)):
        box = sub.add_parser(name, help=handler.__doc__)
        box.add_argument("--dir", help="where the stand-in keeps them (default: under var/)")
        box.add_argument("--last", type=int, default=20, help="how many to list (default 20)")
        if name == "mail":
            box.add_argument("--show", type=int, metavar="N", help="print message N")
        box.set_defaults(handler=handler, local=True)
    return p


def main(argv=None) -> int:
    args = parser().parse_args(argv)
    if getattr(args, "local", False):  # read from var/: no broker needed
        return args.handler(args)
    loaded = settings.Settings.load()
    config = dict(loaded.nameko_config(), AMQP_URI=args.amqp_uri or loaded.amqp_uri)
    secret = actors.local_secret(loaded.actor_secret)
    caller = actors.rpc_context(secret, args.actor) if secret else {}
    try:
        with ClusterRpcProxy(config, timeout=loaded.rpc_timeout, context_data=caller) as rpc:
            return args.handler(rpc, args)
    except OmsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
