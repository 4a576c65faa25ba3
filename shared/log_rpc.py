"""The RPC every service offers over its own log: its integration events (what followers pull),
where it stands, its parked events (list, retry, discard), its read models (rebuild, verify)
and an order's part of the cross-service timeline."""

from shared import readmodels
from shared.errors import EXPECTED, NotFound, ValidationFailed
from shared.rpc import rpc
from shared.service import check_id, who, whole
from shared.validation import reason_of


def check_position(position, limit) -> None:
    errors = {}
    for field, value, low, high in (("position", position, 0, None), ("limit", limit, 1, 1000)):
        try:
            whole(value, field, low, high)
        except ValidationFailed as exc:
            errors.update(exc.details)
    if errors:
        raise ValidationFailed("invalid log position", errors)


class EventLogRpc:
    """RPC that every service offers over its own log and its parked events.

    Expects the service class to name its `EventSourced` dependency `app`.
    """

    @rpc(expected_exceptions=EXPECTED)
    def events_after(self, position, limit=100):
        """The integration events after `position`, in log order: `events_after(0, 100)`.
        Private events are left out, so fewer than `limit` may come back before the end."""
        check_position(position, limit)
        return self.app.events_after(position, limit)

    @rpc(expected_exceptions=EXPECTED)
    def events_page(self, position, limit=100):
        """The same, saying how far the log was read: `{"events": [...], "scanned_to": 812,
        "more": true}`; read on from `scanned_to` while `more` (what followers do)."""
        check_position(position, limit)
        return self.app.events_page(position, limit)

    @rpc(expected_exceptions=EXPECTED)
    def read_models(self):
        """The names of this service's read models: `["by_order", "outbox", "webhooks"]`."""
        return sorted(self.app.read_models())

    @rpc(expected_exceptions=EXPECTED)
    def rebuild(self, read_model, verify=False):
        """Write one read model again from the whole log: `{"read_model": "outbox",
        "written_from": 12}`. `verify=True` rebuilds it into the same transaction as a scratch
        copy, compares that with the live rows and rolls back: `{"read_model": "outbox",
        "differences": []}` (empty: a rebuild would change nothing)."""
        who("admin")
        models = self.app.read_models()
        if read_model not in models:
            raise NotFound(
                f"no read model {read_model!r} here",
                {"read_model": read_model, "known": sorted(models)},
            )
        if not isinstance(verify, bool):
            raise ValidationFailed("invalid verify", {"verify": ["Must be true or false."]})
        if verify:
            return {"read_model": read_model, "differences": readmodels.verify(models[read_model])}
        return {"read_model": read_model, "written_from": models[read_model].rebuild()}

    @rpc(expected_exceptions=EXPECTED)
    def order_events(self, order_id, until=None):
        """This service's part of an order's timeline: the integration events of its
        aggregates that belong to the order, in log order (up to an ISO time `until`)."""
        check_id(order_id=order_id)
        if until is not None and not isinstance(until, str):
            raise ValidationFailed("invalid time", {"until": ["Must be an ISO 8601 time."]})
        who("operator")
        return self.app.order_events(order_id, until)

    @rpc(expected_exceptions=EXPECTED)
    def log_status(self):
        """Where the log, the relay, parked events and each upstream's tracking stand."""
        return self.app.status()

    @rpc(expected_exceptions=EXPECTED)
    def parked_events(self, status="open"):
        """Failed reactions and those waiting behind them: `[{"id": 1, "status": "parked",
        "event_id": "orders:7", "error": …}, {"id": 2, "status": "waiting", "behind": 1, …}]`;
        `status` is open (the default: parked and waiting), parked, waiting, retried, discarded
        or null for all."""
        allowed = ("open", "parked", "waiting", "retried", "discarded", None)
        if status not in allowed:
            raise ValidationFailed(
                "invalid status", {"status": [f"One of {', '.join(map(str, allowed))}."]}
            )
        return self.app.parking.entries(status)

    @rpc(expected_exceptions=EXPECTED)
    def mark_parked_seen(self, parked_ids):
        """An operator has seen these entries (`oms parked` calls it): `mark_parked_seen([1, 2])`."""
        if not isinstance(parked_ids, list) or len(parked_ids) > 10_000:
            raise ValidationFailed("invalid ids", {"parked_ids": ["Must be a list of ids."]})
        who("admin")
        for i in parked_ids:
            whole(i, "parked_ids")
        self.app.parking.mark_seen(parked_ids)
        return len(parked_ids)

    @rpc(expected_exceptions=EXPECTED)
    def retry_parked(self, parked_id):
        """Run a parked reaction again, then the ones waiting behind it; returns the entry with
        its new status (`retried`, or still `parked` with the new error)."""
        who("admin")
        return self.app.parking.retry(whole(parked_id, "parked_id"))

    @rpc(expected_exceptions=EXPECTED)
    def discard_parked(self, parked_id, reason):
        """Give up on a parked reaction (it is never applied); the ones behind it are replayed."""
        reason, actor = reason_of(reason), who("admin")
        return self.app.parking.discard(whole(parked_id, "parked_id"), reason, actor)
