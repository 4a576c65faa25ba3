"""How orders and catalogue entries are shown to callers: JSON-ready dicts (money as strings)."""

from services.orders.catalogue import PRODUCT_FIELDS, Client, Product
from services.orders.domain import Order
from services.orders.projections import client_row
from shared.jsonable import jsonable


def show_order(order: Order, history: list) -> dict:
    return jsonable(
        {
            "id": str(order.id),
            "reference": order.reference,
            "title": order.title,
            "status": order.status,
            "payment_status": order.payment_status,
            "hold": order.hold,
            "reason": order.reason,
            "client": order.client,
            "channel": order.channel,
            "payment_method": order.payment_method,
            "note": order.note,
            "placed": order.placed,
            "lines": order.lines,
            "ordered": {line["sku"]: line["quantity"] for line in order.lines},
            "shippings": order.shippings,
            "total": order.total,
            "currency": order.currency,
            "notes": order.notes,
            "claims": order.claims,
            "links": order.links,
            "version": order.version,
            "history": history,
        }
    )


def show_client(client: Client) -> dict:
    return client_row(client)  # the listing shows a client as it is stored: the same fields


def show_product(product: Product) -> dict:
    shown = {"sku": product.sku, "version": product.version}
    shown.update({k: getattr(product, k) for k in PRODUCT_FIELDS})
    return jsonable(shown)


def show_history(events) -> list[dict]:
    """Each event of an order: when, who (a person, or the service whose event caused it), why,
    and its details."""
    return [_history_entry(e) for e in events]


def _history_entry(event) -> dict:
    state = {k: v for k, v in event.__dict__.items() if k not in HIDDEN}
    source = state.pop("source", None)
    return {
        "version": event.originator_version,
        "event": type(event).__name__,
        "at": event.timestamp.isoformat(),
        "actor": state.pop("actor", None) or (source.split(":")[0] if source else None),
        "reason": state.pop("reason", None),
        "details": state,
    }


HIDDEN = {"originator_id", "originator_version", "timestamp", "originator_topic", "id"}
