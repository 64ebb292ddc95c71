"""Limits a person can see: a live "used / allowed" counter under a text box.

The box itself has no ``max_length``: a browser that cuts pasted text at the limit loses words without a word
said. The counter turns red past the limit, and the service refuses the text with the limit named.
"""

from __future__ import annotations

import gradio as gr

# Counts what the browser holds (code points, as the server counts); runs in the browser, no server call.
COUNTER_JS = """
(value) => {
  const used = [...(value || "")].length;
  return used > %(limit)d ? `⚠ ${used} / %(limit)d` : `${used} / %(limit)d`;
}
"""

COUNTER_CSS = ".va-counter { text-align: right; font-size: .85em; color: var(--body-text-color-subdued); }"


def counter(box: gr.Textbox, limit: int, elem_id: str) -> gr.Markdown:
    """A counter under ``box``, kept up to date as it is typed in and when the server fills it."""
    shown = gr.Markdown("", elem_id=elem_id, elem_classes=["va-counter"])
    for event in (box.input, box.change):
        event(None, box, shown, js=COUNTER_JS % {"limit": limit})
    return shown
