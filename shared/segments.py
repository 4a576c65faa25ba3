"""An upstream's stream cut into segments by aggregate, so that several replicas of a consumer can
follow it at once (as Axon's tracking processors do): each segment has its own tracking position,
named `<upstream>@<segment>/<count>` (`orders@3/12`; plain `orders` when the stream is not cut).

An event belongs to the segment of its key (`crc32(key) % count`; the key is the aggregate id
unless the policy says otherwise), so one aggregate's events stay in one segment, in log order.
A key of None means every segment: such a reaction must be idempotent (billing's copy of a
client's details), and is done by each replica in its own stream order.

The count is fixed: a stream may be cut finer into a multiple of its count (segment `s` of `n`
starts where segment `s % m` of the old `m` stood, every one of its aggregates having been there),
never merged: that would take some segments' events back to where another one stands."""

import re
import zlib

import sqlalchemy as sa

from shared.settings import SettingsError

_NAME = re.compile(r"^(?P<upstream>[^@]+)@(?P<segment>\d+)/(?P<count>\d+)$")


def segment_of(key: str, count: int) -> int:
    """The segment of an aggregate key (stable across processes and machines)."""
    return zlib.crc32(key.encode()) % count if count > 1 else 0


def stream_name(upstream: str, segment: int, count: int) -> str:
    """The tracking name of one segment of `upstream`'s stream."""
    return upstream if count == 1 else f"{upstream}@{segment}/{count}"


def parse(name: str) -> tuple[str, int, int]:
    """(upstream, segment, count) of a tracking name."""
    found = _NAME.match(name)
    if not found:
        return name, 0, 1
    return found["upstream"], int(found["segment"]), int(found["count"])


def positions(app, upstream: str, count: int) -> dict[int, int]:
    """Where each segment of the stream stands, from the consumer's tracking records; a segment
    never tracked under this count starts where it stood under the coarser count it refines."""
    table = app.recorder.tracking_table
    query = sa.select(table.c.application_name, table.c.notification_id).where(
        sa.or_(table.c.application_name == upstream, table.c.application_name.like(f"{upstream}@%"))
    )
    with app.engine.connect() as conn:
        rows = conn.execute(query).all()
    by_count: dict[int, dict[int, int]] = {}
    for name, position in rows:
        up, segment, n = parse(name)
        if up == upstream:
            by_count.setdefault(n, {})[segment] = position
    finer = sorted(n for n in by_count if n > count or count % n)
    if finer:
        raise SettingsError(
            f"the {upstream} stream was followed in {finer[-1]} segments; it can be cut into a "
            f"multiple of that, not into {count} (segments are never merged)"
        )
    own = by_count.get(count, {})
    refined = max((n for n in by_count if n < count), default=None)
    coarse = by_count.get(refined, {}) if refined else {}
    return {s: own[s] if s in own else coarse.get(s % (refined or 1), 0) for s in range(count)}
