"""One gate in front of every Gradio event, as the guard middleware is in front of every route.

Gradio's page calls events by number (``/gradio_api/queue/join`` with an ``fn_index``), so anyone can call any
event directly, hidden ones included. ``GuardedBlocks`` runs every event through ``EventGate.admit`` before
Gradio even reads its inputs, so an event wired later cannot forget the checks:

- under ``--private`` a visitor gets "log in first" from every event except the few marked
  ``open_to_visitors`` (the header saying who is logged in, and the events around logging in and out);
- a banned account's session gets "this account is banned" from every event (shown once on page load, by the
  header's event), as the API answers it with a 403;
- whatever an event raises reaches the page in words (``ui.errors.user_error``), never as a bare "Error";
- a file named in an event's inputs must be one this login session uploaded through Gradio's upload route, named
  by the handle that route gave back (``ui.upload_route``); anything else, a server path or a URL, is refused with the
  same words whether it exists or not.

Ownership and visibility of content are checked by the services the events call (they take the user resolved
from the request, never an id sent by the client).
"""

from __future__ import annotations

from typing import Any, Callable

import anyio
import gradio as gr
from gradio.blocks import BlockFunction
from gradio_client.utils import is_file_obj_with_meta, traverse

from core.context import AppContext
from core.errors import Forbidden

from .errors import user_error
from .i18n import request_language, text
from .session import request_session_key, request_user

_OPEN_TO_VISITORS = "__open_to_visitors__"


def open_to_visitors(fn: Callable) -> Callable:
    """Mark an event handler that a visitor may call on a private site (it shows only the caller's session)."""
    setattr(fn, _OPEN_TO_VISITORS, True)
    return fn


def is_open_to_visitors(fn: Callable | None) -> bool:
    return bool(getattr(fn, _OPEN_TO_VISITORS, False))


def _runs_on_page_load(block_fn: BlockFunction) -> bool:
    return bool(block_fn.targets) and all(event == "load" for _, event in block_fn.targets)


class EventGate:
    def __init__(self, context: AppContext):
        self.context = context

    def admit(self, block_fn: BlockFunction, inputs: list[Any], request: gr.Request | None) -> list[Any]:
        """The inputs to run ``block_fn`` with (uploaded files' handles resolved), or a ``gr.Error``."""
        lang = request_language(request)
        try:
            user = request_user(self.context, request)
        except Forbidden:
            quiet = _runs_on_page_load(block_fn) and not is_open_to_visitors(block_fn.fn)
            raise gr.Error(text("error.banned", lang), visible=not quiet, print_exception=False) from None
        if user is None and self.context.config.private and not is_open_to_visitors(block_fn.fn):
            # A page-load event fails quietly: the header already tells a visitor to log in.
            raise gr.Error(text("error.private_site", lang), visible=not _runs_on_page_load(block_fn),
                           print_exception=False)
        session = request_session_key(request) if user is not None else None
        return [self._with_uploaded_files(value, session, lang) for value in inputs]

    def _with_uploaded_files(self, value: Any, session: str | None, lang: str) -> Any:
        def resolve(file: dict) -> dict:
            if session is None:  # visitors cannot upload, so no file can be theirs
                raise gr.Error(text("error.log_in_first", lang), print_exception=False)
            stored = self.context.uploads.file_of(session, str(file.get("path") or ""))
            if stored is None:
                raise gr.Error(text("error.upload_again", lang), print_exception=False)
            return {**file, "path": str(stored), "url": None}

        return traverse(value, resolve, is_file_obj_with_meta)


class GuardedBlocks(gr.Blocks):
    """``gr.Blocks`` whose events all pass ``EventGate`` first."""

    def __init__(self, context: AppContext, **kwargs):
        super().__init__(**kwargs)
        self.gate = EventGate(context)

    async def process_api(self, block_fn: BlockFunction | int, inputs: list[Any], state=None, request=None,
                          iterator=None, **kwargs) -> dict[str, Any]:
        if isinstance(block_fn, int):
            block_fn = self.fns[block_fn]
        if iterator is None:  # a generator's later steps were admitted with its first
            inputs = await anyio.to_thread.run_sync(self.gate.admit, block_fn, inputs, request)
        try:
            return await super().process_api(block_fn, inputs, state, request, iterator, **kwargs)
        except Exception as exc:
            raise user_error(exc, request_language(request)) from exc
