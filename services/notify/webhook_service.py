"""The webhooks' RPC (mixed into the notify service): admins subscribe, rotate, rewind, resume
and remove; operators read. Examples in docs/integrators.md."""

from services.notify.webhook_schemas import (
    DeliveriesIn,
    ResumeIn,
    RewindIn,
    RotateIn,
    WebhookIn,
    WebhookOut,
)
from shared.service import check_id, command, who
from shared.validation import load


class WebhookRpc:
    """Expects the service class to name its `EventSourced` dependency `app`."""

    @command
    def create_webhook(self, subscription, idempotency_key=None):
        """`create_webhook({"url": "https://hooks.example/oms", "event_types":
        ["orders.order_accepted", "billing.*"], "description": "ERP"}, idempotency_key="erp-1")`
        -> the subscription with its `secret` (`whsec_…`: shown here and on rotation only).
        `start`: where deliveries begin (a journal position, an event id or an ISO time);
        default: the events after now."""
        given = load(WebhookIn, subscription, "subscription")
        created = self.app.create_webhook(given, who("admin"), idempotency_key)
        return self._with_secret(created)

    @command
    def list_webhooks(self):
        """Every subscription (removed ones left out) with its deliveries counted by status."""
        who("operator")
        return WebhookOut(many=True).dump(self.app.webhooks())

    @command
    def get_webhook(self, webhook_id):
        check_id(webhook_id=webhook_id)
        who("operator")
        return WebhookOut().dump(self.app.webhook(webhook_id))

    @command
    def webhook_deliveries(self, webhook_id, status=None, limit=100):
        """Its deliveries, newest first: `webhook_deliveries(id, "dead")` lists dead letters."""
        check_id(webhook_id=webhook_id)
        asked = {"status": status, "limit": 100 if limit is None else limit}
        given = load(DeliveriesIn, asked, "query")
        who("operator")
        return self.app.webhook_deliveries(webhook_id, given["status"], given["limit"])

    @command
    def rewind_webhook(self, webhook_id, position):
        """Deliver again from `position` (a journal position, an event id such as `orders:12`,
        or an ISO time); what was under way is dropped."""
        check_id(webhook_id=webhook_id)
        given = load(RewindIn, {"position": position}, "rewind")
        self.app.rewind_webhook(webhook_id, given["position"], who("admin"))
        return WebhookOut().dump(self.app.webhook(webhook_id))

    @command
    def resume_webhook(self, webhook_id, redeliver=False):
        """A paused subscription goes on; `redeliver`: its dead letters go again first."""
        check_id(webhook_id=webhook_id)
        given = load(ResumeIn, {} if redeliver is None else {"redeliver": redeliver}, "resume")
        self.app.resume_webhook(webhook_id, given["redeliver"], who("admin"))
        return WebhookOut().dump(self.app.webhook(webhook_id))

    @command
    def redeliver_webhook(self, webhook_id):
        """Its dead letters go again, in log order, and it resumes if paused."""
        return self.resume_webhook(webhook_id, True)

    @command
    def rotate_webhook_secret(self, webhook_id, overlap_seconds=None):
        """A new secret (returned once); the one before signs too for `overlap_seconds`
        (default OMS_WEBHOOK_ROTATION_OVERLAP_SECONDS)."""
        check_id(webhook_id=webhook_id)
        given = load(RotateIn, {"overlap_seconds": overlap_seconds}, "rotation")
        rotated = self.app.rotate_webhook(webhook_id, given["overlap_seconds"], who("admin"))
        return self._with_secret(rotated)

    @command
    def remove_webhook(self, webhook_id):
        check_id(webhook_id=webhook_id)
        self.app.remove_webhook(webhook_id, who("admin"))
        return WebhookOut().dump(self.app.webhook(webhook_id))

    @command
    def webhook_journal(self):
        """The journal's first and last positions: `{"start": 1, "end": 812}`."""
        who("operator")
        return self.app.journal_end()

    def _with_secret(self, subscription) -> dict:
        out = WebhookOut().dump(self.app.webhook(str(subscription.id)))
        current, *older = subscription.secrets
        out["secret"] = current["secret"]
        out["previous_secret_until"] = older[0]["until"] if older else None
        return out
