"""The correlation context of the command or event being handled, carried into every event saved."""

import uuid
from contextlib import contextmanager
from contextvars import ContextVar

import structlog

_current: ContextVar[dict | None] = ContextVar("oms_context", default=None)


def current() -> dict:
    return _current.get() or {}


def request_causation(request_id: str) -> str:
    """The causation id of events an RPC request stores: the request's own identity (the AMQP
    correlation id of its message), the same on every delivery of that message."""
    return f"rpc:{request_id}"


def request_key() -> str | None:
    """An idempotency key that defaults to the request's identity, or None outside a request."""
    request = current().get("request_id")
    return f"request:{request}" if request else None


@contextmanager
def bound(
    correlation_id: str | None = None,
    causation_id: str | None = None,
    actor: str | None = None,
    request_id: str | None = None,
    role: str | None = None,
    auth_problem: str | None = None,
    if_match: int | None = None,
):
    """Run a block as part of a correlation; logs and saved events carry its ids. `actor` and
    `role` are a verified caller's (or `auth_problem` says why there is none); `if_match` is the
    version the caller expects of the aggregate it acts on (see `ServiceApplication.get`)."""
    ctx = {
        "correlation_id": _bounded(correlation_id) or str(uuid.uuid4()),
        "causation_id": _bounded(causation_id),
        "actor": _bounded(actor),
        "request_id": _bounded(request_id),
        "role": role,
        "auth_problem": auth_problem,
        "if_match": if_match,
    }
    token = _current.set(ctx)
    structlog.contextvars.bind_contextvars(correlation_id=ctx["correlation_id"])
    try:
        yield ctx
    finally:
        try:
            _current.reset(token)
        except ValueError:  # closed from another greenthread (a killed worker): just clear it
            _current.set(None)
        structlog.contextvars.unbind_contextvars("correlation_id")


def check_version(aggregate_id, version: int) -> None:
    """Refuse a command whose caller read another version of the aggregate it acts on (HTTP
    `If-Match`): the first aggregate a request reads is the one it acts on; later reads of the
    same one (a retry after a concurrent write) are checked too."""
    ctx = current()
    expected = ctx.get("if_match")
    if expected is None:
        return
    target = ctx.setdefault("if_match_id", str(aggregate_id))
    if target == str(aggregate_id) and version != expected:
        from shared.errors import PreconditionFailed

        raise PreconditionFailed(
            f"it is at version {version}, not {expected}: read it again",
            {"expected_version": expected, "version": version},
        )


def enter(**ids):
    """Like `bound`, for callers with separate set-up and tear-down hooks; returns a token for `exit`."""
    manager = bound(**ids)
    manager.__enter__()
    return manager


def exit(token) -> None:  # noqa: A001 - pairs with enter()
    token.__exit__(None, None, None)


def _bounded(value, limit: int = 200) -> str | None:
    """Ids come from callers: keep them strings of a sane length."""
    return None if value is None else str(value)[:limit]
