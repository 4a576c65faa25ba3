"""The production service: production orders for made-in-house lines, run by the workshop
(release, start, record what is produced, finish; hold, resume, cancel), their production files
and notes, the workshop's queue, and the work sheet (examples in docs/production.md).

Every state-changing call needs an actor token in the RPC context (shared/actors.py)."""

from services.production.application import ProductionApplication
from services.production.schemas import (
    FileIn,
    ProducedIn,
    ProductionNoteIn,
    ProductionOrderOut,
    QueueIn,
)
from shared.documents import served
from shared.errors import NotFound, ValidationFailed
from shared.log_rpc import EventLogRpc
from shared.service import EventSourced, check_id, command, who, whole
from shared.validation import load, reason_of

OUT = ProductionOrderOut()
MANY = ProductionOrderOut(many=True)


class ProductionService(EventLogRpc):
    name = "production"
    app = EventSourced(ProductionApplication)

    @command
    def production_orders_for_order(self, order_id):
        """`[{"id": …, "number": "2026-000123-P1", "sku": "CARD-9", "quantity": 100,
        "produced": 0, "status": "planned", "files": [], …}]`."""
        check_id(order_id=order_id)
        return MANY.dump(self.app.production_orders(order_id))

    @command
    def get_production_order(self, production_order_id):
        check_id(production_order_id=production_order_id)
        return OUT.dump(self.app.production_order(production_order_id))

    @command
    def create_production_orders(self, order_id):
        """For an accepted order: one production order per made-in-house line for the quantity
        no production order covers yet (pressing twice creates nothing). Answers all of the
        order's production orders."""
        check_id(order_id=order_id)
        return MANY.dump(self.app.create_production_orders(order_id, who()))

    @command
    def production_queue(self, query=None):
        """The workshop's list, soonest planned first: `production_queue({"status": "open"})`
        (open = planned, released, in progress or on hold) -> `{"items": […], "next_cursor": …}`."""
        return self.app.production_queue(load(QueueIn, query or {}, "query"))

    @command
    def release_production_order(self, production_order_id):
        """planned -> released (refused while a required file is not certified); issues the
        work sheet."""
        return self._do(production_order_id, self.app.release)

    @command
    def start_production_order(self, production_order_id):
        """released -> in_progress."""
        return self._do(production_order_id, self.app.start)

    @command
    def record_produced(self, production_order_id, quantity):
        """`record_produced(id, 40)`: 40 more produced (never more than the quantity)."""
        check_id(production_order_id=production_order_id)
        produced = load(ProducedIn, {"quantity": quantity}, "production")
        return OUT.dump(self.app.record_produced(production_order_id, produced["quantity"], who()))

    @command
    def finish_production_order(self, production_order_id):
        """in_progress -> finished (what was not recorded as produced is, now); orders then
        marks the line ready. Finishing again changes nothing."""
        return self._do(production_order_id, self.app.finish)

    @command
    def cancel_production_order(self, production_order_id, reason):
        return self._reasoned(production_order_id, reason, self.app.cancel)

    @command
    def hold_production_order(self, production_order_id, reason):
        return self._reasoned(production_order_id, reason, self.app.hold)

    @command
    def resume_production_order(self, production_order_id, reason):
        return self._reasoned(production_order_id, reason, self.app.resume)

    @command
    def add_production_note(self, production_order_id, note):
        """`add_production_note(id, {"text": "use the matt laminate"})`."""
        check_id(production_order_id=production_order_id)
        text = load(ProductionNoteIn, note, "note")["text"]
        return OUT.dump(self.app.add_note(production_order_id, text, who()))

    @command
    def attach_file(self, production_order_id, file):
        """`attach_file(id, {"name": "front.pdf", "content": "<base64>", "content_type":
        "application/pdf", "required": true})`: kept by its SHA-256."""
        check_id(production_order_id=production_order_id)
        file = load(FileIn, file, "file")
        limit = self.app.settings.max_file_bytes
        if len(file["content"]) > limit:
            raise ValidationFailed(
                "file too large",
                {"content": [f"Longer than {limit} bytes ({len(file['content'])})."]},
            )
        return OUT.dump(self.app.attach_file(production_order_id, file, who()))

    @command
    def comment_file(self, production_order_id, file_id, comment):
        """`comment_file(id, file_id, {"text": "bleed is 2 mm short"})`."""
        check_id(production_order_id=production_order_id)
        text = load(ProductionNoteIn, comment, "comment")["text"]
        return OUT.dump(self.app.comment_file(production_order_id, file_id, text, who()))

    @command
    def certify_file(self, production_order_id, file_id):
        """An operator certifies that the file is right to produce from."""
        check_id(production_order_id=production_order_id)
        return OUT.dump(self.app.certify_file(production_order_id, file_id, who("operator")))

    @command
    def production_file(self, production_order_id, file_id):
        """The file's bytes: `{"name", "content_type", "sha256", "content": "<base64>"}`."""
        check_id(production_order_id=production_order_id)
        file, content = self.app.file_content(production_order_id, file_id)
        answer = served("production_file", file_id, file["name"], file["sha256"], content)
        return dict(answer, filename=file["name"], content_type=file["content_type"])

    @command
    def document(self, kind, document_id, revision=None):
        """`document("work_sheet", production_order_id)`: the work sheet as it stands (a new
        revision is issued if the job changed since the last; `revision=2`: that one, as
        issued): `{"filename", "content_type", "sha256" (recorded when it was issued),
        "content": "<base64 PDF>", …}`."""
        if kind != "work_sheet":
            raise NotFound(f"production has no {kind} documents", {"kind": kind})
        check_id(id=document_id)
        if revision is not None:
            whole(revision, "revision", 1)
        return self.app.work_sheet(document_id, revision)

    @command
    def rebuild_read_model(self):
        """Write the workshop's queue again from the whole log: `{"aggregates": n}`."""
        who("admin")
        return {"aggregates": self.app.rebuild_read_model()}

    def _do(self, production_order_id, use_case):
        check_id(production_order_id=production_order_id)
        return OUT.dump(use_case(production_order_id, who()))

    def _reasoned(self, production_order_id, reason, use_case):
        check_id(production_order_id=production_order_id)
        return OUT.dump(use_case(production_order_id, reason_of(reason), who()))
