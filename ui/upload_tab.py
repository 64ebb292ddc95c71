"""Upload tab: upload a model file (a new model, or a new version of one's own) and manage "My uploads".

Uploading, editing and deleting are public API events (``upload_model``, ``edit_model``, ``edit_licence``,
``delete_upload``); each resolves the user from the request's session on the server and
leaves every rule to core.library.library_edit.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import gradio as gr

from core.accounts.accounts import UserInfo
from core.context import AppContext
from core.errors import InvalidInput, VisionaryError
from core.library import library, library_edit
from core.library.ingest import stage_local_file
from core.library.library import ModelQuery
from core.library.library_edit import ModelFields, split_list
from core.library.model_records import COMMERCIAL_USES, Licence, ModelRecord
from core.paging import Page

from . import render
from .i18n import label, message, request_language, text
from .limits import counter
from .links import Links, link, page_tab
from .model_page import COMMERCIAL_USE_KEYS, visibility_label
from .pager import build_pager, pager_values
from .session import request_user

MODEL_FILE_TYPES = [".safetensors", ".ckpt", ".pt", ".pth", ".bin"]
DETECT = "detect"
MY_PAGE_SIZE = 20
DELETED = {"model": "upload.deleted_model", "version": "upload.deleted_version", "file": "upload.deleted_file"}

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


def uploaded_html(record: ModelRecord, added_version: bool, lang: str) -> str:
    version = record.versions[0]
    file = version.files[0]
    details = (f'{render.text(render.type_label(record.type, lang))} · '
               f'{render.text(render.base_label(version.base_model, lang))} · {render.human_size(file.size, lang)} · '
               f'AutoV2 <code>{render.text(file.autov2.upper())}</code>')
    names = {"name": f"<strong>{render.text(record.name)}</strong>", "details": details,
             "link": link("model", record.id, text("upload.open_model", lang))}
    done = text("upload.added_version", lang, version=f"<strong>{render.text(version.name)}</strong>", **names) \
        if added_version else text("upload.uploaded", lang, **names)
    return f'<div class="va-ok">{done}</div>'


def owned_choices(actor: UserInfo | None) -> list[tuple[str, int]]:
    """The model chooser's choices: every model the actor owns."""
    return [(f"{name} (#{model_id})", model_id) for model_id, name in library.owned_models(actor)]


def my_models_html(page: Page, lang: str) -> str:
    if not page.items:
        return f'<p class="va-muted">{text("upload.none_yet", lang)}</p>'
    return '<div class="va-mine">' + "".join(_my_model_html(m, lang) for m in page.items) + "</div>"


def _my_model_html(model: ModelRecord, lang: str) -> str:
    rows = "".join(
        f"<tr><td>{render.text(v.name)}</td><td>{render.text(f.original_name)}</td>"
        f"<td>{render.human_size(f.size, lang)}</td><td><code>{render.text(f.autov2.upper())}</code></td>"
        f"<td>{render.short_date(f.created_at)}</td></tr>"
        for v in model.versions for f in v.files)
    columns = "".join(f"<th>{text(f'upload.col_{c}', lang)}</th>" for c in ("version", "file", "size"))
    updated = text("upload.updated", lang, date=render.short_date(model.updated_at))
    facts = (f'{render.text(render.type_label(model.type, lang))} · '
             f'{render.text(render.base_label(model.base_model, lang))} · '
             f'{visibility_label(model.visibility, lang)} · '
             f'⬇ {model.download_count} · ♥ {model.like_count} · {updated}')
    return (f'<section class="va-mine-model" data-model-id="{model.id}"><div class="va-mine-head">'
            f'<span class="va-mine-name">{render.text(model.name)}</span><span class="va-muted">{facts}</span></div>'
            f'<table class="va-table"><thead><tr>{columns}<th>AutoV2</th><th>{text("upload.col_uploaded", lang)}</th>'
            f'</tr></thead><tbody>{rows}</tbody></table></section>')


def delete_choices(model: ModelRecord, lang: str) -> list[tuple[str, str]]:
    """What can be deleted from one model: the whole model, one version, or one file."""
    choices = [(text("upload.delete_model", lang, name=model.name, count=len(model.versions)), f"model:{model.id}")]
    for version in model.versions:
        choices.append((text("upload.delete_version", lang, name=version.name), f"version:{version.id}"))
        choices += [(text("upload.delete_file", lang, name=f.original_name, version=version.name), f"file:{f.id}")
                    for f in version.files]
    return choices


