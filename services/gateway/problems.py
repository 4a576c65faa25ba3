"""Errors as RFC 9457 problem details (`application/problem+json`), from one table: the typed
errors the services raise over RPC, and the gateway's own refusals (401, 403, 413, 415…).

Every problem has `type` (a link to its description in /docs), `title`, `status`, `detail` and
`instance` (the request's path); a validation problem adds `errors` (field -> messages), a refused
transition adds `rule` (and the details the service gave).
"""

import json

from shared.errors import (
    Conflict,
    Forbidden,
    InvalidTransition,
    NotFound,
    OmsError,
    PreconditionFailed,
    Unauthenticated,
    Unavailable,
    ValidationFailed,
)

MEDIA_TYPE = "application/problem+json"

# slug -> (status, title); the slug is the problem type's anchor in /docs
KINDS = {
    "bad-request": (400, "The request could not be read"),
    "unauthenticated": (401, "An API key is required"),
    "forbidden": (403, "This key's role may not do this"),
    "not-found": (404, "Not found"),
    "method-not-allowed": (405, "Method not allowed"),
    "conflict": (409, "Conflict"),
    "invalid-transition": (409, "Refused by the rules of its state"),
    "precondition-failed": (412, "It changed since you read it"),
    "too-large": (413, "The body is too large"),
    "unsupported-media-type": (415, "The body must be JSON"),
    "validation-failed": (422, "The input is not valid"),
    "unavailable": (503, "A service is unavailable; nothing was done"),
    "timeout": (504, "A service did not answer in time"),
    "server-error": (500, "Something went wrong on our side"),
}

BY_ERROR = {
    ValidationFailed: "validation-failed",
    NotFound: "not-found",
    Conflict: "conflict",
    InvalidTransition: "invalid-transition",
    PreconditionFailed: "precondition-failed",
    Unauthenticated: "unauthenticated",
    Forbidden: "forbidden",
    Unavailable: "unavailable",
}


class Problem(Exception):
    """A refusal the gateway answers with (raised anywhere while handling a request)."""

    def __init__(self, kind: str, detail: str, headers: dict | None = None, **extra):
        super().__init__(detail)
        self.kind, self.detail, self.headers, self.extra = kind, detail, headers or {}, extra
        self.status = KINDS[kind][0]

    def body(self, instance: str) -> dict:
        status, title = KINDS[self.kind]
        shown = {"type": f"/docs#problem-{self.kind}", "title": title, "status": status}
        shown.update(detail=self.detail, instance=instance, **self.extra)
        return shown


def from_error(error: OmsError) -> Problem:
    """The problem for a typed error a service raised."""
    kind = BY_ERROR.get(type(error), "server-error")
    details = dict(error.details)
    if kind == "validation-failed":
        rule = details.pop("rule", None)
        extra = {"errors": {k: _messages(v) for k, v in details.items()}}
        return Problem(kind, error.message, **extra, **({"rule": rule} if rule else {}))
    if kind == "invalid-transition":
        return Problem(kind, error.message, rule=details.pop("rule", None), details=details)
    if kind == "forbidden":
        return Problem(kind, error.message, needed=details.get("needed"))
    if kind == "precondition-failed":
        version = details.get("version")  # numbers cross RPC as strings (nameko's serializer)
        return Problem(kind, error.message, version=int(version) if version else None)
    if kind == "unauthenticated":
        return Problem(kind, error.message, headers={"WWW-Authenticate": "Bearer"})
    return Problem(kind, error.message, **({"details": details} if details else {}))


def _messages(value) -> list:
    return value if isinstance(value, list) else [value]


def encode(problem: Problem, instance: str) -> tuple[int, dict, str]:
    headers = {"Content-Type": MEDIA_TYPE, **problem.headers}
    return problem.status, headers, json.dumps(problem.body(instance))


def described() -> list[tuple[str, int, str]]:
    """Every problem type (slug, status, title), for the docs page."""
    return [(slug, status, title) for slug, (status, title) in KINDS.items()]
