"""Every API error is JSON ``{"error": "<message>"}`` with the right status."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from peewee import DatabaseError as PeeweeDatabaseError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

from core.errors import Throttled, VisionaryError
from core.store import DATABASE_GONE, is_connection_lost

log = logging.getLogger("visionary.api")


def error_response(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=headers)


def _describe_validation(exc: RequestValidationError) -> str:
    parts = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path"))
        parts.append(f"{where}: {err.get('msg', 'invalid')}" if where else err.get("msg", "invalid"))
    return "invalid request: " + "; ".join(parts) if parts else "invalid request"


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(VisionaryError)
    async def visionary_error(request: Request, exc: VisionaryError):
        headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, Throttled) else None
        return error_response(exc.status, exc.message, headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError):
        return error_response(400, _describe_validation(exc))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        message = exc.detail if isinstance(exc.detail, str) else "request failed"
        return error_response(exc.status_code, message, getattr(exc, "headers", None))

    @app.exception_handler(ClientDisconnect)
    async def client_gone(request: Request, exc: ClientDisconnect):
        """The client left (or was dropped for stalling) mid-body: no one reads this, and it is no server error."""
        return error_response(400, "the client disconnected before sending the whole request")

    @app.exception_handler(PeeweeDatabaseError)
    async def database_error(request: Request, exc: PeeweeDatabaseError):
        """A database that went away (a PostgreSQL restart, a lost network) is said in one line, not a 500."""
        if not is_connection_lost(exc):
            return await unexpected_error(request, exc)
        log.warning("the database cannot be reached (%s %s): %s", request.method, request.url.path,
                    str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__)
        return error_response(503, DATABASE_GONE, {"Retry-After": "5"})

    @app.exception_handler(Exception)
    async def unexpected_error(request: Request, exc: Exception):
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return error_response(500, "internal error; the server log has the details")
