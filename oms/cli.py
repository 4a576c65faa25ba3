"""`oms`: the operator's command line over the running services (status and lag, logs, parked
events, rebuilding the orders read model)."""

import warnings

warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")

import eventlet  # noqa: E402

eventlet.monkey_patch()

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402

from nameko.standalone.rpc import ClusterRpcProxy  # noqa: E402

from shared import settings  # noqa: E402
from shared.errors import OmsError  # noqa: E402
from shared.settings import SERVICES  # noqa: E402


def status(rpc, args) -> int:
    """Each service's log position, how far its relay has published, and each follower's lag."""
    print(f"{'service':<12}{'logged':>8}{'relayed':>9}{'parked':>8}  following (position / lag)")
    logged = {}
    rows = []
    for name in SERVICES:
        state = getattr(rpc, name).log_status()
        logged[name] = state["last_position"]
        rows.append(state)
    for state in rows:
        following = ", ".join(
            f"{up} {pos}/{logged[up] - pos}" for up, pos in state["tracking"].items()
        )
        print(
            f"{state['service']:<12}{state['last_position']:>8}{state['relayed_position']:>9}"
            f"{state['parked']:>8}  {following or '-'}"
        )
    return 0


def events(rpc, args) -> int:
    """The integration events of a service's log after a position, one JSON object a line."""
    for env in getattr(rpc, args.service).events_after(args.after, args.limit):
        print(json.dumps(env, sort_keys=True))
    return 0


def parked(rpc, args) -> int:
    """Reactions that failed every retry, per service."""
    services = [args.service] if args.service else list(SERVICES)
    found = 0
    for name in services:
        for entry in getattr(rpc, name).parked_events(args.status):
            found += 1
            print(
                f"{name} #{entry['id']} {entry['status']} {entry['event_id']} {entry['event_type']} "
                f"after {entry['attempts']} tries at {entry['parked_at']}: {entry['error']}"
            )
    if not found:
        print("no parked events")
    return 0


def retry(rpc, args) -> int:
    """Run a parked reaction again."""
    entry = getattr(rpc, args.service).retry_parked(args.id)
    print(f"{args.service} #{entry['id']} {entry['status']}")
    return 0 if entry["status"] == "retried" else 1


def rebuild(rpc, args) -> int:
    """Drop the orders read model (the back-office list) and write it again from the whole log."""
    rebuilt = rpc.orders.rebuild_read_model()
    print(f"orders: the list rebuilt from {rebuilt['aggregates']} aggregates")
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="oms", description=__doc__)
    p.add_argument(
        "--amqp-uri", default=None, help="broker (default: $OMS_AMQP_URI or the local one)"
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
    pk.add_argument("--status", default="parked", choices=["parked", "retried"])
    pk.set_defaults(handler=parked)
    rt = sub.add_parser("retry", help=retry.__doc__)
    rt.add_argument("service", choices=SERVICES)
    rt.add_argument("id", type=int)
    rt.set_defaults(handler=retry)
    sub.add_parser("rebuild", help=rebuild.__doc__).set_defaults(handler=rebuild)
    return p


def main(argv=None) -> int:
    args = parser().parse_args(argv)
    config = dict(settings.nameko_config(), AMQP_URI=args.amqp_uri or settings.amqp_uri())
    try:
        with ClusterRpcProxy(config, timeout=settings.rpc_timeout()) as rpc:
            return args.handler(rpc, args)
    except OmsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
