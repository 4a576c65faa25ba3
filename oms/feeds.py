"""`oms feeds`: each distributor's stock-and-price feed — when it was last read, how many items,
its last failure — and `oms feeds import [CODE]` to read one (or every one) now."""

import click

from oms.console import pass_session, say


@click.group(invoke_without_command=True)
@click.pass_context
def feeds(ctx) -> int:
    """Each distributor's feed: last read, items, last failure."""
    if ctx.invoked_subcommand is not None:
        return 0
    return ctx.invoke(show)


@pass_session
def show(session) -> int:
    listed = session.rpc.fulfilment.feeds()
    if not listed:
        say("no distributor has a feed")
        return 0
    say((f"{'distributor':<20}{'items':>7}  {'read':<26}  last failure", "bold"))
    for feed in listed:
        say(*_row(feed))
    return 0


@feeds.command(name="import")
@click.argument("code", required=False)
@pass_session
def import_now(session, code) -> int:
    """Read a distributor's feed now (without CODE: every one with a feed); exit 1 if one failed."""
    rpc = session.rpc
    codes = [code] if code else [f["distributor"] for f in rpc.fulfilment.feeds()]
    failed = 0
    for each in codes:
        feed = rpc.fulfilment.import_feed(each)
        say(*_row(feed))
        failed += _failed(feed)
    return 1 if failed else 0


def _failed(feed: dict) -> bool:
    return bool(
        feed["error"] and feed["failed_at"] and feed["failed_at"] >= (feed["imported_at"] or "")
    )


def _row(feed: dict) -> list:
    problem = f"{feed['failed_at']}: {feed['error']}" if feed["error"] else "-"
    head = f"{feed['distributor']:<20}{feed['items']:>7}  {feed['imported_at'] or 'never':<26}  "
    return [head, (problem, "red" if _failed(feed) else "")]
