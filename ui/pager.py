"""The pager under a list: "← Previous", "Page 2 of 5 · 97 models", "Next →"."""

from __future__ import annotations

from dataclasses import dataclass

import gradio as gr

from core.library import Page


def page_summary(page: Page, noun: str = "model", plural: str | None = None) -> str:
    """'Page 2 of 5 · 97 models' (``plural`` defaults to ``noun`` + 's')."""
    word = noun if page.total == 1 else (plural or noun + "s")
    return f"Page {page.page} of {page.total_pages} · {page.total} {word}"


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
        previous = gr.Button("← Previous", size="sm", interactive=False, scale=0, min_width=120,
                             elem_id=f"{prefix}-prev")
        summary = gr.Markdown(elem_id=f"{prefix}-page-info")
        following = gr.Button("Next →", size="sm", interactive=False, scale=0, min_width=120,
                              elem_id=f"{prefix}-next")
    return Pager(row, previous, summary, following, gr.State(1))


def pager_values(page: Page, noun: str = "model", plural: str | None = None) -> tuple:
    """What ``Pager.outputs`` show for one page of results."""
    return (page_summary(page, noun, plural), page.page, gr.Button(interactive=page.page > 1),
            gr.Button(interactive=page.next_page is not None))
