"""Production use cases: planning (planning.py), the workshop's commands on production orders,
their files (files.py) and work sheets (documents.py), and the workshop's queue (projections.py)."""

from collections.abc import Callable
from datetime import UTC, datetime
from uuid import NAMESPACE_URL, uuid4, uuid5

import sqlalchemy as sa

from services.production import documents, projections
from services.production.domain import ProductionOrder
from services.production.files import FileStore
from services.production.planning import Planning
from services.production.publishing import PUBLISHED
from shared import context
from shared.documents import LAYOUT
from shared.errors import InvalidTransition, NotFound
from shared.readmodels import OrderIndexed, ReadModel
from shared.settings import Settings, var_dir
from shared.store import ServiceApplication

PART_IDS = uuid5(NAMESPACE_URL, "https://oms.example/production-parts")  # notes, files, comments


class ProductionApplication(Planning, OrderIndexed, ServiceApplication):
    service = "production"
    follows = ("orders",)
    published = PUBLISHED
    reactions = Planning.reactions

    def __init__(self, url: str, settings: Settings | None = None):
        super().__init__(url, settings)
        self.files = FileStore(self.settings.production_files or var_dir() / "production-files")
        if projections.missing(self):  # a store older than the queue: fill it once
            projections.rebuild(self)

    def define_tables(self, metadata: sa.MetaData) -> None:
        super().define_tables(metadata)
        self.queue = projections.define(metadata)

    def project_aggregates(self, session, aggregates: list, events: list) -> None:
        projections.write(session, self.queue, aggregates)

    # -- creating production orders on demand ----------------------------------------------------
    def create_production_orders(self, order_id: str, actor: str) -> list[ProductionOrder]:
        """One production order per made-in-house line for the quantity not yet covered, whatever
        the line's policy; pressing again creates nothing new. Returns the order's production
        orders."""

        def create():
            brief = self.brief(order_id)
            if not brief.accepted or brief.closed:
                state = brief.closed or "not accepted yet"
                raise InvalidTransition(
                    f"cannot create production orders for an order that is {state}",
                    {"rule": "order_not_open_and_accepted", "order_id": order_id},
                )
            planned = self.plan(brief, policy=None, actor=actor)
            if planned:
                self.save(*planned)
            return self.production_orders(order_id)

        return self.retrying(create, replay=lambda: self.production_orders(order_id))

    # -- the workshop's commands -----------------------------------------------------------------
    def release(self, production_order_id: str, actor: str) -> ProductionOrder:
        def release(job):
            if job.status != "released":
                job.release(actor)
                self._issue_work_sheet(job)

        return self._change(production_order_id, release)

    def start(self, production_order_id: str, actor: str) -> ProductionOrder:
        return self._change(
            production_order_id, lambda job: job.status == "in_progress" or job.start(actor)
        )

    def record_produced(self, production_order_id: str, quantity: int, actor: str):
        return self._change(production_order_id, lambda job: job.record_produced(quantity, actor))

    def finish(self, production_order_id: str, actor: str) -> ProductionOrder:
        return self._change(production_order_id, lambda job: job.finish(actor))

    def cancel(self, production_order_id: str, reason: str, actor: str) -> ProductionOrder:
        return self._change(production_order_id, lambda job: job.cancel(reason, actor))

    def hold(self, production_order_id: str, reason: str, actor: str) -> ProductionOrder:
        return self._change(
            production_order_id, lambda job: job.hold or job.put_on_hold(reason, actor)
        )

    def resume(self, production_order_id: str, reason: str, actor: str) -> ProductionOrder:
        return self._change(production_order_id, lambda job: job.resume(reason, actor))

    def add_note(self, production_order_id: str, text: str, actor: str) -> ProductionOrder:
        note_id = self._new_id(production_order_id, "note")
        return self._change(
            production_order_id, lambda job: job.add_note(note_id, text, actor, _now())
        )

    # -- files -------------------------------------------------------------------------------------
    def attach_file(self, production_order_id: str, file: dict, actor: str) -> ProductionOrder:
        """`file`: name, content (bytes), content_type, required. The bytes are kept by their
        SHA-256 before the event that names them is saved."""
        self.production_order(production_order_id).check_open("attach_file")
        stored = self.files.put(file["content"])
        attached = {
            "id": self._new_id(production_order_id, "file"),
            "name": file["name"],
            "content_type": file["content_type"],
            "required": file["required"],
            "sha256": stored.sha256,
            "size": stored.size,
        }
        return self._change(
            production_order_id, lambda job: job.attach_file(attached, actor, _now())
        )

    def comment_file(self, production_order_id: str, file_id: str, text: str, actor: str):
        comment_id = self._new_id(production_order_id, "comment")
        return self._change(
            production_order_id,
            lambda job: job.comment_file(file_id, comment_id, text, actor, _now()),
        )

    def certify_file(self, production_order_id: str, file_id: str, actor: str):
        return self._change(
            production_order_id, lambda job: job.certify_file(file_id, actor, _now())
        )

    def file_content(self, production_order_id: str, file_id: str) -> tuple[dict, bytes]:
        job = self.production_order(production_order_id)
        file = job.file(file_id)
        return file, self.files.get(file["sha256"])

    # -- work sheets -----------------------------------------------------------------------------
    def work_sheet(self, production_order_id: str, revision: int | None = None) -> dict:
        """The work sheet as it stands: the last revision issued if it still shows what the
        production order holds, else a new revision (issued now). `revision`: that one."""
        if revision is not None:
            sheets = self.production_order(production_order_id).work_sheets
            if not 0 < revision <= len(sheets):
                raise NotFound(
                    f"production order {production_order_id} has {len(sheets)} work sheets",
                    {"id": production_order_id, "kind": "work_sheet", "revision": revision},
                )
            sheet = sheets[revision - 1]
            return documents.served(sheet, documents.render(self.keyring.open_all(sheet)))

        def current():
            job = self.production_order(production_order_id)
            if self._issue_work_sheet(job):
                self.save(job)
            return job.work_sheets[-1]

        sheet = self.retrying(current)
        content = documents.render(self.keyring.open_all(sheet))
        return documents.served(sheet, content)

    def _issue_work_sheet(self, job: ProductionOrder) -> bool:
        """A new revision when the sheet would show something else. Its content keeps the
        client's name sealed as the production order holds it; its SHA-256 is of the page
        rendered with the name opened (a forgotten client's shows "forgotten client", so the
        recorded hash no longer matches the bytes served then)."""
        content = documents.content(job, self.settings)
        if job.work_sheets and job.work_sheets[-1]["content"] == content:
            return False
        sheet = {
            "number": job.number
            if not job.work_sheets
            else f"{job.number}/{len(job.work_sheets) + 1}",
            "revision": len(job.work_sheets) + 1,
            "issued_on": _now()[:10],
            "layout": LAYOUT,
            "content": content,
        }
        sheet["sha256"] = documents.fingerprint(self.keyring.open_all(sheet))
        job.issue_work_sheet(sheet)
        return True

    # -- queries ---------------------------------------------------------------------------------
    def production_order(self, production_order_id: str) -> ProductionOrder:
        job = self.get(production_order_id, "production order")
        if not isinstance(job, ProductionOrder):
            raise NotFound(
                f"production order {production_order_id} not found",
                {"id": production_order_id, "kind": "production order"},
            )
        return job

    def production_queue(self, query: dict) -> dict:
        with self.engine.connect() as conn:
            return projections.queue(conn, self.queue, query)

    def rebuild_read_model(self) -> int:
        return projections.rebuild(self)

    def read_models(self) -> dict:
        return {**super().read_models(), "queue": ReadModel((self.queue,), self.rebuild_read_model)}

    # -- helpers ---------------------------------------------------------------------------------
    def _change(self, production_order_id: str, command: Callable) -> ProductionOrder:
        def attempt():
            job = self.production_order(production_order_id)
            command(job)
            self.save(job)
            return job

        return self.retrying(attempt, replay=lambda: self.production_order(production_order_id))

    @staticmethod
    def _new_id(production_order_id: str, kind: str) -> str:
        """A new note's, file's or comment's id: from the request's identity, so a redelivered
        request adds nothing twice."""
        key = context.request_key()
        if not key:
            return str(uuid4())
        return str(uuid5(PART_IDS, f"{production_order_id}:{kind}:{key}"))


def _now() -> str:
    return datetime.now(UTC).isoformat()
