"""Writing and clearing the session cookie (reading a request's credential is ``core.accounts.credentials``)."""

from __future__ import annotations

from fastapi import Response

from core.accounts.accounts import SESSION_LIFETIME
from core.accounts.credentials import COOKIE_NAME


def set_session_cookie(response: Response, token: str, secure: bool) -> None:
    response.set_cookie(COOKIE_NAME, token, max_age=int(SESSION_LIFETIME.total_seconds()), httponly=True,
                        samesite="lax", secure=secure, path="/")


def session_cookie_header(token: str, secure: bool) -> str:
    """The same cookie as a raw ``Set-Cookie`` value, for the ASGI middleware."""
    response = Response()
    set_session_cookie(response, token, secure)
    return response.headers["set-cookie"]


def clear_session_cookie(response: Response, secure: bool) -> None:
    response.delete_cookie(COOKIE_NAME, path="/", httponly=True, samesite="lax", secure=secure)
