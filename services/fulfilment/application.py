"""Fulfilment use cases: the distributors and products it buys (registry.py) and the purchase
orders a shipped shipping raises, sends and follows to the end (purchasing.py)."""

from services.fulfilment.publishing import PUBLISHED
from services.fulfilment.purchasing import Purchasing
from services.fulfilment.registry import Registry
from shared.readmodels import OrderIndexed
from shared.sender import Sends
from shared.store import ServiceApplication


class FulfilmentApplication(Purchasing, Registry, Sends, OrderIndexed, ServiceApplication):
    service = "fulfilment"
    follows = ("orders",)
    published = PUBLISHED
    reactions = {
        "orders.shipping_shipped": "_raise",
        "orders.order_voided": "_cancel_for_void",
        "orders.product_registered": "_know_product",
        "orders.product_updated": "_know_product",
    }
