"""What the operators' dashboard shows, gathered from the services over RPC: the system's state
(orders by status and payment status, each relay's and follower's lag, parked events, pending
and failed sends) and one order across the five services (its timeline with causation, its
state at a moment, its quantity ledger)."""

from shared import timeline
from shared.integration_log import last_sent
from shared.settings import SERVICES

SENDING = ("notify", "fulfilment")  # the services with an outbox


def overview(call) -> dict:
    """`call(service, method, *args)`: the panels of the dashboard's first page."""
    states = {s: call(s, "log_status") for s in SERVICES}
    counts = call("orders", "order_counts")
    return {
        "by_status": counts["by_status"],
        "by_payment": counts["by_payment_status"],
        "relays": [
            {
                "service": s,
                "lag": max(0, st["last_position"] - st["relayed_position"]),
                "position": st["relayed_position"],
                "last": st["last_position"],
            }
            for s, st in states.items()
        ],  # fmt: skip
        "followers": [
            {
                "service": s,
                "upstream": up,
                "position": pos,
                "lag": max(0, last_sent(states[up], st.get("bound", {}).get(up, [])) - pos),
            }
            for s, st in states.items()
            for up, pos in st["tracking"].items()
        ],  # fmt: skip
        "parked": [
            dict(entry, service=s) for s in SERVICES for entry in call(s, "parked_events", "open")
        ],
        "sends": [
            dict(entry, service=s)
            for s in SENDING
            for status in ("pending", "failed")
            for entry in call(s, "outbox", status)[:50]
        ],
    }


def order_view(call, order_id: str, at: str | None = None) -> dict:
    """One order: its timeline (each event with its depth in the causation tree and its chain
    of causes), the states of its aggregates at `at` (default: now), and the ledger."""
    order = call("orders", "get_order", order_id)
    events = timeline.merged({s: call(s, "order_events", order_id) for s in SERVICES})
    invoices = call("billing", "invoices_for_order", order_id)
    production = call("production", "production_orders_for_order", order_id)
    tree = [
        {**event, "depth": depth, "why": timeline.why(event, events)}
        for depth, event in timeline.causation_tree(events)
    ]
    return {
        "order": order,
        "events": events,
        "tree": tree,
        "times": [e["time"] for e in events],
        "at": at,
        "states": timeline.states_at(events, at),
        "ledger": timeline.ledger(order, invoices, production),
        "stages": timeline.STAGES,
    }
