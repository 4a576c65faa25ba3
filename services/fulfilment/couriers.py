"""Own couriers, and the deliveries they make: a `Courier` (by its code: name, e-mail, phone) and
a `CourierRun` — one shipping delivered by a courier instead of a distributor: where to, to whom
(the client's name and phone, kept sealed with the client's key), what, by when, who is carrying
it, and when it was delivered.

Every assignment (a first one, or another courier taking over) moves the run's `generation` on:
the courier's signed links name it, so the links of a courier who was taken off stop working."""

from uuid import UUID

from eventsourcing.domain import Aggregate, event

from shared.refusals import Refused

COURIER_FIELDS = ("name", "email", "phone", "active")


class Courier(Aggregate):
    @event("Registered")
    def __init__(self, id: UUID, code: str, details: dict, actor: str):
        self.code = code
        for key in COURIER_FIELDS:
            setattr(self, key, details.get(key, True if key == "active" else None))

    def contact(self) -> dict:
        return {"code": self.code, "name": self.name, "email": self.email, "phone": self.phone}


class CourierRun(Aggregate):
    @event("Assigned")
    def __init__(
        self,
        id: UUID,
        order_id: str,
        order_reference: str,
        shipping_id: str,
        courier: dict,
        client: dict,
        address: dict,
        lines: list,
        planned_date: str | None,
        eta: str,
        expires: int,
        actor: str,
    ):
        """`courier`: its code, name, e-mail and phone; `client`: name, phone, e-mail, language
        and (since 2026-12) `subject`, its personal fields and the `address` sealed with that
        subject's key (shared/personal.py); `eta`: when the client may expect it (ISO);
        `expires`: when its links stop working."""
        self.order_id, self.order_reference = order_id, order_reference
        self.shipping_id, self.courier, self.client = shipping_id, courier, client
        self.address, self.lines, self.planned_date = address, lines, planned_date
        self.eta, self.expires = eta, expires
        self.generation = 1
        self.delivered: dict | None = None  # {"at", "by", "generation"}

    def reassign(self, courier: dict, eta: str, expires: int, actor: str) -> None:
        if self.delivered is not None:
            raise Refused(
                f"shipping {self.shipping_id} was delivered already", "shipping_delivered"
            )
        self._reassign(courier=courier, eta=eta, expires=expires, actor=actor)

    @event("Reassigned")
    def _reassign(self, courier: dict, eta: str, expires: int, actor: str) -> None:
        self.courier, self.eta, self.expires = courier, eta, expires
        self.generation += 1

    def deliver(self, at: str, by: str, generation: int) -> bool:
        """Delivered (False: it was already; the first time stands)."""
        if self.delivered is not None:
            return False
        self._deliver(at=at, by=by, generation=generation)
        return True

    @event("Delivered")
    def _deliver(self, at: str, by: str, generation: int) -> None:
        self.delivered = {"at": at, "by": by, "generation": generation}
