"""What the fulfilment service publishes: each private domain event mapped to a public contract.
Requests to send and their rescheduling stay private; every attempt is public (sent, deferred,
failed), and one that hands a purchase order to an account manager carries its PDF, which notify
mails.

Every event about a purchase order or a courier's delivery names its client's `subject`; what
they carry of the client (a delivery's client and address, a purchase order's PDF, which shows
where the goods go) is sealed with that subject's key, as fulfilment keeps it, and copied from
what it keeps (the relay opens nothing, and a page of the log reads the same every time):
whoever must show or send it opens it (shared/personal.py)."""

from services.fulfilment import documents
from services.fulfilment.couriers import Courier, CourierRun
from services.fulfilment.distributors import Distributor
from services.fulfilment.domain import PurchaseOrder
from shared import sealing
from shared.publishing import Publish

ATTEMPT_NAMES = {
    "sent": "purchase_order_sent",
    "retry": "purchase_order_send_deferred",
    "failed": "purchase_order_send_failed",
}


def purchase_order_data(app, domain_event) -> dict:
    po = app.state_at(domain_event)
    return {
        "purchase_order_id": str(po.id),
        "number": po.number,
        "order_id": po.order_id,
        "order_reference": po.order_reference,
        "shipping_id": po.shipping_id,
        "distributor": po.distributor,
        "channel": po.channel,
        "lines": po.lines,
        "status": po.status,
        "version": po.version,
        "subject": po.subject,
    }


def event_data(*names):
    def data(app, domain_event) -> dict:
        fields = {k: getattr(domain_event, k) for k in names}
        return dict(purchase_order_data(app, domain_event), **fields)

    return data


def attempt_data(app, domain_event) -> dict:
    po = app.state_at(domain_event)
    send = po.sends[domain_event.send_id]
    data = dict(
        purchase_order_data(app, domain_event),
        kind=send["kind"],
        attempt=domain_event.attempt,
        answer=domain_event.answer,
        reference=domain_event.reference,
        retry_at=domain_event.retry_at,
        send_channel=domain_event.channel,
    )
    recipient = domain_event.content.get("copy_to") or (
        domain_event.recipient if domain_event.channel == "email" else None
    )
    if recipient and domain_event.outcome == "sent" and po.document:
        data["recipient"] = recipient
        data["document"] = {
            "filename": f"{po.number}.pdf",
            "content_type": "application/pdf",
            "sha256": po.document["sha256"],
            "content": _pdf(app, po, domain_event),
        }
    return data


def _pdf(app, po, domain_event) -> str | dict:
    """The PDF the attempt handed on, as it recorded it (sealed with the client's key); one
    recorded before attempts kept it is rendered again (its address was plain then)."""
    recorded = domain_event.content.get("document")
    if recorded is not None:
        return recorded
    return documents.pdf_for(po.document, app.keyring.keys(sealing.subjects_in(po.document)))


def attempt_name(data: dict) -> str:
    return ATTEMPT_NAMES[data.pop("_outcome")]


def with_outcome(app, domain_event) -> dict:
    return dict(attempt_data(app, domain_event), _outcome=domain_event.outcome)


def distributor_data(app, domain_event) -> dict:
    d = app.state_at(domain_event)
    return {
        "code": d.code,
        "name_": d.name,
        "channel": d.ordering["channel"],
        "live": d.live is not None,
        "feed": d.feed is not None,
        "active": d.active,
        "version": d.version,
    }


def run_data(app, domain_event) -> dict:
    """The delivery as its courier and its client are told of it (the courier's links are made
    by notify from `run_id`, `generation` and `expires`: no link travels in an event)."""
    run = app.state_at(domain_event)
    return {
        "subject": run.client.get("subject"),
        "run_id": str(run.id),
        "order_id": run.order_id,
        "order_reference": run.order_reference,
        "shipping_id": run.shipping_id,
        "courier": run.courier,
        "client": run.client,
        "address": run.address,
        "lines": run.lines,
        "planned_date": run.planned_date,
        "eta": run.eta,
        "generation": run.generation,
        "expires": run.expires,
        "delivered": run.delivered,
        "version": run.version,
    }


def courier_data(app, domain_event) -> dict:
    c = app.state_at(domain_event)
    return {"code": c.code, "name_": c.name, "email": c.email, "phone": c.phone,
            "active": c.active, "version": c.version}  # fmt: skip


PUBLISHED = {
    PurchaseOrder.Raised: Publish("purchase_order_raised", purchase_order_data),
    PurchaseOrder.Attempted: Publish(attempt_name, with_outcome),
    PurchaseOrder.Acknowledged: Publish(
        "purchase_order_acknowledged", event_data("reference", "by")
    ),
    PurchaseOrder.Rejected: Publish("purchase_order_rejected", event_data("reason", "by")),
    PurchaseOrder.CostsEdited: Publish(
        "purchase_order_costs_edited", event_data("reason", "actor")
    ),
    PurchaseOrder.Cancelled: Publish(
        "purchase_order_cancelled", event_data("reason", "actor", "by_void")
    ),
    PurchaseOrder.Received: Publish("purchase_order_received", event_data("actor")),
    PurchaseOrder.Closed: Publish("purchase_order_closed", event_data("reason", "actor")),
    Distributor.Registered: Publish("distributor_registered", distributor_data),
    Distributor.Updated: Publish("distributor_updated", distributor_data),
    Courier.Registered: Publish("courier_registered", courier_data),
    CourierRun.Assigned: Publish("courier_assigned", run_data),
    CourierRun.Reassigned: Publish("courier_assigned", run_data),
    CourierRun.Delivered: Publish("courier_delivered", run_data),
}
