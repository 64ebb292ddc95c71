""""Save to collection" on a model's and a picture's page: one of one's collections (listed when the box is
opened), or a new one by name, and Save. ``community.collections`` checks the rest."""

from __future__ import annotations

from dataclasses import dataclass

import gradio as gr

from community import collections
from core.context import AppContext
from core.errors import VisionaryError

from .i18n import label, message, request_language, text
from .session import request_user


@dataclass(frozen=True)
class CollectionPicker:
    context: AppContext
    kind: str  # "model" or "image"
    chosen: gr.Dropdown
    new_name: gr.Textbox
    save: gr.Button

    def my_collections(self, request: gr.Request):
        """The caller's collections, as choices."""
        mine = collections.my_collections(request_user(self.context, request))
        return gr.Dropdown(choices=[(c.name, c.id) for c in mine])

    def save_to_collection(self, subject_id, chosen, new_name, request: gr.Request):
        lang = request_language(request)
        actor = request_user(self.context, request)
        store = self.context.store
        try:
            if (new_name or "").strip():
                chosen = collections.create_collection(store, actor, new_name).id
            if not chosen:
                raise gr.Error(text("collections.choose", lang))
            item = {"model_id": int(subject_id)} if self.kind == "model" else {"image_id": int(subject_id)}
            saved = collections.add_item(store, actor, int(chosen), **item)
        except (TypeError, ValueError):
            raise gr.Error(text("collections.choose", lang)) from None
        except VisionaryError as exc:
            raise gr.Error(message(exc.message, lang)) from None
        gr.Info(text("collections.saved", lang, name=saved.name))
        mine = collections.my_collections(actor)
        return gr.Dropdown(choices=[(c.name, c.id) for c in mine], value=saved.id), ""


def build_collection_picker(context: AppContext, prefix: str, kind: str, subject_id: gr.Number) -> CollectionPicker:
    """The picker (in the current layout) for the ``kind`` whose id ``subject_id`` holds."""
    with gr.Accordion(label("collections.save_to"), open=False, elem_id=f"{prefix}-collect"):
        with gr.Row(equal_height=True):
            chosen = gr.Dropdown([], value=None, label=label("collections.collection"), allow_custom_value=False,
                                 elem_id=f"{prefix}-collection")
            new_name = gr.Textbox(label=label("collections.or_new"), max_length=collections.MAX_NAME_CHARS,
                                  elem_id=f"{prefix}-new-collection")
            save = gr.Button(label("collections.save"), variant="primary", scale=0, min_width=120,
                             elem_id=f"{prefix}-collection-save")
    picker = CollectionPicker(context, kind, chosen, new_name, save)
    chosen.focus(picker.my_collections, None, chosen, api_visibility="private", show_progress="hidden")
    save.click(picker.save_to_collection, [subject_id, chosen, new_name], [chosen, new_name],
               api_name=f"save_{kind}_to_collection")
    return picker
