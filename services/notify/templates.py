"""Message templates, one per status event: (subject, body), filled from the event's data."""

TEMPLATES = {
    "orders.order_placed": (
        "Order {reference} received",
        "Hello {client_name}, we received your order {reference} ({total} {currency}).",
    ),
    "orders.order_accepted": (
        "Order {reference} accepted",
        "Hello {client_name}, your order {reference} is accepted.",
    ),
    "orders.order_declined": (
        "Order {reference} declined",
        "Hello {client_name}, we could not take your order {reference}: {reason}.",
    ),
    "orders.shipping_shipped": (
        "Order {reference}: a shipping is on its way",
        "Hello {client_name}, shipping {shipping_id} of order {reference} has shipped.",
    ),
    "orders.order_voided": (
        "Order {reference} cancelled",
        "Hello {client_name}, your order {reference} is cancelled: {reason}.",
    ),
    "orders.order_held": (
        "Order {reference} on hold",
        "Hello {client_name}, your order {reference} is on hold: {reason}.",
    ),
    "orders.order_released": (
        "Order {reference} resumed",
        "Hello {client_name}, your order {reference} is on its way again.",
    ),
    "orders.lines_delivered": (
        "Order {reference}: delivered",
        "Hello {client_name}, part or all of your order {reference} is delivered.",
    ),
    "orders.order_completed": (
        "Order {reference} completed",
        "Hello {client_name}, your order {reference} is complete. Thank you!",
    ),
    "orders.note_added": (
        "A note on order {reference}",
        "Hello {client_name}, a note on your order {reference}: {text}",
    ),
    "orders.claim_resolved": (
        "Your claim on order {reference}",
        "Hello {client_name}, your claim on order {reference} is resolved.",
    ),
    "production.production_order_finished": (
        "Production finished for {order_reference}",
        "{quantity} x {sku} ({product_name}) for order {order_reference} is produced.",
    ),
    "billing.invoice_issued": (
        "Invoice for order {order_reference}",
        "Hello {client_name}, your invoice of {total} {currency} for order "
        "{order_reference} is issued; status {status}.",
    ),
    "billing.credit_note_issued": (
        "Credit note {number} for order {order_reference}",
        "Hello {client_name}, credit note {number} of {total} {currency} corrects your invoice "
        "for order {order_reference}.",
    ),
    "billing.pro_forma_issued": (
        "Pro-forma invoice for order {order_reference}",
        "Hello {client_name}, here is pro-forma {number} of {total} {currency} for order "
        "{order_reference}.",
    ),
    "billing.invoice_voided": (
        "Invoice {number} voided",
        "Hello {client_name}, invoice {number} for order {order_reference} is voided "
        "({void_reason}). Refund due: {refund_due} {currency}.",
    ),
    "billing.payment_recorded": (
        "Payment received for order {order_reference}",
        "Hello {client_name}, we received {amount} {currency} for invoice {number}; "
        "the order is now {payment_status}.",
    ),
    "billing.payment_rejected": (
        "Payment not completed for order {order_reference}",
        "Hello {client_name}, your payment of {amount} {currency} for invoice {number} was "
        "rejected ({rejection_reason}); the invoice is still open.",
    ),
    "billing.payment_channel_changed": (
        "Payment method for order {order_reference}",
        "Hello {client_name}, order {order_reference} will now be paid by {channel}.",
    ),
    "production.production_order_created": (
        "Production order for {order_reference}",
        "Produce {quantity} x {sku} ({product_name}) for order {order_reference}.",
    ),
    "fulfilment.purchase_order_raised": (
        "Purchase order to {distributor} for {order_reference}",
        "A purchase order went to {distributor} for order {order_reference}.",
    ),
}


# Only notes meant for the client are sent to the client.
WHEN = {"orders.note_added": lambda data: data.get("kind") == "client"}


def render(event_type: str, data: dict) -> tuple[str, str] | None:
    template = TEMPLATES.get(event_type)
    if template is None or not WHEN.get(event_type, bool)(data):
        return None
    values = dict(data)
    values["client_name"] = (data.get("client") or {}).get("name", "")
    subject, body = template
    return subject.format_map(_Missing(values)), body.format_map(_Missing(values))


class _Missing(dict):
    def __missing__(self, key):
        return "?"
