"""Tracking links: `<public url>/track/<token>`, where the token names one order and the
generation of its links (shared/links.py signs them). It opens that order's tracking page and
nothing else. Revoking an order's links moves its generation on (domain.TrackingAccess), so every
earlier token is refused."""

from shared.links import TRACKING, Signer, keys_from, uuid_field, uuid_of
from shared.settings import Settings


class TrackingLinks:
    def __init__(self, settings: Settings):
        self.signer = Signer(keys_from(settings, TRACKING))
        self.base = settings.public_base

    def token(self, order_id: str, generation: int) -> str:
        return self.signer.sign(uuid_field(order_id), str(generation))

    def url(self, order_id: str, generation: int) -> str:
        return f"{self.base}/track/{self.token(order_id, generation)}"

    def read(self, token: str) -> tuple[str, int] | None:
        """(order id, generation) of a token signed by a known key; None for anything else."""
        fields = self.signer.read(token, 2)
        if fields is None or not fields[1].isdigit():
            return None
        order_id = uuid_of(fields[0])
        return None if order_id is None else (order_id, int(fields[1]))
