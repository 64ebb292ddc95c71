"""Who is asking, for Gradio events: resolved on the server from the request's credentials."""

from __future__ import annotations

import gradio as gr

from core.accounts.accounts import UserInfo, hash_token, resolve_session
from core.accounts.credentials import credential
from core.context import AppContext


def _token(request: gr.Request | None) -> str | None:
    raw = getattr(request, "request", None) if request is not None else None
    return None if raw is None else credential(raw.headers, raw.cookies)[0]


def request_user(context: AppContext, request: gr.Request | None) -> UserInfo | None:
    """The logged-in user behind a Gradio event, or None for a visitor; ``Forbidden`` for a banned account's
    session (``EventGate`` says so before any handler runs)."""
    user, _ = resolve_session(context.store, _token(request))
    return user


def request_session_key(request: gr.Request | None) -> str | None:
    """The login session behind a Gradio event as the sessions table names it (its token's SHA-256)."""
    token = _token(request)
    return hash_token(token) if token else None
