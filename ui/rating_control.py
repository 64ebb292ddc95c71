"""The content rating chooser on a model's and a picture's page: shown to its owner and the moderators (the
services check again); safe, mature or explicit, in the viewer's language."""

from __future__ import annotations

import gradio as gr

from core.tables import RATINGS

from .i18n import label


def rating_dropdown(elem_id: str) -> gr.Dropdown:
    return gr.Dropdown([(label(f"rating.{rating}"), rating) for rating in RATINGS], label=label("rating.label"),
                       visible=False, scale=0, min_width=170, elem_id=elem_id)
