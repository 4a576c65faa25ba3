"""How billing shows documents and accounts to callers: JSON-ready dicts (money as strings)."""

from services.billing.domain import Account
from shared.jsonable import jsonable


def show_document(account: Account, document: dict) -> dict:
    shown = {k: v for k, v in document.items() if k not in ("series", "sequence", "year")}
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
