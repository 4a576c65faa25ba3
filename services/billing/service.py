"""The billing service: invoices, credit notes, pro-formas and payments over RPC (examples in
docs/billing.md), and the payment gateway's signed callback over HTTP.

Every state-changing call takes `actor`, the acting user (or the RPC context's `actor`).
"""

import functools
import json
import time

from nameko.dependency_providers import Config
from nameko.web.handlers import http
from werkzeug.wrappers import Response

from services.billing import gateway
from services.billing.application import BillingApplication
from services.billing.domain import BillingRefused, UnknownDocument
from services.billing.schemas import ChannelIn, ListInvoicesIn, PaymentIn
from services.billing.views import show_account, show_document
from shared import settings
from shared.errors import EXPECTED, InvalidTransition, NotFound, ValidationFailed
from shared.paging import CursorRefused
from shared.service import EventLogRpc, EventSourced, check_id, rpc, who
from shared.validation import load, reason_of


def translated(method):
    """Map the account's refusals to the typed errors callers catch."""

    @functools.wraps(method)
    def wrapper(*args, **kwargs):
        try:
            return method(*args, **kwargs)
        except BillingRefused as exc:
            details = {"rule": exc.rule, "command": exc.command, "detail": exc.detail}
            raise InvalidTransition(str(exc), details) from None
        except UnknownDocument as exc:
            raise NotFound(str(exc), {"id": exc.document_id}) from None
        except CursorRefused as exc:
            raise ValidationFailed("invalid cursor", {"cursor": [str(exc)]}) from None

    return wrapper


def command(method):
    return rpc(expected_exceptions=EXPECTED)(translated(method))


class BillingService(EventLogRpc):
    name = "billing"
    store = EventSourced(BillingApplication)
    config = Config()

    @command
    def get_invoice(self, invoice_id):
        """One document by id: `{"id": …, "number": "INV-2026-000001", "kind": "invoice",
        "status": "unpaid", "net": "28.50", "tax": "5.70", "gross": "34.20", "due": "34.20", …}`."""
        check_id(invoice_id=invoice_id)
        account = self.store.account_of_document(invoice_id)
        return show_document(account, account.document(invoice_id))

    @command
    def invoices_for_order(self, order_id):
        """The order's documents (invoices, credit notes, pro-formas) in issue order; [] if none."""
        check_id(order_id=order_id)
        account, documents = self.store.documents_for_order(order_id)
        return [show_document(account, d) for d in documents]

    @command
    def account_for_order(self, order_id):
        """Everything billing knows of an order: its documents, payment status, refund due,
        payment channel (with its changes) and rejected gateway payments."""
        check_id(order_id=order_id)
        return show_account(self.store.account(order_id))

    @command
    def list_invoices(self, query=None):
        """`list_invoices({"statuses": ["unpaid"], "client_code": "ACME", "issued_from": "2026-01-01",
        "overdue": true, "sort": "due_on", "direction": "asc", "limit": 50, "cursor": …})`:
        `{"invoices": [...], "next_cursor": …, "counts": {"unpaid": 3, …}}`."""
        return self.store.list_invoices(load(ListInvoicesIn, query or {}, "query"))

    @command
    def issue_pro_forma(self, order_id, actor=None):
        """A pro-forma of a placed order not yet accepted (the same one while the order is unchanged)."""
        check_id(order_id=order_id)
        account, document = self.store.issue_pro_forma(order_id, who(actor))
        return show_document(account, document)

    @command
    def record_payment(self, invoice_id, payment, actor=None):
        """`record_payment(id, {"amount": "10.00", "method": "bank_transfer", "reference": "TRF-1",
        "paid_on": "2026-11-20"})`; the same method and reference again records nothing."""
        check_id(invoice_id=invoice_id)
        payment = dict(load(PaymentIn, payment, "payment"), actor=who(actor))
        account = self.store.record_payment(invoice_id, payment)
        return show_document(account, account.document(invoice_id))

    @command
    def void_invoice(self, invoice_id, reason, actor=None):
        """`void_invoice(id, "issued twice")`: a refund due is recorded if money was received."""
        check_id(invoice_id=invoice_id)
        account = self.store.void_invoice(invoice_id, reason_of(reason), who(actor))
        return show_document(account, account.document(invoice_id))

    @command
    def change_payment_channel(self, order_id, channel, reason, actor=None):
        """`change_payment_channel(order_id, "cash", "pays at pick-up")`: cash, card,
        bank_transfer or online_gateway; who and why are recorded."""
        check_id(order_id=order_id)
        change = load(ChannelIn, {"channel": channel, "reason": reason}, "channel change")
        account = self.store.change_payment_channel(
            order_id, change["channel"], change["reason"], who(actor)
        )
        return show_account(account)

    @http("POST", "/billing/gateway/callback")
    def gateway_callback(self, request):
        """The payment gateway's confirmation or rejection, signed (see services/billing/gateway.py):
        `{"transaction_id": "tx-1", "invoice_id": …, "outcome": "confirmed", "amount": "34.20",
        "currency": "EUR"}`."""
        secret = self.config.get("GATEWAY_SECRET", settings.gateway_secret())
        tolerance = (
            self.config.get("GATEWAY_TOLERANCE_SECONDS") or settings.gateway_tolerance_seconds()
        )
        status, body = gateway.answer(
            self.store, request.headers, request.get_data(), secret, time.time(), tolerance
        )
        return Response(json.dumps(body), status=status, mimetype="application/json")
