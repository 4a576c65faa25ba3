"""Own couriers: registered by operators, assigned to a shipping instead of a distributor's
delivery. The courier gets the task through notify (e-mail and SMS: the address, the client's name
and phone, a signed link to the delivery); opening the link shows it, and its button marks the
shipping delivered — once, whoever clicks again; a link that expired, was made for an earlier
assignment, or was tampered with opens nothing. The orders service follows the delivery.

Orders shows the order opened; the run keeps the client's name, e-mail, phone and the address
sealed again with the client's key (its `subject`), and they are opened only where they are
shown (the courier's page, the answers) or sent (notify's messages)."""

import time
from datetime import UTC, datetime, timedelta
from uuid import NAMESPACE_URL, UUID, uuid5

import sqlalchemy as sa

from services.fulfilment.couriers import Courier, CourierRun
from services.fulfilment.registry import code_table, index_codes
from shared.links import CourierLinks
from shared.personal import FORGOTTEN, client_subject, seal_address, seal_client
from shared.refusals import Missing, Refused

COURIER_IDS = uuid5(NAMESPACE_URL, "https://oms.example/couriers")
RUN_IDS = uuid5(NAMESPACE_URL, "https://oms.example/courier-runs")
CLOSED = ("declined", "voided", "completed")


def run_id_for(shipping_id: str) -> UUID:
    return uuid5(RUN_IDS, str(shipping_id))


class Delivering:
    """Mixin of the fulfilment application: couriers and their runs."""

    def define_tables(self, metadata: sa.MetaData) -> None:
        super().define_tables(metadata)
        self.couriers = code_table(metadata, "fulfilment_couriers")
        self.courier_links = CourierLinks(self.settings)

    def project_aggregates(self, session, aggregates: list, events: list) -> None:
        super().project_aggregates(session, aggregates, events)
        index_codes(session, self.couriers, aggregates, Courier)

    # -- couriers ----------------------------------------------------------------------------------
    def register_courier(self, code: str, details: dict, actor: str) -> Courier:
        the_id = uuid5(COURIER_IDS, code)

        def make():
            return Courier(id=the_id, code=code, details=details, actor=actor)

        return self.register_once(the_id, details, "courier", code, make)

    def courier(self, code: str) -> Courier:
        the_id = uuid5(COURIER_IDS, code)
        if not self.exists(the_id):
            raise Refused(f"no courier {code!r} is registered", "unknown_courier", field="courier")
        return self.repository.get(the_id)

    def list_couriers(self) -> list[Courier]:
        with self.engine.connect() as conn:
            ids = [r.id for r in conn.execute(sa.select(self.couriers.c.id))]
        return sorted((self.repository.get(UUID(i)) for i in ids), key=lambda c: c.code)

    # -- runs ----------------------------------------------------------------------------------------
    def assign_courier(self, order: dict, shipping_id: str, code: str, actor: str) -> CourierRun:
        """`order`: the order as the orders service shows it."""
        shipping = next((s for s in order["shippings"] if s["id"] == shipping_id), None)
        if shipping is None:
            raise Missing(
                f"order {order['reference']} has no shipping {shipping_id}", shipping_id=shipping_id
            )
        if order["status"] in CLOSED or order["status"] == "new":
            raise Refused(
                f"order {order['reference']} is {order['status']}: only an accepted, open order"
                " is delivered",
                "courier_requires_open_accepted_order",
            )
        client, address = self._sealed_client(order, shipping)
        courier = self.courier(code)
        if not courier.active:
            raise Refused(f"courier {code} is not active", "courier_inactive", field="courier")
        now = datetime.now(UTC)
        eta = (now + timedelta(minutes=self.settings.courier_eta_minutes)).isoformat(
            timespec="minutes"
        )
        expires = int(now.timestamp()) + self.settings.courier_link_hours * 3600
        run_id = run_id_for(shipping_id)

        def command():
            if self.exists(run_id):
                run = self.repository.get(run_id)
                if run.courier["code"] == code and run.delivered is None:
                    return run  # assigned already (a retried call)
                run.reassign(courier.contact(), eta, expires, actor)
            else:
                run = CourierRun(
                    id=run_id,
                    order_id=order["id"],
                    order_reference=order["reference"],
                    shipping_id=shipping_id,
                    courier=courier.contact(),
                    client=client,
                    address=address,
                    lines=[_line(order, x) for x in shipping["lines"]],
                    planned_date=shipping.get("planned_date"),
                    eta=eta,
                    expires=expires,
                    actor=actor,
                )
            self.save(run)
            return run

        return self.retrying(command)

    def _sealed_client(self, order: dict, shipping: dict) -> tuple[dict, dict]:
        """The client (name, e-mail, phone, language, subject) and the shipping's address as
        the run keeps them: sealed with the client's key. A client orders has no key for
        (orders placed before sealing) is kept as orders keeps it; a forgotten one is refused:
        there is no one to deliver to."""
        shown = order["client"]
        if shown.get("name") == FORGOTTEN:
            raise Refused(
                f"the client of order {order['reference']} was forgotten: there is no one to"
                " deliver to",
                "client_forgotten",
            )
        subject = shown.get("subject") or client_subject(shown.get("code"), order["id"])
        client = {k: shown.get(k) for k in ("name", "email", "phone", "language")}
        key = self.keyring.keys([subject]).get(subject)
        if key is None:
            return dict(client, subject=subject), shipping["address"]
        return seal_client(client, key, subject), seal_address(shipping["address"], key, subject)

    def courier_runs_for_order(self, order_id: str) -> list[CourierRun]:
        return [a for a in self.for_order(order_id) if isinstance(a, CourierRun)]

    def run_by_link(self, token) -> tuple[CourierRun, int]:
        """The run a courier's link opens, and the link's generation: Missing for a tampered,
        unknown or superseded link; refused once it has expired (unless delivered: the answer
        then says so)."""
        read = self.courier_links.read(token)
        if read is None or not self.exists(UUID(read[0])):
            raise Missing("no such delivery link", token="…")
        run_id, generation, expires = read
        run = self.repository.get(UUID(run_id))
        if generation != run.generation:
            raise Missing("this link was made for an earlier assignment", token="…")
        if run.delivered is None and time.time() > expires:
            raise Refused(
                "this delivery link has expired: ask the desk for a new one", "link_expired"
            )
        return run, generation

    def mark_delivered_by_link(self, token) -> tuple[CourierRun, bool]:
        """(the run, whether this click marked it)."""

        def command():
            run, generation = self.run_by_link(token)
            marked = run.deliver(
                datetime.now(UTC).isoformat(), f"courier {run.courier['code']}", generation
            )
            self.save(run)
            return run, marked

        return self.retrying(command)

    def task_url(self, run: CourierRun) -> str:
        return self.courier_links.url(str(run.id), run.generation, run.expires)


def _line(order: dict, item: dict) -> dict:
    line = next((x for x in order["lines"] if x["sku"] == item["sku"]), {})
    return {"sku": item["sku"], "name": line.get("name", item["sku"]), "quantity": item["quantity"]}
