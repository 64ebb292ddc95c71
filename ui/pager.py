"""The pager under a list: "← Previous", "Page 2 of 5 · 97 models", "Next →"."""

from __future__ import annotations

from dataclasses import dataclass

import gradio as gr

from core.paging import Page

from .i18n import label, plural


def page_summary(page: Page, lang: str, noun: str = "models") -> str:
    """'Page 2 of 5 · 97 models' in ``lang``; ``noun`` names the ``pager.<noun>`` keys (models, images...)."""
    return plural(f"pager.{noun}", page.total, lang, page=page.page, pages=page.total_pages)


@dataclass(frozen=True)
class Pager:
    """Previous / "Page 2 of 5 · 97 models" / Next, and the page number it is on."""

    row: gr.Row
    previous: gr.Button
    summary: gr.Markdown
    next: gr.Button
    number: gr.State

    def outputs(self) -> list:
        return [self.summary, self.number, self.previous, self.next]


def build_pager(prefix: str) -> Pager:
    with gr.Row(equal_height=True) as row:
        previous = gr.Button(label("pager.previous"), size="sm", interactive=False, scale=0, min_width=120,
                             elem_id=f"{prefix}-prev")
        summary = gr.Markdown(elem_id=f"{prefix}-page-info")
        following = gr.Button(label("pager.next"), size="sm", interactive=False, scale=0, min_width=120,
                              elem_id=f"{prefix}-next")
    return Pager(row, previous, summary, following, gr.State(1))


def pager_values(page: Page, lang: str, noun: str = "models") -> tuple:
    """What ``Pager.outputs`` show for one page of results."""
    return (page_summary(page, lang, noun), page.page, gr.Button(interactive=page.page > 1),
            gr.Button(interactive=page.next_page is not None))
