"""Bad input at every billing RPC method: a typed error naming the field or rule, nothing stored —
every case against billing in process (orders' events pumped in), and a few over RPC."""

from datetime import UTC, datetime, timedelta

import pytest

from shared.errors import InvalidTransition, NotFound, Unauthenticated, ValidationFailed
from tests.inprocess import InProcess
from tests.support import eventually, order_payload

TOMORROW_BUT_ONE = (datetime.now(UTC).date() + timedelta(days=2)).isoformat()
GOOD_PAYMENT = {"amount": "10.00", "method": "cash", "reference": "till 1"}


@pytest.fixture(scope="module")
def desk(tmp_path_factory):
    services = InProcess(tmp_path_factory.mktemp("db"), services=("orders", "billing"))
    yield services
    services.close()


@pytest.fixture(scope="module")
def invoiced(desk):
    """An accepted order with its invoice, and a placed order with a pro-forma."""
    return invoiced_in(desk)


def invoiced_in(rpc) -> dict:
    order = rpc.orders.place_order(order_payload())
    rpc.orders.accept_order(order["id"])
    (invoice,) = eventually(lambda: rpc.billing.invoices_for_order(order["id"]))
    placed = rpc.orders.place_order(order_payload())
    pro_forma = eventually(lambda: _try(lambda: rpc.billing.issue_pro_forma(placed["id"])))
    return {
        "order": order["id"],
        "invoice": invoice["id"],
        "placed": placed["id"],
        "pro_forma": pro_forma["id"],
    }


def _try(call):
    try:
        return call()
    except NotFound:
        return None


def payment(**change):
    return {k: v for k, v in dict(GOOD_PAYMENT, **change).items() if v is not ...}


CASES = [
    # (method, args builder, error, field or rule)
    ("get_invoice", lambda ids: (123,), ValidationFailed, "invoice_id"),
    ("get_invoice", lambda ids: ("no-such-invoice",), NotFound, None),
    ("get_invoice", lambda ids: (ids["order"],), NotFound, None),  # an order id is no invoice id
    ("invoices_for_order", lambda ids: (None,), ValidationFailed, "order_id"),
    ("account_for_order", lambda ids: ("no-such-order",), NotFound, None),
    ("list_invoices", lambda ids: ({"sort": "colour"},), ValidationFailed, "sort"),
    ("list_invoices", lambda ids: ({"statuses": ["lost"]},), ValidationFailed, "statuses.0"),
    ("list_invoices", lambda ids: ({"kinds": "invoice"},), ValidationFailed, "kinds"),
    (
        "list_invoices",
        lambda ids: ({"issued_from": "2026-02-01", "issued_to": "2026-01-01"},),
        ValidationFailed,
        "issued_to",
    ),
    (
        "list_invoices",
        lambda ids: ({"issued_from": "1st of May"},),
        ValidationFailed,
        "issued_from",
    ),
    ("list_invoices", lambda ids: ({"limit": 0},), ValidationFailed, "limit"),
    ("list_invoices", lambda ids: ({"overdue": "yes"},), ValidationFailed, "overdue"),
    ("list_invoices", lambda ids: ({"cursor": "garbage"},), ValidationFailed, "cursor"),
    ("list_invoices", lambda ids: ({"colour": "red"},), ValidationFailed, "colour"),
    ("list_invoices", lambda ids: ("unpaid",), ValidationFailed, "_schema"),
    ("issue_pro_forma", lambda ids: ("no-such-order",), NotFound, None),
    ("issue_pro_forma", lambda ids: (ids["order"],), InvalidTransition, "order_not_new"),
    (
        "record_payment",
        lambda ids: (ids["invoice"], payment(amount=10.0)),
        ValidationFailed,
        "amount",
    ),
    (
        "record_payment",
        lambda ids: (ids["invoice"], payment(amount="-5")),
        ValidationFailed,
        "amount",
    ),
    (
        "record_payment",
        lambda ids: (ids["invoice"], payment(amount="0")),
        ValidationFailed,
        "amount",
    ),
    (
        "record_payment",
        lambda ids: (ids["invoice"], payment(amount="10.001")),
        ValidationFailed,
        "amount",
    ),
    (
        "record_payment",
        lambda ids: (ids["invoice"], payment(amount=...)),
        ValidationFailed,
        "amount",
    ),
    (
        "record_payment",
        lambda ids: (ids["invoice"], payment(method="barter")),
        ValidationFailed,
        "method",
    ),
    (
        "record_payment",
        lambda ids: (ids["invoice"], payment(reference=...)),
        ValidationFailed,
        "reference",
    ),
    (
        "record_payment",
        lambda ids: (ids["invoice"], payment(reference="  ")),
        ValidationFailed,
        "reference",
    ),
    (
        "record_payment",
        lambda ids: (ids["invoice"], payment(paid_on=TOMORROW_BUT_ONE)),
        ValidationFailed,
        "paid_on",
    ),
    (
        "record_payment",
        lambda ids: (ids["invoice"], payment(paid_on="soon")),
        ValidationFailed,
        "paid_on",
    ),
    (
        "record_payment",
        lambda ids: (ids["invoice"], payment(currency="USD")),
        ValidationFailed,
        "currency",
    ),
    (
        "record_payment",
        lambda ids: (ids["invoice"], payment(currency="eur")),
        ValidationFailed,
        "currency",
    ),
    ("record_payment", lambda ids: (ids["invoice"], payment(tip="1.00")), ValidationFailed, "tip"),
    ("record_payment", lambda ids: (ids["invoice"], "10.00"), ValidationFailed, "_schema"),
    ("record_payment", lambda ids: ("no-such-invoice", payment()), NotFound, None),
    ("record_payment", lambda ids: (ids["pro_forma"], payment()), InvalidTransition, "not_payable"),
    ("void_invoice", lambda ids: (ids["invoice"], ""), ValidationFailed, "reason"),
    ("void_invoice", lambda ids: (ids["invoice"], None), ValidationFailed, "reason"),
    ("void_invoice", lambda ids: (ids["invoice"], "x" * 1001), ValidationFailed, "reason"),
    ("void_invoice", lambda ids: (ids["pro_forma"], "no"), InvalidTransition, "not_voidable"),
    ("void_invoice", lambda ids: ("no-such-invoice", "no"), NotFound, None),
    (
        "change_payment_channel",
        lambda ids: (ids["order"], "bitcoin", "why not"),
        ValidationFailed,
        "channel",
    ),
    (
        "change_payment_channel",
        lambda ids: (ids["order"], "cash", None),
        ValidationFailed,
        "reason",
    ),
    ("change_payment_channel", lambda ids: ("no-such-order", "cash", "why"), NotFound, None),
]


