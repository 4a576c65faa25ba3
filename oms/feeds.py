"""`oms feeds`: each distributor's stock-and-price feed — when it was last read, how many items,
its last failure — and `oms feeds import [CODE]` to read one (or every one) now."""


def add_parser(sub) -> None:
    feeds = sub.add_parser("feeds", help=__doc__.split("\n\n")[0].strip("`"))
    feeds.set_defaults(handler=show)
    actions = feeds.add_subparsers(dest="action")
    read = actions.add_parser("import", help="read a distributor's feed now (all: every one)")
    read.add_argument("code", nargs="?", help="the distributor (default: every one with a feed)")
    read.set_defaults(handler=import_now)


def show(rpc, args) -> int:
    listed = rpc.fulfilment.feeds()
    if not listed:
        print("no distributor has a feed")
        return 0
    print(f"{'distributor':<20}{'items':>7}  {'read':<26}  last failure")
    for feed in listed:
        print(_row(feed))
    return 0


def import_now(rpc, args) -> int:
    codes = [args.code] if args.code else [f["distributor"] for f in rpc.fulfilment.feeds()]
    failed = 0
    for code in codes:
        feed = rpc.fulfilment.import_feed(code)
        print(_row(feed))
        failed += bool(
            feed["error"] and feed["failed_at"] and feed["failed_at"] >= (feed["imported_at"] or "")
        )
    return 1 if failed else 0


def _row(feed: dict) -> str:
    problem = f"{feed['failed_at']}: {feed['error']}" if feed["error"] else "-"
    return f"{feed['distributor']:<20}{feed['items']:>7}  {feed['imported_at'] or 'never':<26}  {problem}"
