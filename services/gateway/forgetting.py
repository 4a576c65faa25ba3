"""Forgetting a client from the back office — `POST /v1/clients/{code}/forget`, `POST
/v1/orders/{order_id}/forget-client` (admins) and `oms forget-client`: orders destroys the key
sealing the client's personal data (`orders.forget_client`), so it reads "forgotten client"
everywhere from then on; this gateway also drops the key it kept for replays."""

from shared.errors import ValidationFailed
from shared.personal import client_subject


def guest_subject(order: dict) -> str:
    """The subject of the guest client `order` (as `orders.get_order` shows it) names:
    `order:<its first order>`, which its re-orders keep. A catalogue client's order is refused:
    that client is forgotten by its code, with every order of its."""
    client = order.get("client") or {}
    code = client.get("code")
    if code:
        raise ValidationFailed(
            "the order's client is a catalogue client",
            {"order_id": [f"Its client is the catalogue client {code}: forget it by its code."]},
        )
    return client.get("subject") or client_subject(None, order["id"])


def forget(rpc, who: str, replays=None) -> dict:
    """`who`: a client's code, or `order:<id>` for the guest client of any order of its;
    `rpc(service, method, args)`. -> orders' answer: `{"subject", "forgotten", "now"}`."""
    if who.startswith("order:"):
        who = guest_subject(rpc("orders", "get_order", [who.removeprefix("order:")]))
    answer = rpc("orders", "forget_client", [who])
    if replays is not None:
        replays.forget(answer["subject"])
    return answer
