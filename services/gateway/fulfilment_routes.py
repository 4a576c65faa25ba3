"""Fulfilment's routes: distributors (admins register and change them), purchase orders and what
operators do with them, the sends, and the distributors' signed callbacks."""

from marshmallow import fields, validate

from services.fulfilment.schemas import (
    AssignIn,
    AvailabilityIn,
    AvailabilityQueryIn,
    BestSourceIn,
    CallbackIn,
    CostsIn,
    CourierIn,
    DistributorChangesIn,
    DistributorIn,
    ReceiveIn,
)
from services.gateway.route import NoBody, Route
from services.orders.schemas import ChoicesIn
from shared.validation import OptionalReasonIn, ReasonIn, Strict

R = Route
PO = "path:purchase_order_id"
POS = "/v1/purchase-orders/{purchase_order_id}"
DISTRIBUTOR = "/v1/distributors/{code}"


class FulfilmentSendsIn(Strict):
    status = fields.String(
        load_default=None, validate=validate.OneOf(("pending", "sent", "failed", "dropped"))
    )


FULFILMENT_ROUTES = (
    R("GET", "/v1/distributors", "listDistributors", "operator", "fulfilment",
      "The distributors (credentials are never shown)", ("fulfilment", "list_distributors")),
    R("GET", DISTRIBUTOR, "getDistributor", "operator", "fulfilment", "A distributor",
      ("fulfilment", "get_distributor"), ("path:code",), versioned=True),
    R("PUT", DISTRIBUTOR, "registerDistributor", "admin", "fulfilment",
      "Register a distributor (the same details again is harmless); answers its callback secret",
      ("fulfilment", "register_distributor"), ("path:code", "body"), DistributorIn,
      versioned=True),
    R("PATCH", DISTRIBUTOR, "updateDistributor", "admin", "fulfilment",
      "Change a distributor (only the fields given)", ("fulfilment", "update_distributor"),
      ("path:code", "body"), DistributorChangesIn, versioned=True),
    R("POST", f"{DISTRIBUTOR}/callbacks", "distributorCallback", "public", "fulfilment",
      "A distributor's answer to a purchase order, signed: X-Distributor-Timestamp (unix"
      " seconds) and X-Distributor-Signature (v1=HMAC-SHA256 of `<timestamp>.<body>` with its"
      " callback secret)", None, ("path:code", "body"), CallbackIn),
    R("GET", POS, "getPurchaseOrder", "operator", "fulfilment",
      "A purchase order with every send and attempt", ("fulfilment", "get_purchase_order"),
      (PO,), versioned=True),
    R("POST", f"{POS}/costs", "editPurchaseOrderCosts", "operator", "fulfilment",
      "Edit cost prices before it is sent (the PDF then goes to the account manager too)",
      ("fulfilment", "edit_purchase_order_costs"), (PO, "body.costs", "body.reason"), CostsIn,
      versioned=True),
    R("POST", f"{POS}/send", "sendPurchaseOrder", "operator", "fulfilment",
      "Send it now (not waiting for the rest of the delay)",
      ("fulfilment", "send_purchase_order"), (PO,), NoBody, versioned=True),
    R("POST", f"{POS}/cancel", "cancelPurchaseOrder", "operator", "fulfilment",
      "Cancel it (with the distributor too, if it was sent)",
      ("fulfilment", "cancel_purchase_order"), (PO, "body.reason"), ReasonIn, versioned=True),
    R("POST", f"{POS}/receipts", "receivePurchaseOrder", "operator", "fulfilment",
      "Goods received", ("fulfilment", "receive_purchase_order"), (PO, "body.lines"), ReceiveIn,
      versioned=True),
    R("POST", f"{POS}/close", "closePurchaseOrder", "operator", "fulfilment",
      "Close an answered purchase order", ("fulfilment", "close_purchase_order"),
      (PO, "body.reason"), OptionalReasonIn, versioned=True),
    # -- stock, price and the best source ------------------------------------------------------
    R("GET", "/v1/availability", "checkSkus", "storefront", "fulfilment",
      "Stock and cost price of some skus (`?skus=A,B&quantity=2`): live within the deadline,"
      " else from feeds, with each answer's source and age", ("fulfilment", "check_skus"),
      ("query",), query=AvailabilityQueryIn),
    R("POST", "/v1/availability", "checkAvailability", "storefront", "fulfilment",
      "Stock and cost price of a basket's lines (live within the deadline, else from feeds)",
      ("fulfilment", "check_availability"), ("body.lines", "body.deadline_ms"), AvailabilityIn),
    R("POST", "/v1/best-source", "bestSource", "storefront", "fulfilment",
      "The cheapest way to fulfil some lines to a destination, delivery charges included,"
      " with the reasoning", ("fulfilment", "best_source"),
      ("body.lines", "body.destination", "body.deadline_ms"), BestSourceIn),
    R("POST", "/v1/orders/{order_id}/best-source", "applyBestSource", "operator", "fulfilment",
      "Choose the distributors of the order's bought-in lines still to ship by the best source",
      ("fulfilment", "apply_best_source"), ("path:order_id", "body.reason"), OptionalReasonIn),
    R("PUT", "/v1/orders/{order_id}/distributors", "chooseDistributors", "operator", "orders",
      "Choose who supplies bought-in lines still to ship", ("orders", "choose_distributors"),
      ("path:order_id", "body.choices", "body.reason"), ChoicesIn, versioned=True),
    R("GET", "/v1/feeds", "listFeeds", "operator", "fulfilment",
      "Every distributor's feed: when it was last read, its items, its last failure",
      ("fulfilment", "feeds")),
    R("POST", f"{DISTRIBUTOR}/feed-imports", "importFeed", "operator", "fulfilment",
      "Read the distributor's feed now (a failed read keeps the last snapshot)",
      ("fulfilment", "import_feed"), ("path:code",), NoBody),
    # -- own couriers ------------------------------------------------------------------------------
    R("GET", "/v1/couriers", "listCouriers", "operator", "fulfilment", "The own couriers",
      ("fulfilment", "list_couriers")),
    R("PUT", "/v1/couriers/{code}", "registerCourier", "operator", "fulfilment",
      "Register an own courier (the same details again is harmless)",
      ("fulfilment", "register_courier"), ("path:code", "body"), CourierIn),
    R("POST", "/v1/orders/{order_id}/shippings/{shipping_id}/courier", "assignCourier",
      "operator", "fulfilment",
      "An own courier delivers the shipping: the courier gets the task by e-mail and SMS with a"
      " signed link, the client is told a courier is on the way",
      ("fulfilment", "assign_courier"), ("path:order_id", "path:shipping_id", "body.courier"),
      AssignIn),
    R("GET", "/v1/orders/{order_id}/courier-runs", "orderCourierRuns", "operator", "effects",
      "The order's deliveries by own couriers", ("fulfilment", "courier_runs_for_order"),
      ("path:order_id",)),
    R("GET", "/v1/purchase-order-sends", "purchaseOrderSends", "operator", "fulfilment",
      "Purchase-order sends by status: pending (with their next try), sent, failed, dropped",
      ("fulfilment", "outbox"), ("query.status",), query=FulfilmentSendsIn),
)  # fmt: skip
