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


EXPECTED = (ValidationFailed, NotFound, Conflict, InvalidTransition)
