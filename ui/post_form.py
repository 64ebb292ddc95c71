"""The optional words of a post — a title, a description and tags — asked for wherever pictures are published
(under the Generate result, on a picture's own page)."""

from __future__ import annotations

from dataclasses import dataclass

import gradio as gr

from community.posts import MAX_DESCRIPTION_CHARS, MAX_TITLE_CHARS, PostFields

from .i18n import label
from .limits import counter


@dataclass(frozen=True)
class PostForm:
    group: gr.Accordion  # folded away until wanted; hidden where there is nothing to publish
    title: gr.Textbox
    description: gr.Textbox
    tags: gr.Textbox

    def inputs(self) -> list:
        return [self.title, self.description, self.tags]

    def cleared(self) -> tuple:
        """Empty fields for ``inputs`` after a publish."""
        return "", "", ""


def post_fields(title, description, tags) -> PostFields:
    """The form's values, checked (``InvalidInput`` names the limit that was passed)."""
    return PostFields.checked(title, description, tags)


def build_post_form(prefix: str, visible: bool = True) -> PostForm:
    """The form in the current layout; its parts are ``#<prefix>-title``, ``-description``, ``-tags``."""
    with gr.Accordion(label("post.details"), open=False, visible=visible, elem_id=f"{prefix}-details") as group:
        title = gr.Textbox(label=label("post.title"), placeholder=label("post.title_placeholder"),
                           elem_id=f"{prefix}-title")
        counter(title, MAX_TITLE_CHARS, f"{prefix}-title-counter")
        description = gr.Textbox(label=label("post.description"), lines=3, elem_id=f"{prefix}-description")
        counter(description, MAX_DESCRIPTION_CHARS, f"{prefix}-description-counter")
        tags = gr.Textbox(label=label("post.tags"), placeholder=label("post.tags_placeholder"),
                          elem_id=f"{prefix}-tags")
    return PostForm(group, title, description, tags)