def delete_target(value) -> tuple[str, int]:
    kind, _, raw_id = str(value or "").partition(":")
    if kind not in ("model", "version", "file") or not raw_id.isdigit():
        raise InvalidInput("choose what to delete first")
    return kind, int(raw_id)


def store_upload(context: AppContext, actor: UserInfo, file_path: str | None, model_id: int | None,
                 version_name: str | None, fields: ModelFields, progress: gr.Progress, lang: str) -> ModelRecord:
    """Gradio's temp file into the library: a new model, or a new version of ``model_id``."""
    config = context.config
    if not file_path or not Path(file_path).is_file():
        raise InvalidInput("choose a model file first (after a failed upload, choose it again)")
    progress(0.1, desc=text("upload.hashing", lang))
    staged = stage_local_file(config.models_path, Path(file_path), Path(file_path).name, config.max_upload_bytes)
    progress(0.5, desc=text("upload.storing", lang))
    if model_id is None:
        return library_edit.create_model(context.store, config.models_path, actor, staged, fields,
                                         allow_pickle=config.allow_pickle_import)
    return library_edit.add_version(context.store, config.models_path, actor, model_id, staged, version_name or "",
                                    allow_pickle=config.allow_pickle_import)


@dataclass(frozen=True)
class MyUploads:
    """How to refresh the My uploads list (``show`` with ``inputs`` into ``outputs``), and how to open the editor
    on one model (``open_editor`` into ``editor_outputs``: the model chosen, its fields filled)."""

    show: Callable
    inputs: list
    outputs: list
    open_editor: Callable
    editor_outputs: list


@dataclass(frozen=True)
class UploadForm:
    """The upload form's parts that "New version" on a model page sets, and its upload event."""

    uploaded: object  # the upload event, to chain a refresh of My uploads on success
    mode: gr.Radio
    version_row: gr.Row
    fields_column: gr.Column
    target: gr.Dropdown


def build_upload_tab(context: AppContext, links: Links) -> None:
    """The Upload tab with its two parts: a new upload, and My uploads (list, edit, delete); registers the ``edit``
    (``?edit=<model>``) and ``new_version`` (``?new_version=<model>``) destinations with ``links``."""
    with page_tab("upload") as tab:
        who = gr.Markdown(elem_id="upload-who")
        with gr.Tabs() as sections:
            with gr.Tab(label("upload.new_upload"), id="upload-new"):
                form = _build_upload_form(context, links)
            with gr.Tab(label("upload.my_uploads"), id="my-uploads") as mine_tab:
                mine = _build_my_uploads(context)
    upload_event = form.uploaded

    def edit_page(model_id, request: gr.Request, params=None):
        return gr.Tabs(selected="my-uploads"), *mine.open_editor(model_id, request)

    def new_version_page(model_id, request: gr.Request, params=None):
        actor = request_user(context, request)
        choices = [(f"{name} (#{owned})", owned) for owned, name in library.owned_models(actor)]
        chosen = int(model_id) if str(model_id).isdigit() else None
        return (gr.Tabs(selected="upload-new"), "version", gr.Row(visible=True), gr.Column(visible=False),
                gr.Dropdown(choices=choices, value=chosen if chosen in {c for _, c in choices} else None))

    links.destination("edit", "upload", edit_page, [sections, *mine.editor_outputs])
    links.destination("new_version", "upload", new_version_page,
                      [sections, form.mode, form.version_row, form.fields_column, form.target])

    def who_text(request: gr.Request) -> str:
        user = request_user(context, request)
        lang = request_language(request)
        if user is None:
            return text("upload.log_in", lang)
        return text("upload.uploading_as", lang, name=render.text(user.username))

    tab.select(who_text, None, who, api_visibility="private")
    gr.on([tab.select, mine_tab.select], mine.show, mine.inputs, mine.outputs, api_visibility="private")
    upload_event.success(mine.show, mine.inputs, mine.outputs, api_visibility="private")


