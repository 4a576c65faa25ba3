"""The billing service: invoices, credit notes, pro-formas and payments over RPC (examples in
docs/billing.md), and the payment gateway's signed callback over HTTP.

Every state-changing call needs an actor token in the RPC context (shared/actors.py): the name in
it is the actor its events record. Answers show the client's details opened (forgetting.py).
"""

import json
import time

from nameko.web.handlers import http
from werkzeug.wrappers import Response

from services.billing import gateway
from services.billing.application import BillingApplication
from services.billing.schemas import ChannelIn, ListInvoicesIn, PaymentIn
from services.billing.views import show_account, show_document
from shared.errors import NotFound
from shared.log_rpc import EventLogRpc
from shared.service import EventSourced, check_id, command, who
from shared.validation import load, reason_of


class BillingService(EventLogRpc):
    name = "billing"
    app = EventSourced(BillingApplication)

    @command
    def get_invoice(self, invoice_id):
        """One document by id: `{"id": …, "number": "INV-2026-000001", "kind": "invoice",
        "status": "unpaid", "net": "28.50", "tax": "5.70", "gross": "34.20", "due": "34.20", …}`."""
        check_id(invoice_id=invoice_id)
        account = self.app.account_of_document(invoice_id)
        return self._shown(show_document(account, account.document(invoice_id)))

    @command
    def invoices_for_order(self, order_id):
        """The order's documents (invoices, credit notes, pro-formas) in issue order; [] if none."""
        check_id(order_id=order_id)
        account, documents = self.app.documents_for_order(order_id)
        return self._shown([show_document(account, d) for d in documents])

    @command
    def account_for_order(self, order_id):
        """Everything billing knows of an order: its documents, payment status, refund due,
        payment channel (with its changes) and rejected gateway payments."""
        check_id(order_id=order_id)
        return self._shown(show_account(self.app.account(order_id)))

    @command
    def document(self, kind, document_id, revision=None):
        """`document("invoice", id)` (an invoice or supplementary invoice), `"credit_note"` or
        `"pro_forma"`: `{"filename", "content_type": "application/pdf", "sha256" (recorded when
        it was issued), "content": "<base64>", "number", …}`."""
        check_id(id=document_id)
        if revision not in (None, 1):  # issued once, never revised
            raise NotFound(f"a {kind} has one revision", {"id": document_id, "revision": revision})
        return self.app.document_pdf(kind, document_id)

    @command
    def rebuild_read_model(self):
        """Drop the documents list and write it again from the whole log: `{"aggregates": n}`."""
        who("admin")
        return {"aggregates": self.app.rebuild_read_model()}

    @command
    def list_invoices(self, query=None):
        """`list_invoices({"statuses": ["unpaid"], "client_code": "ACME", "issued_from": "2026-01-01",
        "overdue": true, "sort": "due_on", "direction": "asc", "limit": 50, "cursor": …})`:
        `{"invoices": [...], "next_cursor": …, "counts": {"unpaid": 3, …}}`."""
        return self.app.list_invoices(load(ListInvoicesIn, query or {}, "query"))

    @command
    def issue_pro_forma(self, order_id):
        """A pro-forma of a placed order not yet accepted (the same one while the order is unchanged)."""
        check_id(order_id=order_id)
        account, document = self.app.issue_pro_forma(order_id, who("storefront"))
        return self._shown(show_document(account, document))

    @command
    def record_payment(self, invoice_id, payment):
        """`record_payment(id, {"amount": "10.00", "method": "bank_transfer", "reference": "TRF-1",
        "paid_on": "2026-11-20"})`; the same method and reference again records nothing."""
        check_id(invoice_id=invoice_id)
        payment = dict(load(PaymentIn, payment, "payment"), actor=who())
        account = self.app.record_payment(invoice_id, payment)
        return self._shown(show_document(account, account.document(invoice_id)))

    @command
    def void_invoice(self, invoice_id, reason):
        """`void_invoice(id, "issued twice")`: a refund due is recorded if money was received."""
        check_id(invoice_id=invoice_id)
        account = self.app.void_invoice(invoice_id, reason_of(reason), who())
        return self._shown(show_document(account, account.document(invoice_id)))

    @command
    def change_payment_channel(self, order_id, channel, reason):
        """`change_payment_channel(order_id, "cash", "pays at pick-up")`: cash, card,
        bank_transfer or online_gateway; who and why are recorded."""
        check_id(order_id=order_id)
        change = load(ChannelIn, {"channel": channel, "reason": reason}, "channel change")
        account = self.app.change_payment_channel(
            order_id, change["channel"], change["reason"], who()
        )
        return self._shown(show_account(account))

    def _shown(self, answer):
        return self.app.opened(answer)

    @http("POST", "/billing/gateway/callback")
    def gateway_callback(self, request):
        """The payment gateway's confirmation or rejection, signed (see services/billing/gateway.py):
        `{"transaction_id": "tx-1", "invoice_id": …, "outcome": "confirmed", "amount": "34.20",
        "currency": "EUR"}`."""
        config = self.app.settings
        body = _limited_body(request, config.max_callback_bytes)
        if body is None:
            status, answer = gateway.too_large(config.max_callback_bytes)
        else:
            status, answer = gateway.answer(
                self.app,
                request.headers,
                body,
                config.gateway_secret,
                time.time(),
                config.gateway_tolerance_seconds,
            )
        return Response(json.dumps(answer), status=status, mimetype="application/json")


def _limited_body(request, limit: int) -> bytes | None:
    """The body, or None if it is longer than `limit` (refused before reading it when the
    request declares its length, after `limit` bytes when it is chunked)."""
    if request.content_length is not None:
        return None if request.content_length > limit else request.get_data()
    body = request.environ["wsgi.input"].read(limit + 1)  # chunked: the server decodes it
    return None if len(body) > limit else body
