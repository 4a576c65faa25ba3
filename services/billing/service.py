"""The billing service: invoices for accepted orders."""

from marshmallow import Schema, fields

from services.billing.application import BillingApplication
from shared.errors import EXPECTED
from shared.service import EventLogRpc, EventSourced, check_id, rpc


class InvoiceOut(Schema):
    id = fields.String()
    order_id = fields.String()
    order_reference = fields.String()
    client = fields.Dict()
    lines = fields.Method("dump_lines")
    total = fields.Function(lambda invoice: str(invoice.total))
    currency = fields.String()
    status = fields.String()

    def dump_lines(self, invoice):
        return [dict(line, unit_price=str(line["unit_price"])) for line in invoice.lines]


class BillingService(EventLogRpc):
    name = "billing"
    store = EventSourced(BillingApplication)

    @rpc(expected_exceptions=EXPECTED)
    def invoices_for_order(self, order_id):
        """The order's invoices: `[{"id": …, "total": "28.50", "currency": "EUR", "status": "unpaid", …}]`."""
        check_id(order_id=order_id)
        return InvoiceOut(many=True).dump(self.store.for_order(order_id))

    @rpc(expected_exceptions=EXPECTED)
    def get_invoice(self, invoice_id):
        """One invoice by id."""
        check_id(invoice_id=invoice_id)
        return InvoiceOut().dump(self.store.get(invoice_id, "invoice"))
