"""Errors the services raise; each says what went wrong in words a user can act on.

The API turns them into JSON errors with the matching HTTP status, the UI into
``gr.Warning``/``gr.Error``.  Services never know about either.
"""

from __future__ import annotations


class VisionaryError(Exception):
    """Base class; ``status`` is the HTTP status the API answers with."""

    status = 400

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class InvalidInput(VisionaryError):
    status = 400


class NotAuthenticated(VisionaryError):
    status = 401


class Forbidden(VisionaryError):
    status = 403


class NotFound(VisionaryError):
    status = 404


class Conflict(VisionaryError):
    status = 409


class TooLarge(VisionaryError):
    status = 413


class Throttled(VisionaryError):
    status = 429

    def __init__(self, message: str, retry_after: int):
        super().__init__(message)
        self.retry_after = max(1, int(retry_after))


class InsufficientStorage(VisionaryError):
    status = 507


class DatabaseUnavailable(VisionaryError):
    """The database cannot be reached (or its driver is missing): one line that names it, password hidden."""

    status = 503
