"""A route of the gateway, and the small schemas several route tables share (routes.py holds the
table of every route; production_routes.py the workshop's)."""

from dataclasses import dataclass

from marshmallow import Schema, fields, validate

from shared.validation import Strict

JSON = "application/json"


class EventsQuery(Strict):
    after = fields.Integer(strict=True, load_default=0, validate=validate.Range(min=0))
    limit = fields.Integer(strict=True, load_default=100, validate=validate.Range(min=1, max=1000))


class ParkedQuery(Strict):
    status = fields.String(
        load_default="open",
        validate=validate.OneOf(("open", "parked", "waiting", "retried", "discarded", "all")),
    )


class NoBody(Strict):
    """An action that takes no input: send no body, or `{}`."""


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # OpenAPI style: /v1/orders/{order_id}
    op: str  # operationId, and the handler's name for the gateway's own routes
    role: str  # public, storefront, operator or admin
    tag: str
    summary: str
    call: tuple[str, str] | None = None  # (service, RPC method); None: the gateway answers
    args: tuple[str, ...] = ()
    body: type[Schema] | None = None
    query: type[Schema] | None = None
    status: int = 200
    versioned: bool = False  # the answer has a `version`: sent as ETag; If-Match is honoured
    owned: bool = False  # a storefront key sees only the orders it placed (path:order_id)
    items: str | None = None  # a page of this list: a `next` link is added
    media: str = JSON  # what a success answers: JSON, or bytes of this type (documents, files)
    # its answers never name a client: kept for Idempotency-Key replays as they are (replays.py)
    anonymous: bool = False

    @property
    def creates(self) -> bool:
        return self.method == "POST"
