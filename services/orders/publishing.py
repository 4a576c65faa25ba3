"""What the orders service publishes: each private domain event mapped to a public contract."""

from services.orders.catalogue import Client, Product
from services.orders.domain import Order
from services.orders.forgetting import ClientForgotten
from shared.personal import client_subject
from shared.publishing import Publish

# domain event -> integration event name, for events whose data is the order plus the event's own
# fields (named in contracts/orders.py)
ORDER_EVENTS = {
    Order.Accepted: "order_accepted",
    Order.Declined: "order_declined",
    Order.Voided: "order_voided",
    Order.Held: "order_held",
    Order.Released: "order_released",
    Order.LineInProduction: "line_in_production",
    Order.LineReady: "line_ready",
    Order.ShippingShipped: "shipping_shipped",
    Order.LinesDelivered: "lines_delivered",
    Order.Completed: "order_completed",
    Order.Edited: "order_edited",
    Order.ShippingAdded: "shippings_changed",
    Order.QuantityMoved: "shippings_changed",
    Order.ShippingRescheduled: "shippings_changed",
    Order.NoteAdded: "note_added",
    Order.ClaimOpened: "claim_opened",
    Order.ClaimResolved: "claim_resolved",
    Order.Linked: "order_linked",
    Order.PaymentStatusChanged: "payment_status_changed",
    Order.DistributorsChosen: "distributors_chosen",
    Order.ShippingDelivered: "lines_delivered",
}
SHIPPING_CHANGES = {
    Order.ShippingAdded: "added",
    Order.QuantityMoved: "moved",
    Order.ShippingRescheduled: "rescheduled",
}
CATALOGUE_EVENTS = {
    Client.Registered: "client_registered",
    Client.Updated: "client_updated",
    Client.Deactivated: "client_deactivated",
    Product.Registered: "product_registered",
    Product.Updated: "product_updated",
}


def catalogue_data(app, domain_event) -> dict:
    entry = app.state_at(domain_event)
    data = dict(vars(entry), name_=entry.name)
    if isinstance(entry, Client):  # whose key seals its details
        data["subject"] = client_subject(entry.code, None)
    return data


def forgotten_data(app, domain_event) -> dict:
    return {"subject": domain_event.subject, "code": domain_event.code, "actor": domain_event.actor}


def placed_data(app, domain_event) -> dict:
    order = app.state_at(domain_event)
    return dict(order_data(order), channel=order.channel, note=order.note)


def order_event_data(app, domain_event) -> dict:
    """The order after the event, plus the event's own fields (and, per kind, what it concerns)."""
    kind, order = type(domain_event), app.state_at(domain_event)
    fields = {k: v for k, v in vars(domain_event).items() if not k.startswith("originator")}
    fields.pop("timestamp", None)
    data = {**fields, **order_data(order)}  # the order's own fields win over the event's
    if kind is Order.ShippingShipped:
        shipping = order.shipping(domain_event.shipping_id)
        data.update(
            planned_date=shipping["planned_date"],
            address=shipping["address"],
            lines=[dict(order.line(s["sku"]), quantity=s["quantity"]) for s in shipping["lines"]],
        )
    elif kind in (Order.ClaimOpened, Order.ClaimResolved):
        data["claim"] = order.claim(domain_event.claim_id)
    elif kind in (Order.LinesDelivered, Order.ShippingDelivered):
        data["delivered_now"] = domain_event.lines
    elif kind in SHIPPING_CHANGES:
        data["change"] = SHIPPING_CHANGES[kind]
        data["shipping_id"] = (
            domain_event.shipping["id"]
            if kind is Order.ShippingAdded
            else domain_event.to_id
            if kind is Order.QuantityMoved
            else domain_event.shipping_id
        )
    return data


def production_data(app, domain_event) -> dict:
    data = order_event_data(app, domain_event)
    job = data.pop("job")
    line = next(x for x in data["lines"] if x["sku"] == job["sku"])
    return dict(
        data,
        sku=job["sku"],
        production_order_id=job["production_order_id"],
        production_status=line.get("production_status"),
        produced=line.get("produced", 0),
    )


def production_event_name(data: dict) -> str:
    """A line that became ready is `line_ready` (as before quantities were followed); every
    other change to a line's production is `line_production_changed`."""
    return "line_ready" if data["production_status"] == "ready" else "line_production_changed"


PUBLISHED = {
    Order.Placed: Publish("order_placed", placed_data),
    Order.ProductionFollowed: Publish(production_event_name, production_data),
    **{kind: Publish(name, order_event_data) for kind, name in ORDER_EVENTS.items()},
    **{kind: Publish(name, catalogue_data) for kind, name in CATALOGUE_EVENTS.items()},
    ClientForgotten.Forgotten: Publish("client_forgotten", forgotten_data),
}


def order_data(order: Order) -> dict:
    """What every order event carries: the order as it stands after the event."""
    return {
        "order_id": str(order.id),
        "reference": order.reference,
        "title": order.title,
        "status": order.status,
        "payment_status": order.payment_status,
        "client": order.client,
        "lines": order.lines,
        "shippings": order.shippings,
        "payment_method": order.payment_method,
        "total": order.total,
        "currency": order.currency,
        "links": order.links,
        "version": order.version,
    }
