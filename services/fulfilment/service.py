"""The fulfilment service: distributors, and purchase orders to them for shipped shippings — sent
through the shared sender, answered by the distributors, followed to the end. Examples in
docs/fulfilment.md."""

import re
import time

from services.fulfilment.application import FulfilmentApplication
from services.fulfilment.availability import FeedScheduler
from services.fulfilment.channels import channels
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
from services.fulfilment.views import (
    CourierOut,
    CourierRunOut,
    CourierTaskOut,
    DistributorOut,
    PurchaseOrderOut,
)
from shared.errors import NotFound, ValidationFailed
from shared.log_rpc import EventLogRpc
from shared.rpc import RpcProxy
from shared.service import EventSourced, check_id, command, who
from shared.validation import load, reason_of

CODE = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
OUT, DISTRIBUTOR = PurchaseOrderOut(), DistributorOut()
COURIER, RUN, TASK = CourierOut(), CourierRunOut(), CourierTaskOut()
SENDS = ("pending", "sent", "failed", "dropped")


class FulfilmentService(EventLogRpc):
    name = "fulfilment"
    app = EventSourced(FulfilmentApplication, channels, workers=(FeedScheduler,))
    orders = RpcProxy("orders")

    # -- distributors ------------------------------------------------------------------------------
    @command
    def register_distributor(self, code, distributor):
        """`register_distributor("acme", {"name": "Acme", "account_manager_email":
        "am@acme.example", "ordering": {"channel": "api", "url": "https://acme.example/orders",
        "credential": "…"}, "delivery": {"bands": [{"up_to_kg": "5", "charge": "7.50"}]}})`
        (admins). Answers it with `callback_secret`, which signs its callbacks."""
        details = load(DistributorIn, distributor, "distributor")
        registered = self.app.register_distributor(_code(code), details, who("admin"))
        return dict(DISTRIBUTOR.dump(registered), callback_secret=registered.callback_secret)

    @command
    def update_distributor(self, code, changes):
        """`update_distributor("acme", {"lead_time_days": 3})` (admins): the fields given change."""
        changes = load(DistributorChangesIn, changes, "changes")
        return DISTRIBUTOR.dump(self.app.update_distributor(_code(code), changes, who("admin")))

    @command
    def list_distributors(self):
        """Every distributor by code (credentials are never shown)."""
        return DISTRIBUTOR.dump(self.app.list_distributors(), many=True)

    @command
    def get_distributor(self, code):
        if not isinstance(code, str) or not CODE.match(code):  # no such code can exist
            raise NotFound(f"no distributor {str(code)[:64]!r}", {"code": str(code)[:64]})
        return DISTRIBUTOR.dump(self.app.distributor(code, field=None))

    # -- purchase orders -------------------------------------------------------------------------
    @command
    def purchase_orders_for_order(self, order_id):
        """`[{"id": …, "number": "PO-R1-1", "distributor": "acme", "status": "acknowledged",
        "lines": [{"sku": "MUG-1", "quantity": 3, "cost_price": "4.10", …}], "sends":
        [{"kind": "order", "status": "sent", "attempts": [{"answer": "HTTP 201: …"}]}], …}]`."""
        check_id(order_id=order_id)
        return self._shown(OUT, self.app.purchase_orders_of(order_id), many=True)

    @command
    def get_purchase_order(self, purchase_order_id):
        check_id(purchase_order_id=purchase_order_id)
        return self._shown(OUT, self.app.purchase_order(purchase_order_id))

    @command
    def edit_purchase_order_costs(self, purchase_order_id, costs, reason=None):
        """`edit_purchase_order_costs(id, {"MUG-1": "4.10"}, "agreed by phone")`: before it is
        sent; the PDF then also goes to the account manager."""
        check_id(purchase_order_id=purchase_order_id)
        given = load(CostsIn, {"costs": costs, "reason": reason}, "costs")
        po = self.app.edit_costs(purchase_order_id, given["costs"], given["reason"], who())
        return self._shown(OUT, po)

    @command
    def send_purchase_order(self, purchase_order_id):
        """Send it now, without waiting for the rest of OMS_PO_SEND_DELAY_SECONDS."""
        check_id(purchase_order_id=purchase_order_id)
        return self._shown(OUT, self.app.send_now(purchase_order_id, who()))

    @command
    def cancel_purchase_order(self, purchase_order_id, reason):
        """Cancel it (a sent one is cancelled with the distributor too)."""
        check_id(purchase_order_id=purchase_order_id)
        reason, actor = reason_of(reason), who()
        return self._shown(OUT, self.app.cancel(purchase_order_id, reason, actor))

    @command
    def receive_purchase_order(self, purchase_order_id, lines):
        """Goods arrived: `receive_purchase_order(id, [{"sku": "MUG-1", "quantity": 2}])`."""
        check_id(purchase_order_id=purchase_order_id)
        given = load(ReceiveIn, {"lines": lines}, "receipt")
        return self._shown(OUT, self.app.receive(purchase_order_id, given["lines"], who()))

    @command
    def close_purchase_order(self, purchase_order_id, reason=None):
        check_id(purchase_order_id=purchase_order_id)
        reason, actor = reason_of(reason, required=False), who()
        return self._shown(OUT, self.app.close_purchase_order(purchase_order_id, reason, actor))

    @command
    def distributor_callback(self, code, timestamp, signature, body):
        """A distributor's signed answer, as the gateway received it (`body`: the raw text;
        `timestamp`, `signature`: its X-Distributor-Timestamp and -Signature headers)."""
        if not isinstance(body, str):
            raise ValidationFailed("invalid body", {"body": ["Must be the raw text."]})
        return self.app.callback(
            _code(code), timestamp, signature, body.encode(), time.time(), _callback
        )

    # -- own couriers --------------------------------------------------------------------------
    @command
    def register_courier(self, code, courier):
        """`register_courier("jan", {"name": "Jan Kowalski", "email": "jan@couriers.example",
        "phone": "+48 600 100 200"})` (the same again is harmless)."""
        details = load(CourierIn, courier, "courier")
        return COURIER.dump(self.app.register_courier(_code(code), details, who()))

    @command
    def list_couriers(self):
        return COURIER.dump(self.app.list_couriers(), many=True)

    @command
    def assign_courier(self, order_id, shipping_id, courier):
        """An own courier delivers the shipping (instead of a distributor): `assign_courier(
        order_id, shipping_id, "jan")`. The courier gets the task by e-mail and SMS with a
        signed link; the client is told a courier is on the way, and about when. Another
        courier later takes over (the first one's links stop working)."""
        check_id(order_id=order_id, shipping_id=shipping_id)
        code = load(AssignIn, {"courier": courier}, "assignment")["courier"]
        actor = who()
        order = self.orders.get_order(order_id)
        return self._shown(RUN, self.app.assign_courier(order, shipping_id, code, actor))

    @command
    def courier_runs_for_order(self, order_id):
        """The order's deliveries by own couriers, each with its courier, ETA and delivery."""
        check_id(order_id=order_id)
        return self._shown(RUN, self.app.courier_runs_for_order(order_id), many=True)

    @command
    def courier_task(self, token):
        """What a courier's link shows (the gateway's courier page; the token is the only
        credential): NotFound for a tampered, unknown or superseded link, InvalidTransition
        `link_expired` for an expired one."""
        run, _ = self.app.run_by_link(token)
        return self._shown(TASK, run)

    @command
    def courier_delivered(self, token):
        """The courier's button: marks the shipping delivered (once; again: as it is)."""
        run, marked = self.app.mark_delivered_by_link(token)
        return dict(self._shown(TASK, run), marked_now=marked)

    # -- stock, price and the best source -----------------------------------------------------
    @command
    def check_availability(self, lines, deadline_ms=None):
        """Stock and cost price per sku and distributor, live where a distributor answers within
        the deadline (OMS_AVAILABILITY_DEADLINE_MS, 800 ms), else from its latest feed:
        `check_availability([{"sku": "MUG-1", "quantity": 3}])` -> `{"lines": [{"sku": "MUG-1",
        "available": true, "offers": [{"distributor": "acme", "stock": 12, "cost_price": "4.10",
        "source": "live", "age_seconds": 0.0, "enough": true}, {"distributor": "bic", "source":
        "feed", "age_seconds": 1834.2, "why": "live answer late", …}], "unknown": […]}], …}`."""
        given = load(AvailabilityIn, {"lines": lines, "deadline_ms": deadline_ms}, "availability")
        who("storefront")
        return self.app.check_availability(given["lines"], self._deadline(given))

    @command
    def check_skus(self, query):
        """The same for `{"skus": "MUG-1,PEN-3", "quantity": 2}` (the gateway's GET)."""
        given = load(AvailabilityQueryIn, query, "query")
        skus = list(dict.fromkeys(s.strip() for s in given["skus"].split(",") if s.strip()))
        lines = [{"sku": sku, "quantity": given["quantity"]} for sku in skus]
        return self.check_availability(lines, given["deadline_ms"])

    @command
    def best_source(self, lines, destination, deadline_ms=None):
        """The cheapest way to fulfil the lines delivered to `destination` — cost prices plus each
        distributor's delivery charge (flat or by weight), subject to stock, split across
        distributors when that is cheaper — with the reasoning: `best_source([{"sku": "MUG-1",
        "quantity": 3}], {"country": "GB"})` -> `{"feasible": true, "total": "27.00",
        "shipments": [{"distributor": "acme", "lines": […], "delivery_charge": "5.00", …}],
        "reasoning": ["acme: goods 22.00 + delivery 5.00 for 1.25 kg = 27.00", …], …}`."""
        given = load(
            BestSourceIn,
            {"lines": lines, "destination": destination, "deadline_ms": deadline_ms},
            "best source",
        )
        who("storefront")
        return self.app.best_source(given["lines"], given["destination"], self._deadline(given))

    @command
    def apply_best_source(self, order_id, reason=None):
        """Choose the distributors of the order's bought-in lines still to ship by the best
        source to their address: `{"plan": …, "order": …}` (orders records the choice)."""
        check_id(order_id=order_id)
        reason = reason_of(reason, required=False)
        who()
        order = self.orders.get_order(order_id)
        deadline = self.app.settings.availability_deadline_ms
        planned, choices = self.app.source_for_order(order, deadline)
        current = {x["sku"]: x["distributor"] for x in order["lines"]}
        changed = {sku: code for sku, code in choices.items() if current.get(sku) != code}
        if changed:
            why = reason or f"best source: {planned['total']} {planned['currency']}"
            order = self.orders.choose_distributors(order_id, changed, why)
        return {"plan": planned, "changed": changed, "order": order}

    @command
    def import_feed(self, code):
        """Read the distributor's feed now: `{"distributor": "acme", "imported_at": …,
        "items": 120, "error": null}` (a feed that cannot be read keeps its last snapshot)."""
        who()
        return self.app.import_feed(_code(code))

    @command
    def feeds(self):
        """Every feed: when it was last read, how many items, and the last failure if any."""
        return self.app.feeds()

    def _shown(self, view, value, many: bool = False):
        """A purchase order or a delivery as answered, the client's data opened in it."""
        return self.app.opened(view.dump(value, many=many))

    def _deadline(self, given: dict) -> int:
        return given.get("deadline_ms") or self.app.settings.availability_deadline_ms

    # -- the outbox and documents ----------------------------------------------------------------
    @command
    def outbox(self, status=None):
        """The sends by status (pending, sent, failed, dropped; null: all), newest first."""
        if status is not None and status not in SENDS:
            raise ValidationFailed("invalid query", {"status": [f"One of {', '.join(SENDS)}."]})
        return self.app.sends(status)

    @command
    def rebuild_read_model(self):
        """The outbox and the distributors written again from the whole log:
        `{"sends": n, "distributors": n}`."""
        who("admin")
        return self.app.rebuild_read_model()

    @command
    def document(self, kind, document_id, revision=None):
        """`document("purchase_order", id, revision=None)`: `{"filename", "content_type":
        "application/pdf", "sha256" (recorded when it was issued), "content": "<base64>", …}`;
        a purchase order whose cost prices were edited has a revision per edit."""
        if kind != "purchase_order":
            raise NotFound(f"fulfilment has no {kind} documents", {"kind": kind})
        check_id(id=document_id)
        if revision is not None and (not isinstance(revision, int) or isinstance(revision, bool)):
            raise ValidationFailed("invalid revision", {"revision": ["Must be a whole number."]})
        return self.app.purchase_order_pdf(document_id, revision)


def _code(value) -> str:
    if not isinstance(value, str) or not CODE.match(value):
        raise ValidationFailed(
            "invalid code", {"code": ["Use 1-64 letters, digits, '.', '_' or '-'."]}
        )
    return value


def _callback(given: dict) -> dict:
    loaded = load(CallbackIn, given, "callback")
    return dict(loaded, purchase_order_id=str(loaded["purchase_order_id"]))
