"""Which session a request carries: the session cookie, or ``Authorization: Bearer <token>``.

Read the same way by the REST routes, the guard middleware and the Gradio events (from their headers and
cookies as plain mappings), so every front end resolves the user alike.
"""

from __future__ import annotations

from typing import Mapping

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