def _build_upload_form(context: AppContext, links: Links) -> UploadForm:
    """The upload form; its success says what was stored and links to the model's page."""
    gr.Markdown(label("upload.help"))
    file = gr.File(label=label("upload.model_file"), file_types=MODEL_FILE_TYPES, type="filepath",
                   elem_id="upload-file")
    mode = gr.Radio([(label("upload.new_model"), "new"), (label("upload.new_version"), "version")], value="new",
                    label=label("upload.upload_as"), elem_id="upload-mode")
    with gr.Row(visible=False) as version_row:
        target = gr.Dropdown([], label=label("upload.model"), allow_custom_value=True, elem_id="upload-target")
        version_name = gr.Textbox(label=label("upload.version_name"), value="v2", max_length=200,
                                  elem_id="upload-version-name")
    with gr.Column() as fields_column:
        metadata = metadata_inputs("upload", detect=True)
    button = gr.Button(label("upload.upload"), variant="primary", elem_id="upload-button")
    status = links.html(css=LIST_CSS, elem_id="upload-status")

    def upload(file_path, mode, version_name, name, kind, base, visibility, description, tags, trigger_words,
               target=None, request: gr.Request = None, progress=gr.Progress()):
        lang = request_language(request)
        try:
            actor = library_edit.require_login(request_user(context, request))
            model_id = model_id_of(target) if mode == "version" else None
            fields = model_fields(name, kind, base, visibility, description, tags, trigger_words)
            record = store_upload(context, actor, file_path, model_id, version_name, fields, progress, lang)
        except VisionaryError as exc:
            raise gr.Error(message(exc.message, lang)) from None
        return uploaded_html(record, model_id is not None, lang)

    def switch_mode(mode, request: gr.Request):
        is_version = mode == "version"
        actor = request_user(context, request)
        choices = [(f"{name} (#{model_id})", model_id) for model_id, name in library.owned_models(actor)] \
            if is_version and actor else []
        return gr.Row(visible=is_version), gr.Column(visible=not is_version), gr.Dropdown(choices=choices)

    mode.change(switch_mode, mode, [version_row, fields_column, target], api_visibility="private")
    uploaded = button.click(upload, [file, mode, version_name, *metadata.components(), target], status,
                            api_name="upload_model", concurrency_limit=2)
    uploaded.success(lambda: None, None, file, api_visibility="private")
    return UploadForm(uploaded, mode, version_row, fields_column, target)


