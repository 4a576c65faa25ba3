"""The ProductionOrder aggregate: a made-in-house line of an order, produced in the workshop.

planned → released → in_progress → finished, or cancelled from any open status; on hold and
resumed (with a reason) beside that status. Produced quantities are recorded as they come;
finishing records the rest. Production files (artwork, print files) are attached by content hash,
commented and certified; a required file that is not certified stops the release. Work sheets are
issued as revisions, each with the content it shows and its SHA-256.
"""

from uuid import UUID

from eventsourcing.domain import Aggregate, event

from shared.refusals import Missing, Refused

OPEN = ("planned", "released", "in_progress")
STATUSES = (*OPEN, "finished", "cancelled")


class ProductionOrder(Aggregate):
    @event("Planned")
    def __init__(
        self,
        id: UUID,
        order_id: str,
        order_reference: str,
        sku: str,
        name: str,
        quantity: int,
        number: str | None = None,
        planned_date: str | None = None,
        client: dict | None = None,
        rerun_of: dict | None = None,
        order_notes: list | None = None,
        actor: str | None = None,
    ):
        self.order_id, self.order_reference = order_id, order_reference
        self.sku, self.name, self.quantity = sku, name, quantity
        self.number = number or order_reference
        self.planned_date, self.client, self.rerun_of = planned_date, client or {}, rerun_of
        self.order_notes = list(order_notes or [])
        self.status, self.hold, self.produced = "planned", None, 0
        self.cancelled = None  # {"reason", "by"} once cancelled
        self.notes: list[dict] = []
        self.files: list[dict] = []
        self.work_sheets: list[dict] = []

    # -- reading -------------------------------------------------------------------------------
    @property
    def shown_status(self) -> str:
        """The status, or on_hold while held (the status it resumes to is kept)."""
        return "on_hold" if self.hold else self.status

    def file(self, file_id: str) -> dict:
        for file in self.files:
            if file["id"] == file_id:
                return file
        raise UnknownFile(file_id)

    @property
    def uncertified(self) -> list[dict]:
        return [f for f in self.files if f["required"] and not f["certified"]]

    # -- the lifecycle ---------------------------------------------------------------------------
    def release(self, actor: str) -> None:
        self._check("release", ("planned",))
        if self.uncertified:
            names = ", ".join(f["name"] for f in self.uncertified)
            raise self._refused("release", "required_file_not_certified", names)
        self._release(actor=actor)

    @event("Released")
    def _release(self, actor: str) -> None:
        self.status = "released"

    def start(self, actor: str) -> None:
        self._check("start", ("released",))
        self._start(actor=actor)

    @event("Started")
    def _start(self, actor: str) -> None:
        self.status = "in_progress"

    def record_produced(self, quantity: int, actor: str) -> None:
        self._check("record_produced", ("in_progress",))
        left = self.quantity - self.produced
        if quantity > left:
            raise self._refused(
                "record_produced",
                "produced_exceeds_quantity",
                f"{left} of {self.quantity} left to produce, {quantity} recorded",
                field="quantity",
            )
        self._produced(quantity=quantity, actor=actor)

    @event("Produced")
    def _produced(self, quantity: int, actor: str) -> None:
        self.produced += quantity

    def finish(self, actor: str | None) -> None:
        """Finishing a finished production order changes nothing (retries are safe); the quantity
        not recorded as produced yet is recorded with the finish."""
        if self.status == "finished":
            return
        self._check("finish", ("in_progress",))
        self._finish(actor=actor, remainder=self.quantity - self.produced)

    @event("Finished")
    def _finish(self, actor: str | None, remainder: int | None = None) -> None:
        self.status = "finished"
        self.produced = self.quantity if remainder is None else self.produced + remainder

    def cancel(self, reason: str, actor: str | None) -> bool:
        """Cancel an open production order (False: cancelled already); a finished one stays."""
        if self.status == "cancelled":
            return False
        if self.status == "finished":
            raise self._refused("cancel", "production_order_finished")
        self._cancel(reason=reason, actor=actor)
        return True

    @event("Cancelled")
    def _cancel(self, reason: str, actor: str | None) -> None:
        self.status, self.hold = "cancelled", None
        self.cancelled = {"reason": reason, "by": actor}

    def put_on_hold(self, reason: str, actor: str) -> None:
        self._check("hold", OPEN)
        self._hold(reason=reason, actor=actor)

    @event("Held")
    def _hold(self, reason: str, actor: str) -> None:
        self.hold = {"reason": reason, "by": actor}

    def resume(self, reason: str, actor: str) -> None:
        if self.hold is None:
            raise self._refused("resume", "resume_requires_hold")
        self._resume(reason=reason, actor=actor)

    @event("Resumed")
    def _resume(self, reason: str, actor: str) -> None:
        self.hold = None

    # -- files and notes -------------------------------------------------------------------------
    def attach_file(self, file: dict, actor: str, at: str) -> None:
        """`file`: id, name, sha256, size, content_type, required."""
        self.check_open("attach_file")
        if any(f["id"] == file["id"] for f in self.files):
            return  # a retried call: attached already
        self._attach(file=file, actor=actor, at=at)

    @event("FileAttached")
    def _attach(self, file: dict, actor: str, at: str) -> None:
        self.files.append(
            dict(file, attached_by=actor, attached_at=at, comments=[], certified=None)
        )

    def comment_file(self, file_id: str, comment_id: str, text: str, actor: str, at: str) -> None:
        file = self.file(file_id)
        if any(c["id"] == comment_id for c in file["comments"]):
            return
        self._comment(file_id=file_id, comment_id=comment_id, text=text, actor=actor, at=at)

    @event("FileCommented")
    def _comment(self, file_id: str, comment_id: str, text: str, actor: str, at: str) -> None:
        comment = {"id": comment_id, "text": text, "author": actor, "at": at}
        self.file(file_id)["comments"].append(comment)

    def certify_file(self, file_id: str, actor: str, at: str) -> None:
        """Certifying a certified file changes nothing."""
        self.check_open("certify_file")
        if self.file(file_id)["certified"]:
            return
        self._certify(file_id=file_id, actor=actor, at=at)

    @event("FileCertified")
    def _certify(self, file_id: str, actor: str, at: str) -> None:
        self.file(file_id)["certified"] = {"by": actor, "at": at}

    def add_note(self, note_id: str, text: str, actor: str, at: str) -> None:
        if any(n["id"] == note_id for n in self.notes):
            return
        self._note(note_id=note_id, text=text, actor=actor, at=at)

    @event("NoteAdded")
    def _note(self, note_id: str, text: str, actor: str, at: str) -> None:
        self.notes.append({"id": note_id, "text": text, "author": actor, "at": at})

    def follow_order_note(self, note: dict) -> bool:
        """A production note on the order (from the orders service), kept once."""
        if any(n["id"] == note["id"] for n in self.order_notes):
            return False
        self._order_note(note=note)
        return True

    @event("OrderNoteAdded")
    def _order_note(self, note: dict) -> None:
        self.order_notes.append(note)

    @event("WorkSheetIssued")
    def issue_work_sheet(self, sheet: dict) -> None:
        """`sheet`: what the work sheet shows (revision, issue date, content) and its SHA-256."""
        self.work_sheets.append(sheet)

    # -- rules -----------------------------------------------------------------------------------
    def _check(self, command: str, allowed: tuple) -> None:
        if self.status not in allowed:
            raise self._refused(command, f"{command}_requires_{'_or_'.join(allowed)}")
        if self.hold:
            raise self._refused(command, "production_order_on_hold", self.hold["reason"])

    def check_open(self, command: str) -> None:
        if self.status not in OPEN:
            raise self._refused(command, "production_order_closed")

    def _refused(self, command, rule, detail=None, field=None) -> "ProductionRefused":
        return ProductionRefused(command, self.shown_status, rule, detail, field)


class ProductionRefused(Refused):
    def __init__(self, command: str, status: str, rule: str, detail=None, field=None):
        message = f"cannot {command} a production order that is {status}: {rule}"
        super().__init__(
            f"{message} ({detail})" if detail else message,
            rule,
            detail,
            field,
            command=command,
            status=status,
        )


class UnknownFile(Missing):
    def __init__(self, file_id: str):
        super().__init__(f"the production order has no file {file_id}", file_id=file_id)
