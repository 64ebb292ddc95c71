"""Who is asking, for Gradio events: resolved on the server from the request's credentials."""

from __future__ import annotations

import gradio as gr

from core.accounts.accounts import UserInfo, resolve_session
from core.accounts.credentials import credential
from core.context import AppContext


def request_user(context: AppContext, request: gr.Request | None) -> UserInfo | None:
    """The logged-in user behind a Gradio event, or None for a visitor; ``Forbidden`` for a banned account's
    session (``EventGate`` says so before any handler runs)."""
    raw = getattr(request, "request", None) if request is not None else None
    if raw is None:
        return None
    token, _ = credential(raw.headers, raw.cookies)
    user, _ = resolve_session(context.store, token)
    return user
