"""`oms tail [SERVICE]`: the events as they are published, live — one line each (time, id, type,
subject, correlation), or the envelopes as JSON — from a queue of its own that goes away with it."""

import json
import time
import uuid

import click
from kombu import Connection, Queue, binding

from oms.console import err, pass_session, say
from shared import cloudevents
from shared.relay import event_exchange
from shared.settings import SERVICES

COLOURS = dict(zip(SERVICES, ("cyan", "magenta", "green", "yellow", "blue"), strict=True))


@click.command()
@click.argument("services", metavar="[SERVICE]...", nargs=-1, type=click.Choice(SERVICES))
@click.option("--type", "types", multiple=True, help="only these event types (orders.order_placed)")
@click.option("--order", "order_id", help="only the events about this order")
@click.option("--json", "as_json", is_flag=True, help="each envelope as one JSON line")
@click.option("--count", type=int, help="stop after this many events")
@click.option("--seconds", type=float, help="stop after this long")
@pass_session
def tail(session, services, types, order_id, as_json, count, seconds) -> int:
    """Follow the events of every service (or those named) as they are published."""
    exchanges = [event_exchange(s, passive=True) for s in services or SERVICES]
    queue = Queue(
        f"oms-tail-{uuid.uuid4().hex[:8]}",
        bindings=[binding(x, routing_key="#") for x in exchanges],
        exclusive=True,
        auto_delete=True,
    )
    shown = 0
    ends = time.monotonic() + seconds if seconds else None

    def on_event(body, message):
        nonlocal shown
        message.ack()
        if types and body["type"] not in types:
            return
        if order_id and order_id not in (body.get("subject"), body["data"].get("order_id")):
            return
        shown += 1
        if as_json:
            click.echo(json.dumps(body, sort_keys=True))
        else:
            say(*line(body))

    with Connection(session.amqp_uri, ssl=session.loaded.amqp_ssl()) as conn:
        with conn.Consumer(queue, callbacks=[on_event], accept=cloudevents.ACCEPT):
            names = ", ".join(services or SERVICES)
            say((f"following {names} (Ctrl-C stops)", "dim"), console=err)
            while (count is None or shown < count) and (ends is None or time.monotonic() < ends):
                try:
                    conn.drain_events(timeout=0.5)
                except TimeoutError:
                    pass
    return 0


def line(env: dict) -> list:
    service = env["type"].split(".", 1)[0]
    return [
        f"{env['time'][11:23]}  ",
        (f"{env['id']:<18}", COLOURS.get(service, "")),
        " ",
        (f"{env['type']:<38}", "bold"),
        f" {env['subject']}  ",
        (f"corr {env['correlationid']}", "dim"),
    ]
