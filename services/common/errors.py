"""Errors a use case raises; the HTTP layer turns each into the one JSON error shape.

Messages are shown to the caller as they are, so they are written for the person reading
them: in Bahasa Indonesia where a citizen may see them.
"""

from __future__ import annotations


class DomainError(Exception):
    status = 409

    def __init__(self, message: str, errors: dict | None = None):
        super().__init__(message)
        self.message = message
        self.errors = errors


class NotFound(DomainError):
    status = 404


class Forbidden(DomainError):
    status = 403


class Conflict(DomainError):
    status = 409


class Invalid(DomainError):
    status = 422


class PreconditionFailed(DomainError):
    status = 412


class PreconditionRequired(DomainError):
    status = 428
