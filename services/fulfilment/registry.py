"""Fulfilment's registers: the distributors it buys from (registered and changed by operators)
and the products it buys (learnt from the orders service's catalogue events)."""

import secrets
from uuid import NAMESPACE_URL, UUID, uuid5

import sqlalchemy as sa

from services.fulfilment.distributors import Distributor, Supply, UnknownDistributor
from shared.contracts import load
from shared.errors import Conflict
from shared.refusals import Missing

DISTRIBUTOR_IDS = uuid5(NAMESPACE_URL, "https://oms.example/distributors")
SUPPLY_IDS = uuid5(NAMESPACE_URL, "https://oms.example/supply")


def distributor_id(code: str) -> UUID:
    return uuid5(DISTRIBUTOR_IDS, code)


def supply_id(sku: str) -> UUID:
    return uuid5(SUPPLY_IDS, sku)


def code_table(metadata: sa.MetaData, name: str) -> sa.Table:
    """A register's read model: code -> aggregate id (what lists them)."""
    return sa.Table(
        name,
        metadata,
        sa.Column("code", sa.String(100), primary_key=True),
        sa.Column("id", sa.String(36), nullable=False),
    )


def index_codes(session, table: sa.Table, aggregates: list, kind: type) -> None:
    new = [a for a in aggregates if isinstance(a, kind) and a.version == 1]
    if new:
        session.execute(table.insert(), [{"code": a.code, "id": str(a.id)} for a in new])


class Registry:
    """Mixin of the fulfilment application: distributors and supplies."""

    def define_tables(self, metadata: sa.MetaData) -> None:
        super().define_tables(metadata)
        self.distributors = code_table(metadata, "fulfilment_distributors")

    def project_aggregates(self, session, aggregates: list, events: list) -> None:
        super().project_aggregates(session, aggregates, events)
        index_codes(session, self.distributors, aggregates, Distributor)

    def register_once(self, the_id: UUID, details: dict, what: str, code: str, make):
        """Registering the same code with the same details again returns it (retry-safe); with
        other details it is a Conflict. `make()` makes it the first time."""

        def command():
            if self.exists(the_id):
                existing = self.repository.get(the_id)
                if all(getattr(existing, k) == v for k, v in details.items()):
                    return existing
                raise Conflict(
                    f"{what} {code} is already registered with other details", {"code": code}
                )
            made = make()
            self.save(made)
            return made

        return self.retrying(command)

    # -- distributors ------------------------------------------------------------------------------
    def register_distributor(self, code: str, details: dict, actor: str) -> Distributor:
        the_id = distributor_id(code)
        secret = "dcs_" + secrets.token_urlsafe(24)

        def make():
            return Distributor(
                id=the_id, code=code, details=details, callback_secret=secret, actor=actor
            )

        return self.register_once(the_id, details, "distributor", code, make)

    def update_distributor(self, code: str, changes: dict, actor: str) -> Distributor:
        def command():
            distributor = self.distributor(code, field=None)
            distributor.update(changes, actor)
            self.save(distributor)
            return distributor

        return self.retrying(command)

    def distributor(self, code: str, field: str | None = "distributor") -> Distributor:
        """The distributor, else NotFound (`field` None: it was asked for by its code) or a
        refusal naming the input that named it."""
        the_id = distributor_id(code)
        if not self.exists(the_id):
            if field is None:
                raise Missing(f"no distributor {code!r} is registered", code=code)
            raise UnknownDistributor(code, field)
        return self.repository.get(the_id)

    def known_distributor(self, code: str) -> Distributor | None:
        the_id = distributor_id(code)
        return self.repository.get(the_id) if self.exists(the_id) else None

    def list_distributors(self) -> list[Distributor]:
        with self.engine.connect() as conn:
            ids = [r.id for r in conn.execute(sa.select(self.distributors.c.id))]
        found = [self.repository.get(UUID(i)) for i in ids]
        return sorted(found, key=lambda d: d.code)

    # -- supplies, from the catalogue ----------------------------------------------------------------
    def _know_product(self, envelope: dict) -> list:
        product = load(envelope["type"], envelope["data"])
        the_id = supply_id(product["sku"])
        details = {
            "name": product["name_"],
            "made_in_house": product["made_in_house"],
            "distributors": product["distributors"],
            "weight": product.get("weight"),
            "cost_prices": product.get("cost_prices") or {},
        }
        if not self.exists(the_id):
            return [Supply(id=the_id, sku=product["sku"], details=details)]
        supply = self.repository.get(the_id)
        if supply.details() == details:
            return []
        supply.change(details)
        return [supply]

    def supply(self, sku: str) -> Supply | None:
        the_id = supply_id(sku)
        return self.repository.get(the_id) if self.exists(the_id) else None
