"""Domain errors. Domain code raises these; the HTTP layer maps each class to one status code."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """Base class: a machine-readable code, a human message and optional structured details."""

    code = "domain_error"

    def __init__(self, message: str, *, code: str | None = None, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.details = details

    def __reduce__(self) -> tuple[Any, ...]:
        # Keep the code and details when the error is pickled across a DeploymentHandle (Exception's own
        # reduce would rebuild it from the message alone, with the class's default code).
        return (type(self), (self.message,), self.__dict__)


class NotFoundError(DomainError):
    code = "not_found"


class ConflictError(DomainError):
    code = "conflict"


class NumberTakenMeanwhileError(ConflictError):
    """A document number the counter gave was taken by a write still in flight when it was checked (an ERP sync's
    order numbered like ours): the whole operation is run again, and the counter then skips it."""

    code = "number_taken"


class InsufficientStockError(ConflictError):
    code = "insufficient_stock"


class InvalidInputError(DomainError):
    code = "invalid_input"


class ExpiredValueError(InvalidInputError):
    """A well-formed value that no longer holds when the request is applied (a hold expiring in the past)."""

    code = "validation_error"


class PermissionDeniedError(DomainError):
    code = "forbidden"


class IdempotencyMismatchError(DomainError):
    code = "idempotency_key_reused"


class UnsupportedMediaError(InvalidInputError):
    code = "unsupported_media_type"


class PayloadTooLargeError(InvalidInputError):
    code = "payload_too_large"


class RateLimitedError(DomainError):
    code = "rate_limited"


class ServiceUnavailableError(DomainError):
    """A model deployment this request needs is not part of the running application."""

    code = "service_unavailable"


class PoolExhaustedError(ServiceUnavailableError):
    """Every pooled database connection stayed busy for the acquire timeout."""

    code = "database_busy"


class DatabaseUnavailableError(ServiceUnavailableError):
    """The database went away (restart, failover); the request may be retried, writes with their key."""

    code = "database_unavailable"


def describe(exc: BaseException) -> str:
    """An error as a job's summary or a run's record states it: its class and its message."""
    return f"{type(exc).__name__}: {exc}"
