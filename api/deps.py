"""FastAPI dependencies: the app context and the current user."""

from __future__ import annotations

import anyio
from fastapi import Request

from core.accounts.accounts import UserInfo, resolve_session
from core.accounts.credentials import credential
from core.context import AppContext
from core.errors import NotAuthenticated


def get_context(request: Request) -> AppContext:
    return request.app.state.context


def current_user(request: Request) -> UserInfo | None:
    """The logged-in user or None; the guard middleware may have resolved it already."""
    if "user" in request.scope.get("state", {}):
        return request.state.user
    token, _ = credential(request.headers, request.cookies)
    user, _ = resolve_session(get_context(request).store, token)
    request.state.user = user
    return user


async def viewer(request: Request) -> UserInfo | None:
    """``current_user`` without a worker-thread hop for a visitor (no credential: nothing to look up)."""
    if "user" in request.scope.get("state", {}):
        return request.state.user
    token, _ = credential(request.headers, request.cookies)
    return await anyio.to_thread.run_sync(current_user, request) if token else None


def require_user(request: Request) -> UserInfo:
    user = current_user(request)
    if user is None:
        raise NotAuthenticated("log in first (session cookie or Authorization: Bearer <token>)")
    return user
