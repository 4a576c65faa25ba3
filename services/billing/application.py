"""Billing use cases: an order's invoices follow its life (accepted or shipped, edited, voided);
payments, payment channels and pro-formas come from operators and the payment gateway.

Invoice numbers are taken from a counter row in the same transaction that saves the document,
so a number is used exactly when its document is stored: no gaps, no reuse, crashes included.
"""

import functools
from datetime import UTC, datetime, timedelta
from uuid import NAMESPACE_URL, UUID, uuid5

import sqlalchemy as sa
from eventsourcing.application import AggregateNotFoundError

from services.billing import clients, documents, projections
from services.billing.domain import Account, Issue, UnknownDocument, precision
from services.billing.forgetting import Forgetting
from services.billing.publishing import PUBLISHED
from shared.contracts import load
from shared.counters import counter_table, take
from shared.documents import LAYOUT, seller
from shared.errors import NotFound, ValidationFailed
from shared.money import rounded
from shared.readmodels import ReadModel
from shared.store import ServiceApplication

ACCOUNT_IDS = uuid5(NAMESPACE_URL, "https://oms.example/billing-accounts")
LINE_FIELDS = ("sku", "name", "quantity", "unit_price", "vat_rate")


def account_id_for(order_id: str) -> UUID:
    return uuid5(ACCOUNT_IDS, str(order_id))


def on_account(issuing: bool):
    """A reaction to an order event that changes the order's account: `method(account, order,
    issue)` runs in one transaction with the numbers, details and dates it may issue under (the
    keys of the client's details fetched before, if it may issue: forgetting.py `warm_keys`)."""

    def decorate(method):
        @functools.wraps(method)
        def reaction(self, envelope: dict) -> list:
            order = load(envelope["type"], envelope["data"])
            account = self._account_for(order)
            if issuing:
                self.warm_keys(order, account.client, account.address)
            with self.transaction() as session:
                method(self, account, order, self._issue(session, account, order.get("actor")))
            return [account] if account.pending_events else []

        return reaction

    return decorate


CLIENT_EVENTS = ("orders.client_registered", "orders.client_updated", "orders.client_deactivated")
# the order events whose reactions may issue a document (and so open the client's details)
ISSUING = ("orders.order_accepted", "orders.order_edited", "orders.shipping_shipped")
# heard in every segment of the orders stream: their reactions are idempotent, and accounts of
# any segment depend on them (a client's details; a forgotten client's key and names)
EVERY_SEGMENT = (*CLIENT_EVENTS, "orders.client_forgotten")


