"""The webhooks' routes: admins subscribe integrators' endpoints, rotate their secrets, rewind,
resume and remove them; operators see each one's state and deliveries (dead letters too)."""

from services.gateway.route import NoBody, Route
from services.notify.webhook_schemas import DeliveriesIn, ResumeIn, RewindIn, RotateIn, WebhookIn

R = Route
HOOK = "/v1/webhooks/{webhook_id}"
ID = "path:webhook_id"

WEBHOOK_ROUTES = (
    R("GET", "/v1/webhooks", "listWebhooks", "operator", "webhooks",
      "The webhook subscriptions, each with its deliveries counted by status",
      ("notify", "list_webhooks")),
    R("POST", "/v1/webhooks", "createWebhook", "admin", "webhooks",
      "Subscribe an endpoint to event types (Standard Webhooks); answers its `whsec_` secret,"
      " shown only here and on rotation", ("notify", "create_webhook"), ("body", "key"),
      WebhookIn, status=201),
    R("GET", HOOK, "getWebhook", "operator", "webhooks", "A subscription: its state, position"
      " and why it is paused", ("notify", "get_webhook"), (ID,)),
    R("DELETE", HOOK, "removeWebhook", "admin", "webhooks",
      "Remove a subscription (a delivery under way is dropped)", ("notify", "remove_webhook"),
      (ID,)),
    R("GET", f"{HOOK}/deliveries", "webhookDeliveries", "operator", "webhooks",
      "Its deliveries, newest first; `status=dead` lists the dead letters",
      ("notify", "webhook_deliveries"), (ID, "query.status", "query.limit"),
      query=DeliveriesIn),
    R("POST", f"{HOOK}/rewind", "rewindWebhook", "admin", "webhooks",
      "Deliver again from a journal position, an event id (`orders:12`) or an ISO time",
      ("notify", "rewind_webhook"), (ID, "body.position"), RewindIn),
    R("POST", f"{HOOK}/resume", "resumeWebhook", "admin", "webhooks",
      "A paused subscription goes on (`redeliver`: its dead letters first)",
      ("notify", "resume_webhook"), (ID, "body.redeliver"), ResumeIn),
    R("POST", f"{HOOK}/redeliver", "redeliverWebhook", "admin", "webhooks",
      "Its dead letters go again, in log order; it resumes if paused",
      ("notify", "redeliver_webhook"), (ID,), NoBody),
    R("POST", f"{HOOK}/rotate", "rotateWebhookSecret", "admin", "webhooks",
      "A new secret (answered once); the one before signs too for the overlap",
      ("notify", "rotate_webhook_secret"), (ID, "body.overlap_seconds"), RotateIn),
    R("GET", "/v1/webhook-journal", "webhookJournal", "operator", "webhooks",
      "The first and last positions of the journal subscriptions read from",
      ("notify", "webhook_journal")),
)  # fmt: skip
