"""Upload tab: upload a model file (a new model, or a new version of one's own) and manage "My uploads".

Uploading, editing and deleting are public API events (``upload_model``, ``edit_model``, ``edit_licence``,
``delete_upload``); each resolves the user from the request's session on the server and
leaves every rule to core.library.library_edit.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import gradio as gr

from core.accounts.accounts import UserInfo
from core.context import AppContext
from core.errors import InvalidInput, VisionaryError
from core.library import library, library_edit
from core.library.ingest import stage_local_file
from core.library.library_edit import ModelFields
from core.library.model_records import ModelRecord

from . import render
from .i18n import label, message, request_language, text
from .links import Links, link, page_tab
from .model_form import LIST_CSS, metadata_inputs, model_fields, model_id_of
from .my_uploads import build_my_uploads
from .session import request_user

MODEL_FILE_TYPES = [".safetensors", ".ckpt", ".pt", ".pth", ".bin"]


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
                mine = build_my_uploads(context)
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
