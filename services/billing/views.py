"""How billing shows documents and accounts to callers: JSON-ready dicts (money as strings), with
the client's details still sealed as stored (the service opens them: forgetting.py). What an
invoice keeps for the retention period (`buyer`) is for its PDF only: not shown here."""

from services.billing.domain import Account
from shared.jsonable import jsonable


def show_document(account: Account, document: dict) -> dict:
    hidden = ("series", "sequence", "year", "buyer")
    shown = {k: v for k, v in document.items() if k not in hidden}
    shown.update(
        order_id=account.order_id,
        order_reference=account.order_reference,
        status=account.status_of(document),
        total=document["gross"],
        paid=account.paid(document),
        due=account.due(document),
        balance=account.due(document) - account.paid(document),
        order_payment_status=account.payment_status,
        version=account.version,  # the account's: the version a change to it must expect
    )
    return jsonable(shown)


def show_account(account: Account) -> dict:
    return jsonable(
        {
            "order_id": account.order_id,
            "order_reference": account.order_reference,
            "client": account.client,
            "currency": account.currency,
            "payment_status": account.payment_status,
            "refund_due": account.refund_due,
            "channel": account.channel,
            "channel_changes": account.channel_changes,
            "rejected_payments": account.rejections,
            "documents": [show_document(account, d) for d in account.documents],
            "version": account.version,
        }
    )