def _build_my_uploads(context: AppContext) -> MyUploads:
    """My uploads: a paged list, then an editor and a two-step delete for one chosen model."""
    pager = build_pager("my")
    with pager.row:
        refresh = gr.Button(label("upload.refresh"), size="sm", scale=0, min_width=120, elem_id="my-refresh")
    listing = gr.HTML(elem_id="my-uploads-list", css_template=render.BASE_CSS + LIST_CSS, js_on_load=None)
    chosen = gr.Dropdown([], label=label("upload.model_to_edit"), allow_custom_value=True, elem_id="my-model")
    with gr.Accordion(label("upload.edit_metadata"), open=True):
        editor = metadata_inputs("edit", detect=False)
        save = gr.Button(label("upload.save"), variant="primary", elem_id="save-model-button")
    with gr.Accordion(label("upload.licence_section"), open=True):
        licence = licence_inputs("edit")
        save_licence = gr.Button(label("upload.save_licence"), variant="primary", elem_id="save-licence-button")
    with gr.Accordion(label("upload.delete_section"), open=True):
        target = gr.Dropdown([], label=label("upload.what_to_delete"), allow_custom_value=True,
                             elem_id="delete-target")
        confirm = gr.Checkbox(False, label=label("upload.confirm"), elem_id="delete-confirm")
        delete = gr.Button(label("upload.delete"), variant="stop", elem_id="delete-button")
    status = gr.HTML(elem_id="my-uploads-status", css_template=render.BASE_CSS + LIST_CSS, js_on_load=None)

    def show(page: int, request: gr.Request):
        actor = request_user(context, request)
        lang = request_language(request)
        if actor is None:
            return (text("upload.log_in_to_see", lang), "", 1, gr.Button(interactive=False),
                    gr.Button(interactive=False), gr.Dropdown(choices=[]))
        result = library.list_models(actor, ModelQuery(mine=True, page=max(int(page), 1), limit=MY_PAGE_SIZE))
        return my_models_html(result, lang), *pager_values(result, lang), gr.Dropdown(choices=owned_choices(actor))

    list_outputs = [listing, *pager.outputs(), chosen]

    def fill_editor(model_id, request: gr.Request):
        try:
            model = library.get_model(request_user(context, request), model_id_of(model_id))
        except VisionaryError:
            return (*[gr.update()] * len(form), gr.Dropdown(choices=[], value=None), False)
        choices = delete_choices(model, request_language(request))
        return (model.name, model.type, model.base_model, model.visibility, model.description, ", ".join(model.tags),
                ", ".join(model.trigger_words), *licence_values(model.licence), gr.Dropdown(choices=choices, value=None),
                False)

    def open_editor(model_id, request: gr.Request):
        """The editor on one model (one's own, or any for an admin): chosen, with its fields filled."""
        actor = request_user(context, request)
        choices = owned_choices(actor)
        try:
            model = library.get_model(actor, model_id_of(model_id))
        except VisionaryError as exc:
            raise gr.Error(message(exc.message, request_language(request))) from None
        if model.id not in {c for _, c in choices}:
            choices.append((f"{model.name} (#{model.id})", model.id))
        return gr.Dropdown(choices=choices, value=model.id), *fill_editor(model.id, request)

    def edit_model(model_id, name=None, kind=None, base=None, visibility=None, description=None, tags=None,
                   trigger_words=None, request: gr.Request = None):
        lang = request_language(request)
        try:
            record = library_edit.update_model(
                context.store, request_user(context, request), model_id_of(model_id),
                model_fields(name, kind, base, visibility, description, tags, trigger_words))
        except VisionaryError as exc:
            raise gr.Error(message(exc.message, lang)) from None
        saved = text("upload.saved", lang, name=f"<strong>{render.text(record.name)}</strong>")
        return f'<div class="va-ok">{saved}</div>'

    def edit_licence(model_id, no_credit=True, commercial_use=None, derivatives=True, different_license=True,
                     request: gr.Request = None):
        lang = request_language(request)
        try:
            record = library_edit.update_model(
                context.store, request_user(context, request), model_id_of(model_id),
                licence_fields(no_credit, commercial_use, derivatives, different_license))
        except VisionaryError as exc:
            raise gr.Error(message(exc.message, lang)) from None
        saved = text("upload.licence_saved", lang, name=f"<strong>{render.text(record.name)}</strong>")
        return f'<div class="va-ok">{saved}</div>'

    def delete_upload(target_value, confirmed: bool, request: gr.Request):
        deleters = {"model": library_edit.delete_model, "version": library_edit.delete_version,
                    "file": library_edit.delete_file}
        lang = request_language(request)
        try:
            actor = library_edit.require_login(request_user(context, request))
            kind, item_id = delete_target(target_value)
            if not confirmed:
                raise InvalidInput("tick “I understand” to confirm the deletion")
            deleters[kind](context.store, context.config.models_path, actor, item_id)
        except VisionaryError as exc:
            raise gr.Error(message(exc.message, lang)) from None
        return f'<div class="va-ok">{text(DELETED[kind], lang)}</div>'

    def clear_choice():
        return gr.Dropdown(value=None), gr.Dropdown(choices=[], value=None), False

    def previous_page(page: int, request: gr.Request):
        return show(page - 1, request)

    def next_page(page: int, request: gr.Request):
        return show(page + 1, request)

    pager.previous.click(previous_page, pager.number, list_outputs, api_visibility="private")
    pager.next.click(next_page, pager.number, list_outputs, api_visibility="private")
    refresh.click(show, pager.number, list_outputs, api_visibility="private")
    form = [*editor.components(), *licence.components()]
    editor_outputs = [*form, target, confirm]
    chosen.input(fill_editor, chosen, editor_outputs, api_visibility="private")
    saved = save.click(edit_model, [chosen, *editor.components()], status, api_name="edit_model")
    saved.success(show, pager.number, list_outputs, api_visibility="private")
    saved.success(fill_editor, chosen, editor_outputs, api_visibility="private")
    licence_saved = save_licence.click(edit_licence, [chosen, *licence.components()], status,
                                       api_name="edit_licence")
    licence_saved.success(show, pager.number, list_outputs, api_visibility="private")
    licence_saved.success(fill_editor, chosen, editor_outputs, api_visibility="private")
    deleted = delete.click(delete_upload, [target, confirm], status, api_name="delete_upload")
    deleted.success(show, pager.number, list_outputs, api_visibility="private")
    deleted.success(clear_choice, None, [chosen, target, confirm], api_visibility="private")
    return MyUploads(show, [pager.number], list_outputs, open_editor, [chosen, *editor_outputs])
