"""Reading credentials from requests and writing the session cookie.

Shared by the REST routes, the guard middleware and the Gradio events, so all
of them resolve the user the same way: the session cookie, or
``Authorization: Bearer <token>``.
"""

from __future__ import annotations

from typing import Mapping

from fastapi import Response

from community.accounts import SESSION_LIFETIME

COOKIE_NAME = "visionary_session"


def bearer_token(headers: Mapping[str, str]) -> str | None:
    value = headers.get("authorization") or ""
    scheme, _, token = value.partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


def credential(headers: Mapping[str, str], cookies: Mapping[str, str]) -> tuple[str | None, bool]:
    """The session token and whether it came from the cookie (cookies are CSRF-exposed)."""
    token = bearer_token(headers)
    if token:
        return token, False
    token = cookies.get(COOKIE_NAME)
    return (token, True) if token else (None, False)


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