@pytest.mark.parametrize(
    ("method", "args", "error", "named"), CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)]
)
def test_bad_input_is_refused_by_name_and_changes_nothing(
    desk, invoiced, method, args, error, named
):
    refused_alike(desk, method, args(invoiced), error, named)


def refused_alike(rpc, method, args, error, named) -> None:
    before = rpc.billing.log_status()["last_position"]
    with pytest.raises(error) as refused:
        getattr(rpc.billing, method)(*args)
    if error is ValidationFailed:
        assert named in refused.value.details, refused.value.details
    elif error is InvalidTransition:
        assert refused.value.details["rule"] == named
    assert rpc.billing.log_status()["last_position"] == before


def test_refusals_cross_rpc_alike(sqlite_system):
    with sqlite_system.rpc() as rpc:
        ids = invoiced_in(rpc)
        for number in (0, 12, 13, 14):  # a field, a missing invoice, a rule, an empty reason
            method, args, error, named = CASES[number]
            refused_alike(rpc, method, args(ids), error, named)


@pytest.mark.parametrize(
    "method", ["issue_pro_forma", "record_payment", "void_invoice", "change_payment_channel"]
)
def test_a_change_without_an_actor_is_refused(desk, invoiced, method):
    args = {
        "issue_pro_forma": (invoiced["placed"],),
        "record_payment": (invoiced["invoice"], payment(reference="no actor")),
        "void_invoice": (invoiced["invoice"], "no actor"),
        "change_payment_channel": (invoiced["order"], "cash", "no actor"),
    }[method]
    desk.actor = None
    try:
        before = desk.billing.log_status()["last_position"]
        with pytest.raises(Unauthenticated) as refused:
            getattr(desk.billing, method)(*args)
        assert "actor_token" in refused.value.details
        assert desk.billing.log_status()["last_position"] == before
    finally:
        desk.actor = "tests"
