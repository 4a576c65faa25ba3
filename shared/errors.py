"""Typed errors that cross RPC intact: callers catch the class, not a generic RemoteError."""

from nameko.exceptions import deserialize_to_instance


class OmsError(Exception):
    """Base: a message for people and a dict of details for programs."""

    def __init__(self, message: str, details: dict | None = None):
        super().__init__(message, details or {})
        self.message = message
        self.details = details or {}

    def __str__(self) -> str:
        return f"{self.message} {self.details}" if self.details else self.message


@deserialize_to_instance
class ValidationFailed(OmsError):
    """Bad input; `details` maps each field path to its messages."""


@deserialize_to_instance
class NotFound(OmsError):
    pass


@deserialize_to_instance
class Conflict(OmsError):
    """A concurrent change won; read again and retry if it still applies."""


@deserialize_to_instance
class InvalidTransition(OmsError):
    """The aggregate's state machine refused the command; `details["rule"]` names the rule."""


@deserialize_to_instance
class Unavailable(OmsError):
    """The service's store (or broker) is unreachable right now; nothing was done: retry later."""


@deserialize_to_instance
class Unauthenticated(OmsError):
    """A state-changing call without a valid actor token (missing, forged or expired)."""


@deserialize_to_instance
class Forbidden(OmsError):
    """The caller's role may not do this; `details["needed"]` names the role it takes."""


@deserialize_to_instance
class PreconditionFailed(OmsError):
    """The aggregate changed since the version the caller read (`If-Match`); read it again."""


EXPECTED = (
    ValidationFailed,
    NotFound,
    Conflict,
    InvalidTransition,
    Unavailable,
    Unauthenticated,
    Forbidden,
    PreconditionFailed,
)


def translated(error: Exception) -> OmsError | None:
    """The one table from a domain's refusal to the typed error callers catch (RPC and HTTP)."""
    from shared.paging import CursorRefused
    from shared.refusals import Missing, Refused

    if isinstance(error, Missing):
        return NotFound(str(error), dict(error.ids))
    if isinstance(error, Refused) and error.field:
        return ValidationFailed(str(error), {error.field: [str(error)], "rule": error.rule})
    if isinstance(error, Refused):
        return InvalidTransition(str(error), error.details())
    if isinstance(error, CursorRefused):
        return ValidationFailed("invalid cursor", {"cursor": [str(error)]})
    return None