class BillingApplication(Forgetting, ServiceApplication):
    """Billing: one account per order holds its documents and payments."""

    service = "billing"
    follows = ("orders",)
    partitioned = frozenset({"orders"})  # an account follows its own order only
    opening = frozenset(ISSUING)  # an issued document prints the client's details
    published = PUBLISHED
    reactions = {
        "orders.client_registered": "_client_changed",
        "orders.client_updated": "_client_changed",
        "orders.client_deactivated": "_client_changed",
        "orders.client_forgotten": "_client_forgotten",
        "orders.order_placed": "_opened",
        "orders.order_accepted": "_accepted",
        "orders.order_declined": "_declined",
        "orders.order_voided": "_voided",
        "orders.order_edited": "_edited",
        "orders.shipping_shipped": "_shipped",
    }

    def segment_key(self, envelope: dict) -> str | None:
        """Clients' details go to every segment (invoices name them as they are when issued), and
        so does the forgetting of a client (every segment may hold its accounts)."""
        return None if envelope["type"] in EVERY_SEGMENT else envelope["subject"]

    def order_aggregates(self, order_id: str) -> list:
        return [account_id_for(order_id)]

    def define_tables(self, metadata: sa.MetaData) -> None:
        self.counters = counter_table(
            "billing_number_counters",
            metadata,
            sa.Column("series", sa.String(8), primary_key=True),
            sa.Column("year", sa.Integer, primary_key=True),
        )
        self.tables = projections.define(metadata)
        self.define_keys(metadata)

    def project(self, session, recordings) -> None:
        projections.record_gateway(session, self.tables, recordings)

    def project_aggregates(self, session, aggregates: list, events: list) -> None:
        opened = functools.partial(self.opened, session=session)
        projections.write(session, self.tables, aggregates, events, opened)

    @property
    def invoice_on(self) -> str:
        return self.settings.invoice_on

    # -- following the orders service (`reactions`) ----------------------------------------------
    def _client_changed(self, envelope: dict) -> list:
        """Billing keeps the catalogue's clients (their billing details) in a table of its own."""
        with self.transaction() as session:
            client = load(envelope["type"], envelope["data"])
            clients.save(session, self.tables, client, envelope["sequence"])
        return []

    @on_account(issuing=False)
    def _opened(self, account: Account, order: dict, issue: Issue) -> None:
        """A placed order opens its account (what a pro-forma is made from)."""

    @on_account(issuing=True)
    def _accepted(self, account: Account, order: dict, issue: Issue) -> None:
        account.follow_order("accepted")
        if self.invoice_on == "accept":
            account.invoice_order(issue)

    @on_account(issuing=False)
    def _declined(self, account: Account, order: dict, issue: Issue) -> None:
        account.follow_order("declined")

    @on_account(issuing=False)
    def _voided(self, account: Account, order: dict, issue: Issue) -> None:
        account.follow_order("voided")
        reason = f"order voided: {order['reason']}"
        account.void_all(reason, order["actor"] or "orders", datetime.now(UTC))

    @on_account(issuing=True)
    def _edited(self, account: Account, order: dict, issue: Issue) -> None:
        lines = _lines(order["lines"])
        if lines != account.order_lines:
            account.correct(lines, order["reason"], order["actor"], issue)

    @on_account(issuing=True)
    def _shipped(self, account: Account, order: dict, issue: Issue) -> None:
        if self.invoice_on == "dispatch":
            account.invoice_shipping(order["shipping_id"], _lines(order["lines"]), issue)

    def _account_for(self, order: dict) -> Account:
        found = self._find_account(order["order_id"])
        if found is not None:
            return found
        shippings = order.get("shippings") or []
        opened = {
            "order_id": order["order_id"],
            "reference": order["reference"],
            "client": order["client"],
            "currency": order["currency"],
            "lines": _lines(order["lines"]),
            "status": order["status"],
            "payment_method": order.get("payment_method"),
            "address": shippings[0]["address"] if shippings else None,
        }
        return Account(id=account_id_for(order["order_id"]), order=opened)

    def _issue(self, session, account: Account, actor: str | None) -> Issue:
        """Numbers, billing details and dates for documents issued in this transaction."""
        now = datetime.now(UTC)
        terms = self.settings.payment_terms_days
        return Issue(
            take=lambda series: (
                now.year,
                self._number(session, series, now.year),
            ),
            billing=lambda: self._billing_details(session, account),
            issued_on=now.date(),
            due_on=now.date() + timedelta(days=terms),
            actor=actor,
            seller=seller(self.settings),
            language=self.settings.document_language,
            fingerprint=lambda document: documents.fingerprint(self.printable(document, session)),
            layout=LAYOUT,
            retain=lambda billing, year: self.retained_buyer(session, billing, year),
        )

    def _number(self, session, series: str, year: int) -> int:
        """The next number of a series, in the transaction that stores its document; the log's
        lock first (`lock_log`), as a replica's batch holds it when one of its reactions numbers
        a document."""
        self.lock_log(session)
        return take(session, self.counters, series=series, year=year)

    def _billing_details(self, session, account: Account) -> dict:
        """The client as the catalogue knows it now (else as the order named it) and an address."""
        known = clients.details(session, self.tables, account.client.get("code"))
        client = known or account.client
        details = {k: client.get(k) for k in ("code", "name", "email", "phone")}
        details["address"] = (known or {}).get("address") or account.address
        return details

    # -- commands from operators and the gateway -------------------------------------------------
    def issue_pro_forma(self, order_id: str, actor: str) -> tuple[Account, dict]:
        def command():
            account = self.account(order_id)
            self.warm_keys(account.client, account.address)
            with self.transaction() as session:
                document = account.pro_forma(self._issue(session, account, actor))
                self.save(account)
            return account, document

        return self.retrying(command)

    def record_payment(self, invoice_id: str, payment: dict) -> Account:
        """`payment`: amount, currency (optional), method, reference, paid_on, actor."""

        def command():
            account = self.account_of_document(invoice_id)
            check_money(account, payment.get("currency") or account.currency, payment["amount"])
            entry = {k: v for k, v in payment.items() if k != "currency"}
            entry.update(source="operator", transaction_id=None, signed_at=None)
            account.record_payment(invoice_id, dict(entry, paid_on=payment["paid_on"].isoformat()))
            self.save(account)
            return account

        return self.retrying(command, replay=lambda: self.account_of_document(invoice_id))

    def void_invoice(self, invoice_id: str, reason: str, actor: str) -> Account:
        def command():
            account = self.account_of_document(invoice_id)
            account.void(invoice_id, reason, actor, datetime.now(UTC))
            self.save(account)
            return account

        return self.retrying(command, replay=lambda: self.account_of_document(invoice_id))

    def change_payment_channel(self, order_id: str, channel: str, reason: str, actor: str):
        def command():
            account = self.account(order_id)
            account.change_channel(channel, reason, actor)
            self.save(account)
            return account

        return self.retrying(command, replay=lambda: self.account(order_id))

    def gateway_callback(self, callback: dict, signed_at: int) -> dict:
        """A verified gateway callback: `recorded` once per transaction id; a later delivery of
        the same transaction is a `duplicate` (re-signed) or `replayed` (the same signature)."""

        def command():
            seen = self._gateway_transaction(callback["transaction_id"])
            if seen is not None:
                result = "replayed" if seen.signed_at == signed_at else "duplicate"
                return {"result": result, "outcome": seen.outcome, "invoice_id": seen.document_id}
            account = self.account_of_document(callback["invoice_id"])
            check_money(account, callback["currency"], callback["amount"])
            if not self._apply_gateway(account, callback, signed_at):
                # another delivery of it committed between the look-up above and this read
                return {"result": "duplicate", "outcome": callback["outcome"]}
            self.save(account)
            return {"result": "recorded", "outcome": callback["outcome"], "account": account}

        return self.retrying(command)

    def _apply_gateway(self, account: Account, callback: dict, signed_at: int) -> bool:
        transaction_id, now = callback["transaction_id"], datetime.now(UTC)
        if callback["outcome"] == "confirmed":
            payment = {
                "amount": callback["amount"],
                "method": "online_gateway",
                "reference": transaction_id,
                "paid_on": now.date().isoformat(),
                "actor": "payment gateway",
                "source": "gateway",
                "transaction_id": transaction_id,
                "signed_at": signed_at,
            }
            return account.record_payment(callback["invoice_id"], payment)
        rejection = {
            "transaction_id": transaction_id,
            "amount": callback["amount"],
            "reason": callback.get("reason"),
            "at": now.isoformat(),
            "signed_at": signed_at,
        }
        return account.reject_payment(callback["invoice_id"], rejection)

    # -- queries ---------------------------------------------------------------------------------
    def account(self, order_id: str) -> Account:
        account = self._find_account(order_id)
        if account is None:
            raise NotFound(
                f"order {order_id} has no billing account (billing learns of orders from their"
                " events; a just-placed order appears within moments)",
                {"id": order_id, "kind": "order"},
            )
        return account

    def _find_account(self, order_id: str) -> Account | None:
        """The order's account, read once (None if billing has not seen the order)."""
        try:
            return self.repository.get(account_id_for(order_id))
        except AggregateNotFoundError:
            return None

    def account_of_document(self, document_id: str) -> Account:
        with self.engine.connect() as conn:
            account_id = projections.account_of(conn, self.tables, document_id)
        if account_id is None:
            raise NotFound(
                f"invoice {document_id} not found", {"id": document_id, "kind": "invoice"}
            )
        account = self.get(account_id, "account")
        try:
            account.document(document_id)
        except UnknownDocument:
            raise NotFound(f"invoice {document_id} not found", {"id": document_id}) from None
        return account

    def document_pdf(self, kind: str, document_id: str) -> dict:
        """`document("invoice", id)`: the PDF of an invoice (or supplementary invoice), credit
        note or pro-forma, rendered from what was recorded when it was issued."""
        account = self.account_of_document(document_id)
        document = account.document(document_id)
        if document["kind"] not in documents.ROUTE_KINDS.get(kind, ()):
            raise NotFound(
                f"{document_id} is a {document['kind']}, not a {kind}",
                {"id": document_id, "kind": kind},
            )
        printable = self.printable(document)
        content = documents.render(
            printable, seller(self.settings), self.settings.document_language
        )
        return documents.served(kind, printable, content)

    def documents_for_order(self, order_id: str) -> tuple[Account | None, list[dict]]:
        account = self._find_account(order_id)
        return account, account.documents if account else []

    def read_models(self) -> dict:
        documents = ReadModel((self.tables["documents"],), self.rebuild_read_model)
        return {**super().read_models(), "documents": documents}

    def rebuild_read_model(self) -> int:
        """Drop the documents list (invoices, credit notes, pro formas) and write it again from
        one replay of the whole log; return how many accounts it holds."""
        return projections.rebuild(self, self.opened)

    def read_model_rows(self) -> list[dict]:
        """Every document row, in key order (what a rebuild must reproduce)."""
        documents = self.tables["documents"]
        with self.engine.connect() as conn:
            query = sa.select(documents).order_by(*documents.primary_key)
            return [row._asdict() for row in conn.execute(query)]

    def list_invoices(self, query: dict) -> dict:
        with self.engine.connect() as conn:
            return projections.list_documents(conn, self.tables, query)

    def _gateway_transaction(self, transaction_id: str):
        with self.engine.connect() as conn:
            return projections.gateway_transaction(conn, self.tables, transaction_id)


def check_money(account: Account, currency: str, amount) -> None:
    """A payment is in the invoice's currency and to its minor unit."""
    if currency != account.currency:
        raise ValidationFailed(
            "the payment's currency is not the invoice's",
            {"currency": [f"The invoice is in {account.currency}, not {currency}."]},
        )
    if amount != rounded(amount, currency):
        raise ValidationFailed("the amount is too precise", {"amount": [precision(currency)]})


def _lines(lines: list) -> list[dict]:
    return [{k: line.get(k) for k in LINE_FIELDS} for line in lines]
