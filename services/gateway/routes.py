"""Every HTTP route of the gateway in one table: what it calls, who may call it, what it takes.
The dispatcher (edge.py) and the OpenAPI document (openapi.py) are both built from it, so a route
cannot exist without its documentation, nor the other way round.

`args` say where each RPC argument comes from: `path:NAME` (the URL), `body` (the whole JSON
body), `body.NAME` (one field of it), `query` (the query string, read with the route's `query`
schema), `key` (the caller's Idempotency-Key, scoped to the caller; `key!`: a fresh one when none
is sent, for calls that require one) or `json:VALUE` (a constant).
"""

from dataclasses import dataclass

from marshmallow import Schema, fields, validate

from services.billing.schemas import ChannelIn, ListInvoicesIn, PaymentIn
from services.gateway.store import KeyIn
from services.notify.schemas import MessageIn, PolicyBodyIn, ResendIn, SendsIn
from services.orders.schemas import (
    ClaimIn,
    ClientChangesIn,
    ClientDetailsIn,
    DuplicateIn,
    EditIn,
    ForClientIn,
    ListCatalogueIn,
    ListOrdersIn,
    MoveIn,
    NewShippingIn,
    NoteIn,
    OrderIn,
    ProductChangesIn,
    ProductDetailsIn,
    QuantitiesIn,
    RescheduleIn,
    ResolutionIn,
)
from shared.settings import SERVICES
from shared.validation import OptionalReasonIn, ReasonIn, Strict


class EventsQuery(Strict):
    after = fields.Integer(strict=True, load_default=0, validate=validate.Range(min=0))
    limit = fields.Integer(strict=True, load_default=100, validate=validate.Range(min=1, max=1000))


class ParkedQuery(Strict):
    status = fields.String(
        load_default="open",
        validate=validate.OneOf(("open", "parked", "waiting", "retried", "discarded", "all")),
    )


class NoBody(Strict):
    """An action that takes no input: send no body, or `{}`."""


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # OpenAPI style: /v1/orders/{order_id}
    op: str  # operationId, and the handler's name for the gateway's own routes
    role: str  # public, storefront, operator or admin
    tag: str
    summary: str
    call: tuple[str, str] | None = None  # (service, RPC method); None: the gateway answers
    args: tuple[str, ...] = ()
    body: type[Schema] | None = None
    query: type[Schema] | None = None
    status: int = 200
    versioned: bool = False  # the answer has a `version`: sent as ETag; If-Match is honoured
    owned: bool = False  # a storefront key sees only the orders it placed (path:order_id)
    items: str | None = None  # a page of this list: a `next` link is added

    @property
    def creates(self) -> bool:
        return self.method == "POST"


