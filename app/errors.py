"""Typed domain errors. The web layer maps each to one status code in one place."""
from __future__ import annotations


class DomainError(Exception):
    """Base of the errors a service raises for the user to read; ``message`` is translatable."""

    status = 400

    def __init__(self, message=None):
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return str(self.message) if self.message is not None else self.__class__.__name__


class NotFound(DomainError):
    """The object does not exist or the caller may not know that it does."""

    status = 404


class Forbidden(DomainError):
    status = 403


class Conflict(DomainError):
    """A stale version or a transition that the current state does not allow."""

    status = 409


class Gone(DomainError):
    """A link or token that existed but can no longer be used (expired, used, voided)."""

    status = 410


class InvalidInput(DomainError):
    status = 422


class TooManyAttempts(DomainError):
    """Asked again too soon: ``retry_after`` seconds to wait (the Retry-After header), if known."""

    status = 429

    def __init__(self, message=None, retry_after: int | None = None):
        super().__init__(message)
        self.retry_after = retry_after
