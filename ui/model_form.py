"""The model form shared by the upload form and the My uploads editor: metadata, licence, the model chooser."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import gradio as gr

from core.accounts.accounts import UserInfo
from core.errors import InvalidInput
from core.library import library, library_edit
from core.library.library_edit import ModelFields, split_list
from core.library.model_records import COMMERCIAL_USES, Licence

from . import render
from .i18n import label
from .limits import counter
from .model_page import COMMERCIAL_USE_KEYS

DETECT = "detect"

LIST_CSS = """
.va-mine-model { border: 1px solid var(--border-color-primary); border-radius: 10px; padding: 8px 14px;
  margin-bottom: 12px; }
.va-mine-head { display: flex; flex-wrap: wrap; gap: 4px 12px; align-items: baseline; margin-bottom: 6px; }
.va-mine-name { font-weight: 600; overflow-wrap: anywhere; }
.va-mine code { font-family: var(--font-mono); }
"""


@dataclass(frozen=True)
class MetadataInputs:
    """The editable fields of a model, as components (the upload form and the editor share them)."""

    name: gr.Textbox
    kind: gr.Dropdown
    base_model: gr.Dropdown
    visibility: gr.Radio
    description: gr.Textbox
    tags: gr.Textbox
    trigger_words: gr.Textbox

    def components(self) -> list:
        return [getattr(self, field.name) for field in dataclasses.fields(self)]


def metadata_inputs(prefix: str, detect: bool) -> MetadataInputs:
    """Name, type, base model, visibility, description, tags, trigger words.

    ``detect``: the upload form, whose type and base model start at "detect from the file".  Otherwise the
    editor, which starts empty (an API caller leaving a field out keeps the model's value).
    """
    detect_choice = [(label("upload.detect"), DETECT)] if detect else []
    start, choice = ("", DETECT) if detect else (None, None)
    with gr.Row(equal_height=True):
        name = gr.Textbox(start, label=label("upload.name"), max_length=200,
                          placeholder=label("upload.name_placeholder") if detect else None, elem_id=f"{prefix}-name",
                          scale=2)
        kind = gr.Dropdown(detect_choice + render.type_choices(), value=choice, label=label("upload.type"),
                           elem_id=f"{prefix}-type")
        base = gr.Dropdown(detect_choice + render.base_choices(), value=choice, label=label("upload.base_model"),
                           elem_id=f"{prefix}-base")
        visibility = gr.Radio([(label("visibility.public"), "public"), (label("visibility.private"), "private")],
                              value="public" if detect else None, label=label("upload.visibility"),
                              elem_id=f"{prefix}-visibility")
    description = gr.Textbox(start, label=label("upload.description"), lines=5, elem_id=f"{prefix}-description")
    counter(description, library_edit.MAX_DESCRIPTION_CHARS, f"{prefix}-description-counter")
    with gr.Row():
        tags = gr.Textbox(start, label=label("upload.tags"), placeholder=label("upload.tags_placeholder"),
                          elem_id=f"{prefix}-tags")
        trigger_words = gr.Textbox(start, label=label("upload.trigger_words"),
                                   placeholder=label("upload.trigger_placeholder"), elem_id=f"{prefix}-trigger-words")
    return MetadataInputs(name, kind, base, visibility, description, tags, trigger_words)


def model_fields(name, kind, base, visibility, description, tags, trigger_words) -> ModelFields:
    """The form's values as core fields: None (an API caller's "not given") keeps or detects a value."""
    return ModelFields(name=(name or "").strip() or None, type=None if kind in (DETECT, None) else kind,
                       base_model=None if base in (DETECT, None) else base, description=description,
                       tags=split_list(tags), trigger_words=split_list(trigger_words), visibility=visibility or None)


@dataclass(frozen=True)
class LicenceInputs:
    """The licence as components: what others may do with the model, Civitai's terms."""

    no_credit: gr.Checkbox
    commercial_use: gr.CheckboxGroup
    derivatives: gr.Checkbox
    different_license: gr.Checkbox

    def components(self) -> list:
        return [getattr(self, field.name) for field in dataclasses.fields(self)]


def licence_inputs(prefix: str) -> LicenceInputs:
    """Three checkboxes and the commercial uses, starting at Civitai's defaults (everything allowed)."""
    gr.Markdown(label("upload.licence_help"))
    no_credit = gr.Checkbox(True, label=label("licence.no_credit"), elem_id=f"{prefix}-allow-no-credit")
    uses = gr.CheckboxGroup([(label(key), use) for use, key in COMMERCIAL_USE_KEYS.items()],
                            value=list(COMMERCIAL_USES), label=label("licence.commercial_use"),
                            elem_id=f"{prefix}-commercial-use")
    derivatives = gr.Checkbox(True, label=label("licence.derivatives"), elem_id=f"{prefix}-allow-derivatives")
    different = gr.Checkbox(True, label=label("licence.different_license"),
                            elem_id=f"{prefix}-allow-different-license")
    return LicenceInputs(no_credit, uses, derivatives, different)


def licence_fields(no_credit, commercial_use, derivatives, different_license) -> ModelFields:
    """The licence form's values as core fields (all four are set: the form always shows the whole licence)."""
    return ModelFields(allow_no_credit=bool(no_credit), allow_commercial_use=tuple(commercial_use or ()),
                       allow_derivatives=bool(derivatives), allow_different_license=bool(different_license))


def licence_values(licence: Licence) -> tuple:
    """A model's licence as the values of ``LicenceInputs.components()``."""
    return (licence.allow_no_credit, list(licence.allow_commercial_use), licence.allow_derivatives,
            licence.allow_different_license)


def model_id_of(value) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise InvalidInput("choose one of your models first") from None


def owned_choices(actor: UserInfo | None) -> list[tuple[str, int]]:
    """The model chooser's choices: every model the actor owns."""
    return [(f"{name} (#{model_id})", model_id) for model_id, name in library.owned_models(actor)]