R = Route
ORDER = "path:order_id"
ROUTES = (
    # -- orders ------------------------------------------------------------------------------
    R("POST", "/v1/orders", "placeOrder", "storefront", "orders",
      "Place an order (as place_order; docs/orders-rpc.md)",
      ("orders", "place_order"), ("body", "key"), OrderIn, status=201, versioned=True),
    R("GET", "/v1/orders", "listOrders", "operator", "orders",
      "List orders: filters, sort, search, cursor and counts per status",
      ("orders", "list_orders"), ("query",), query=ListOrdersIn, items="orders"),
    R("GET", "/v1/orders/{order_id}", "getOrder", "storefront", "orders",
      "An order with its lines, shippings, statuses and history",
      ("orders", "get_order"), (ORDER,), versioned=True, owned=True),
    R("POST", "/v1/orders/{order_id}/accept", "acceptOrder", "operator", "orders",
      "Accept a new order (billing issues its invoice)",
      ("orders", "accept_order"), (ORDER,), NoBody, versioned=True),
    R("POST", "/v1/orders/{order_id}/decline", "declineOrder", "operator", "orders",
      "Decline a new order", ("orders", "decline_order"), (ORDER, "body.reason"), ReasonIn,
      versioned=True),
    R("POST", "/v1/orders/{order_id}/void", "voidOrder", "operator", "orders",
      "Void an accepted order", ("orders", "void_order"), (ORDER, "body.reason"), ReasonIn,
      versioned=True),
    R("POST", "/v1/orders/{order_id}/hold", "holdOrder", "operator", "orders",
      "Put an open order on hold", ("orders", "hold_order"), (ORDER, "body.reason"), ReasonIn,
      versioned=True),
    R("POST", "/v1/orders/{order_id}/release", "releaseOrder", "operator", "orders",
      "Release a held order", ("orders", "release_order"), (ORDER, "body.reason"), ReasonIn,
      versioned=True),
    R("POST", "/v1/orders/{order_id}/edit", "editOrder", "operator", "orders",
      "New contents for pending shippings", ("orders", "edit_order"), (ORDER, "body"), EditIn,
      versioned=True),
    R("POST", "/v1/orders/{order_id}/shippings", "addShipping", "operator", "orders",
      "Add a shipping whose quantities move from pending ones",
      ("orders", "add_shipping"), (ORDER, "body", "key"), NewShippingIn, status=201,
      versioned=True),
    R("POST", "/v1/orders/{order_id}/quantity-moves", "moveQuantity", "operator", "orders",
      "Move a quantity between pending shippings",
      ("orders", "move_quantity"), (ORDER, "body"), MoveIn, versioned=True),
    R("POST", "/v1/orders/{order_id}/shippings/{shipping_id}/reschedule", "rescheduleShipping",
      "operator", "orders", "Change a pending shipping's date or address",
      ("orders", "reschedule_shipping"), (ORDER, "path:shipping_id", "body"), RescheduleIn,
      versioned=True),
    R("POST", "/v1/orders/{order_id}/shippings/{shipping_id}/ship", "shipShipping", "operator",
      "orders", "Ship a shipping (fulfilment raises its purchase orders)",
      ("orders", "ship_shipping"), (ORDER, "path:shipping_id"), NoBody, versioned=True),
    R("POST", "/v1/orders/{order_id}/deliveries", "markDelivered", "operator", "orders",
      "Mark shipped quantities delivered", ("orders", "mark_delivered"),
      (ORDER, "body.lines"), QuantitiesIn, versioned=True),
    R("POST", "/v1/orders/{order_id}/complete", "completeOrder", "operator", "orders",
      "Complete an order", ("orders", "complete_order"), (ORDER, "body.reason"),
      OptionalReasonIn, versioned=True),
    R("POST", "/v1/orders/{order_id}/notes", "addNote", "operator", "orders",
      "Add an internal, production or client note", ("orders", "add_note"),
      (ORDER, "body", "key"), NoteIn, status=201, versioned=True),
    R("POST", "/v1/orders/{order_id}/claims", "openClaim", "operator", "orders",
      "Open a quality claim on delivered lines", ("orders", "open_claim"),
      (ORDER, "body", "key"), ClaimIn, status=201, versioned=True),
    R("POST", "/v1/orders/{order_id}/claims/{claim_id}/resolve", "resolveClaim", "operator",
      "orders", "Resolve a claim: a free reprint, or rejected", ("orders", "resolve_claim"),
      (ORDER, "path:claim_id", "body"), ResolutionIn, versioned=True),
    R("POST", "/v1/orders/{order_id}/duplicates", "duplicateOrder", "operator", "orders",
      "A new order with the same client and products", ("orders", "duplicate_order"),
      (ORDER, "key!", "body.planned_date"), DuplicateIn, status=201, versioned=True),
    R("POST", "/v1/orders/{order_id}/client-orders", "newOrderForClient", "operator", "orders",
      "A new order for the client of this one", ("orders", "new_order_for_client"),
      (ORDER, "body", "key!"), ForClientIn, status=201, versioned=True),
    # -- what an order led to --------------------------------------------------------------------
    R("GET", "/v1/orders/{order_id}/invoices", "orderInvoices", "operator", "billing",
      "The order's invoices, credit notes and pro-formas", ("billing", "invoices_for_order"),
      (ORDER,)),
    R("GET", "/v1/orders/{order_id}/account", "orderAccount", "operator", "billing",
      "The order's account: documents, payment status, refund due, payment channel",
      ("billing", "account_for_order"), (ORDER,), versioned=True),
    R("POST", "/v1/orders/{order_id}/pro-forma", "issueProForma", "storefront", "billing",
      "A pro-forma of a placed order (the same one while the order is unchanged)",
      ("billing", "issue_pro_forma"), (ORDER,), NoBody, owned=True),
    R("PUT", "/v1/orders/{order_id}/payment-channel", "changePaymentChannel", "operator",
      "billing", "Change how the order is paid", ("billing", "change_payment_channel"),
      (ORDER, "body.channel", "body.reason"), ChannelIn, versioned=True),
    R("GET", "/v1/orders/{order_id}/production-orders", "orderProductionOrders", "operator",
      "effects", "The order's production orders",
      ("production", "production_orders_for_order"), (ORDER,)),
    R("GET", "/v1/orders/{order_id}/purchase-orders", "orderPurchaseOrders", "operator",
      "effects", "The order's purchase orders", ("fulfilment", "purchase_orders_for_order"),
      (ORDER,)),
    R("GET", "/v1/orders/{order_id}/notifications", "orderNotifications", "operator", "effects",
      "The order's notifications, each with every send and attempt (the ledger)",
      ("notify", "notifications_for_order"), (ORDER,)),
    # -- notifications -----------------------------------------------------------------------------
    R("GET", "/v1/notifications/{notification_id}", "getNotification", "operator", "notify",
      "A notification with every send and attempt: what exactly was sent, to whom, when",
      ("notify", "get_notification"), ("path:notification_id",), versioned=True),
    R("POST", "/v1/notifications/{notification_id}/send", "sendNotification", "operator",
      "notify", "Send a notification that waits for an operator",
      ("notify", "send_notification"), ("path:notification_id",), NoBody, versioned=True),
    R("POST", "/v1/notifications/{notification_id}/resend", "resendNotification", "operator",
      "notify", "Send it again, to its recipient or another, by e-mail or SMS",
      ("notify", "resend_notification"),
      ("path:notification_id", "body.recipient", "body.channel"), ResendIn, versioned=True),
    R("POST", "/v1/orders/{order_id}/messages", "messageClient", "operator", "notify",
      "Write to the order's client by e-mail or SMS (kept and sent like the notifications)",
      ("notify", "message_client"), (ORDER, "body.channel", "body.subject", "body.body"),
      MessageIn, status=201),
    R("GET", "/v1/outbox", "outbox", "operator", "notify",
      "The sends by status: pending (with their next try), sent, failed",
      ("notify", "outbox"), ("query.status",), query=SendsIn),
    R("GET", "/v1/notification-policies", "notificationPolicies", "operator", "notify",
      "Each event type's send policy: auto, manual or off", ("notify", "policies")),
    R("PUT", "/v1/notification-policies/{event_type}", "setNotificationPolicy", "admin",
      "notify", "Set an event type's send policy", ("notify", "set_policy"),
      ("path:event_type", "body.policy"), PolicyBodyIn),
    R("GET", "/v1/orders/{order_id}/tracking-link", "trackingLink", "operator", "notify",
      "The order's tracking page as its client sees it (see as client)",
      ("notify", "tracking_link"), (ORDER,)),
    R("POST", "/v1/orders/{order_id}/tracking-link/revoke", "revokeTrackingLink", "operator",
      "notify", "Every link to the order's tracking page stops working; answers the new one",
      ("notify", "revoke_tracking"), (ORDER, "body.reason"), ReasonIn),
    # -- billing ---------------------------------------------------------------------------------
    R("GET", "/v1/invoices", "listInvoices", "operator", "billing",
      "List invoices and other documents: filters, sort, cursor and counts",
      ("billing", "list_invoices"), ("query",), query=ListInvoicesIn, items="invoices"),
    R("GET", "/v1/invoices/{invoice_id}", "getInvoice", "operator", "billing",
      "One document (ETag: its account's version)", ("billing", "get_invoice"),
      ("path:invoice_id",), versioned=True),
    R("POST", "/v1/invoices/{invoice_id}/payments", "recordPayment", "operator", "billing",
      "Record a payment (the same method and reference again records nothing)",
      ("billing", "record_payment"), ("path:invoice_id", "body"), PaymentIn, status=201,
      versioned=True),
    R("POST", "/v1/invoices/{invoice_id}/void", "voidInvoice", "operator", "billing",
      "Void an invoice", ("billing", "void_invoice"), ("path:invoice_id", "body.reason"),
      ReasonIn, versioned=True),
    # -- catalogue -------------------------------------------------------------------------------
    R("GET", "/v1/clients", "listClients", "operator", "catalogue", "List clients",
      ("orders", "list_clients"), ("query",), query=ListCatalogueIn, items="clients"),
    R("PUT", "/v1/clients/{code}", "registerClient", "operator", "catalogue",
      "Register a client (the same details again is harmless)", ("orders", "register_client"),
      ("path:code", "body"), ClientDetailsIn, versioned=True),
    R("PATCH", "/v1/clients/{code}", "updateClient", "operator", "catalogue",
      "Change a client's details (only the fields given)", ("orders", "update_client"),
      ("path:code", "body"), ClientChangesIn, versioned=True),
    R("POST", "/v1/clients/{code}/deactivate", "deactivateClient", "operator", "catalogue",
      "Deactivate a client: new orders can no longer name it",
      ("orders", "deactivate_client"), ("path:code", "body.reason"), ReasonIn, versioned=True),
    R("GET", "/v1/products", "listProducts", "operator", "catalogue", "List products",
      ("orders", "list_products"), ("query",), query=ListCatalogueIn, items="products"),
    R("PUT", "/v1/products/{sku}", "registerProduct", "operator", "catalogue",
      "Register a product (the same details again is harmless)",
      ("orders", "register_product"), ("path:sku", "body"), ProductDetailsIn, versioned=True),
    R("PATCH", "/v1/products/{sku}", "updateProduct", "operator", "catalogue",
      "Change a product (`{\"active\": false}` withdraws it)", ("orders", "update_product"),
      ("path:sku", "body"), ProductChangesIn, versioned=True),
    R("POST", "/v1/products/{sku}/deactivate", "deactivateProduct", "operator", "catalogue",
      "Withdraw a product from new orders", ("orders", "update_product"),
      ("path:sku", 'json:{"active": false}'), NoBody, versioned=True),
    # -- the logs and the system -----------------------------------------------------------------
    R("GET", "/v1/events/{service}", "listEvents", "operator", "events",
      "A service's integration events in log order, as CloudEvents; read on from `next`",
      None, ("path:service", "query"), query=EventsQuery),
    R("GET", "/v1/health", "health", "public", "system", "Each service's log status", None),
    R("GET", "/v1/parked/{service}", "listParked", "admin", "system",
      "A service's parked reactions", None, ("path:service", "query"), query=ParkedQuery),
    R("POST", "/v1/parked/{service}/{parked_id}/retry", "retryParked", "admin", "system",
      "Run a parked reaction again (then those waiting behind it)", None,
      ("path:service", "path:parked_id"), NoBody),
    R("POST", "/v1/parked/{service}/{parked_id}/discard", "discardParked", "admin", "system",
      "Give up on a parked reaction", None, ("path:service", "path:parked_id", "body.reason"),
      ReasonIn),
    R("POST", "/v1/rebuilds/{service}", "rebuildReadModel", "admin", "system",
      "Rebuild a service's read model from its whole log (orders, billing, notify)", None,
      ("path:service",), NoBody),
    # -- who is calling --------------------------------------------------------------------------
    R("POST", "/v1/tokens", "createToken", "storefront", "access",
      "An actor token for this key, for calling the services over RPC", None, (), NoBody,
      status=201),
    R("GET", "/v1/keys", "listKeys", "admin", "access", "The API keys (never the keys)", None),
    R("POST", "/v1/keys", "createKey", "admin", "access",
      "A new API key: the key is shown in this answer only", None, ("body",), KeyIn, status=201),
    R("DELETE", "/v1/keys/{name}", "revokeKey", "admin", "access", "Revoke a key", None,
      ("path:name",)),
)  # fmt: skip

REBUILDABLE = ("orders", "billing", "notify")
INTEGER_PARAMETERS = ("parked_id",)
ENUMS = {"service": SERVICES}
