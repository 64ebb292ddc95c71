"""Every failure of a Gradio event reaches the person in words, in their language.

``GuardedBlocks`` runs each event through ``user_error``: a service's ``VisionaryError`` becomes a ``gr.Error``
with its message translated, and anything unexpected a ``gr.Error`` saying so (logged with its traceback), never
the bare "Error" that Gradio shows for an exception it is not allowed to describe. The page's side of it (the
toasts' titles, the badge that would cover the failed event's components) is ``ui.toasts``.
"""

from __future__ import annotations

import logging

import gradio as gr

from core.errors import VisionaryError
from core.generation.resources import LoraDoesNotFit
from core.store import is_connection_lost

from .i18n import message, text

log = logging.getLogger(__name__)


def refusal(exc: VisionaryError, lang: str) -> str:
    """A service's refusal in ``lang``; those that name models say so with the names filled in."""
    if isinstance(exc, LoraDoesNotFit):
        return text("generate.lora_does_not_fit", lang, lora=exc.lora, lora_base=exc.lora_base,
                    checkpoint=exc.checkpoint, checkpoint_base=exc.checkpoint_base)
    return message(exc.message, lang)


def user_error(exc: Exception, lang: str) -> gr.Error:
    """The ``gr.Error`` the page shows for an event that raised ``exc``."""
    if isinstance(exc, gr.Error):
        return exc
    if isinstance(exc, VisionaryError):
        return gr.Error(refusal(exc, lang), print_exception=False)
    if is_connection_lost(exc):
        log.warning("the database cannot be reached: %s", str(exc).strip().splitlines()[0] if str(exc) else exc)
        return gr.Error(text("error.database_gone", lang), print_exception=False)
    log.error("a Gradio event failed", exc_info=exc)
    return gr.Error(text("error.unexpected", lang), print_exception=False)
