"""My uploads: one's models in a paged list, an editor (metadata and licence) and a two-step delete of a model,
version or file; ``open_editor`` opens the editor on one model (the model page's Edit, ``?edit=``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import gradio as gr

from core.context import AppContext
from core.errors import InvalidInput, VisionaryError
from core.library import library, library_edit
from core.library.library import ModelQuery
from core.library.model_records import ModelRecord
from core.paging import Page
from core.tables import VISIBILITIES

from . import render
from .i18n import label, message, request_language, text
from .model_form import (
    LIST_CSS,
    licence_fields,
    licence_inputs,
    licence_values,
    metadata_inputs,
    model_fields,
    model_id_of,
    owned_choices,
)
from .model_page import visibility_label
from .pager import build_pager, pager_values
from .session import request_user

MY_PAGE_SIZE = 20
DELETED = {"model": "upload.deleted_model", "version": "upload.deleted_version", "file": "upload.deleted_file"}


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


@dataclass(frozen=True)
class MyUploads:
    """How to refresh the My uploads list (``show`` with ``inputs`` into ``outputs``), and how to open the editor
    on one model (``open_editor`` into ``editor_outputs``: the model chosen, its fields filled)."""

    show: Callable
    inputs: list
    outputs: list
    open_editor: Callable
    editor_outputs: list


def build_my_uploads(context: AppContext) -> MyUploads:
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
        visibility = model.visibility if model.visibility in VISIBILITIES else None  # hidden: a moderator's to change
        return (model.name, model.type, model.base_model, visibility, model.description, ", ".join(model.tags),
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
