"""The model page: description (safe Markdown), details, permissions (the licence), versions, files with hashes,
training metadata, downloads."""

from __future__ import annotations

from dataclasses import dataclass

import gradio as gr

from core.library.model_records import FileRecord, Licence, ModelRecord, VersionRecord

from . import render
from .i18n import label, plural, text
from .links import NOT_FOUND_CSS, Links, copy_link_button, link
from .reviews_section import summary_text

# Each commercial use (Civitai's CommercialUse values) and its line in the permissions list and the editor.
COMMERCIAL_USE_KEYS = {"Image": "licence.use_image", "Rent": "licence.use_rent",
                       "RentCivit": "licence.use_rentcivit", "Sell": "licence.use_sell"}
SCAN_KEYS = {"safe": "scan.safe", "found in models folder": "scan.found", "shipped with Visionary Art": "scan.shipped"}

PAGE_CSS = """
.va-model { display: grid; grid-template-columns: minmax(0, 2.2fr) minmax(240px, 1fr); gap: 24px; }
@media (max-width: 900px) { .va-model { grid-template-columns: minmax(0, 1fr); } }
.va-model h2 { margin: 0 0 4px; font-size: 1.7em; overflow-wrap: anywhere; }
.va-model h3 { margin: 20px 0 8px; }
.va-main > .va-badges { margin: 8px 0 12px; }
.va-description { line-height: 1.55; overflow-wrap: anywhere; padding: 12px 16px; border-radius: 10px;
  background: var(--background-fill-secondary); }
.va-description img { max-width: 100%; }
.va-description table { border-collapse: collapse; }
.va-description table, .va-description tr, .va-description th, .va-description td {
  border: 1px solid var(--border-color-primary); padding: 4px 8px; }
.va-side { display: flex; flex-direction: column; gap: 12px; }
.va-side-cover { width: 100%; border-radius: 10px; display: block; }
.va-facts { display: grid; grid-template-columns: auto 1fr; gap: 6px 12px; margin: 0; padding: 12px 16px;
  border: 1px solid var(--border-color-primary); border-radius: 10px; }
.va-facts dt { color: var(--body-text-color-subdued); }
.va-facts dd { margin: 0; overflow-wrap: anywhere; }
.va-chip { display: inline-block; margin: 0 4px 4px 0; padding: 1px 8px; border-radius: 6px;
  background: var(--background-fill-secondary); border: 1px solid var(--border-color-primary); font-size: .9em; }
button.va-chip-link { cursor: pointer; font: inherit; font-size: .9em; color: var(--link-text-color, var(--color-accent)); }
button.va-chip-link:hover, button.va-chip-link:focus-visible { text-decoration: underline; }
.va-version { border: 1px solid var(--border-color-primary); border-radius: 10px; padding: 4px 16px 12px;
  margin-bottom: 16px; }
.va-version-shown { border: 2px solid var(--color-accent); }
.va-file { border-top: 1px solid var(--border-color-primary); padding-top: 10px; margin-top: 10px; }
.va-file-head { display: flex; flex-wrap: wrap; align-items: center; gap: 8px 16px; }
.va-file-name { font-weight: 600; overflow-wrap: anywhere; }
.va-download { margin-left: auto; padding: 6px 14px; border-radius: 8px; font-weight: 600; text-decoration: none;
  background: var(--button-primary-background-fill); color: var(--button-primary-text-color) !important; }
.va-download:hover { background: var(--button-primary-background-fill-hover); }
.va-hashes { display: grid; grid-template-columns: auto 1fr; gap: 2px 12px; margin: 8px 0; }
.va-hashes dt { color: var(--body-text-color-subdued); }
.va-hashes dd { margin: 0; font-family: var(--font-mono); font-size: .85em; overflow-wrap: anywhere; }
.va-licence { margin: 0; padding: 12px 16px; border: 1px solid var(--border-color-primary); border-radius: 10px; }
.va-licence h4 { margin: 0 0 4px; }
.va-licence ul { list-style: none; margin: 6px 0 0; padding: 0; display: flex; flex-direction: column; gap: 4px; }
.va-licence li { display: flex; gap: 8px; align-items: baseline; }
.va-licence .va-mark { width: 1.2em; flex: none; text-align: center; font-weight: 700; }
.va-licence .va-yes .va-mark { color: #16a34a; }
.va-licence .va-no { color: var(--body-text-color-subdued); }
.va-licence .va-no .va-mark { color: #dc2626; }
.va-training summary { cursor: pointer; font-weight: 600; margin: 6px 0; }
.va-meta th { width: 1%; font-family: var(--font-mono); font-weight: 500; white-space: nowrap; }
.va-meta-value { max-height: 9em; overflow: auto; white-space: pre-wrap; overflow-wrap: anywhere;
  font-family: var(--font-mono); }
"""


@dataclass(frozen=True)
class ModelPage:
    """The page area inside the Models tab, hidden until a card is clicked."""

    column: gr.Column
    back: gr.Button
    body: gr.HTML
    toolbar: gr.Row  # the back button's row, for buttons about the shown model
    details: gr.Column  # what follows the body (samples, comments): hidden on the not-found page
    forms: gr.Column  # under the toolbar: forms its buttons open (Report)


def build_model_page(links: Links) -> ModelPage:
    with gr.Column(visible=False, elem_id="model-page") as column:
        with gr.Row() as toolbar:
            back = gr.Button(label("model.all_models"), size="sm", scale=0, min_width=140, elem_id="model-page-back")
            copy_link_button("model-copy-link")
        forms = gr.Column(elem_id="model-page-forms")
        body = links.html(css=PAGE_CSS + NOT_FOUND_CSS, elem_id="model-page-body")
        details = gr.Column(elem_id="model-page-details")
    return ModelPage(column, back, body, toolbar, details, forms)


def download_url(version_id: int, file_id: int) -> str:
    return f"/api/download/models/{version_id}?fileId={file_id}"


def visibility_label(visibility: str, lang: str) -> str:
    return text(f"visibility.{visibility}", lang) if visibility in ("public", "private", "hidden") else visibility


def _facts(model: ModelRecord, lang: str) -> str:
    rows = [("type", render.type_label(model.type, lang)), ("base_model", render.base_label(model.base_model, lang)),
            ("creator", model.owner), ("visibility", visibility_label(model.visibility, lang)),
            ("downloads", model.download_count), ("likes", model.like_count), ("comments", model.comment_count),
            ("created", render.short_date(model.created_at)), ("updated", render.short_date(model.updated_at))]
    cells = "".join(f"<dt>{text(f'model.{name}', lang)}</dt><dd>{render.text(value)}</dd>" for name, value in rows)
    return f'<dl class="va-facts">{cells}</dl>'


def licence_lines(licence: Licence) -> list[tuple[str, bool]]:
    """The permissions list, Civitai's lines in Civitai's order: (translation key, allowed)."""
    uses = licence.allow_commercial_use
    return [("licence.no_credit", licence.allow_no_credit), ("licence.use_image", "Image" in uses),
            ("licence.use_rent", "Rent" in uses), ("licence.use_rentcivit", "RentCivit" in uses),
            ("licence.derivatives", licence.allow_derivatives), ("licence.use_sell", "Sell" in uses),
            ("licence.different_license", licence.allow_different_license)]


def _licence(licence: Licence, lang: str) -> str:
    items = []
    for key, allowed in licence_lines(licence):
        mark, state = ("✓", "allowed") if allowed else ("✗", "not_allowed")
        items.append(f'<li class="va-{"yes" if allowed else "no"}" data-licence="{key[8:]}">'
                     f'<span class="va-mark" role="img" aria-label="{text(f"licence.{state}", lang)}">{mark}</span> '
                     f'<span>{text(key, lang)}</span></li>')
    return (f'<section class="va-licence"><h4>{text("licence.heading", lang)}</h4>'
            f'<div class="va-muted">{text("licence.intro", lang)}</div><ul>{"".join(items)}</ul></section>')


def _chips(title: str, values: tuple[str, ...], css_class: str, opens: str | None = None) -> str:
    """A row of chips; with ``opens`` (``"tag"``) each is a link to that page."""
    if not values:
        return ""
    if opens:
        chips = "".join(link(opens, v, v, "va-chip va-chip-link") for v in values)
    else:
        chips = "".join(f'<span class="va-chip">{render.text(v)}</span>' for v in values)
    return f'<div class="{css_class}"><div class="va-muted">{title}</div>{chips}</div>'


def _training_metadata(file: FileRecord, lang: str) -> str:
    if not file.metadata:
        return ""
    rows = "".join(f'<tr><th scope="row">{render.text(key)}</th>'
                   f'<td><div class="va-meta-value">{render.text(value)}</div></td></tr>'
                   for key, value in sorted(file.metadata.items()))
    return (f'<details class="va-training" open><summary>{plural("model.training_metadata", len(file.metadata), lang)}'
            f'</summary><table class="va-table va-meta">{rows}</table></details>')


def _download(version_id: int, file: FileRecord, lang: str) -> str:
    if file.format == "diffusers":
        return f'<span class="va-muted">{text("model.diffusers_folder", lang)}</span>'
    return (f'<a class="va-download" href="{download_url(version_id, file.id)}" download '
            f'data-file-id="{file.id}">{text("model.download", lang, size=render.human_size(file.size, lang))}</a>')


def scan_label(scan_result: str, lang: str) -> str:
    """A file's scan result in ``lang`` (one with details in it, such as a conversion, stays as stored)."""
    key = SCAN_KEYS.get(scan_result)
    return text(key, lang) if key else scan_result


def _file_html(version_id: int, file: FileRecord, lang: str) -> str:
    scan = text("model.scan", lang, result=render.text(scan_label(file.scan_result, lang)))
    return (
        f'<div class="va-file" data-file-id="{file.id}"><div class="va-file-head">'
        f'<span class="va-file-name">{render.text(file.original_name)}</span>'
        f'<span class="va-muted">{render.human_size(file.size, lang)} · {render.text(file.format)} · '
        f'{scan}</span>{_download(version_id, file, lang)}</div>'
        f'<dl class="va-hashes"><dt>SHA-256</dt><dd class="va-sha256">{render.text(file.sha256.upper())}</dd>'
        f'<dt>AutoV2</dt><dd class="va-autov2">{render.text(file.autov2.upper())}</dd></dl>'
        f'{_training_metadata(file, lang)}</div>')


def _version_html(version: VersionRecord, lang: str, shown: bool = False) -> str:
    files = "".join(_file_html(version.id, f, lang) for f in version.files)
    downloads = plural("model.version_downloads", version.download_count, lang)
    css_class = "va-version va-version-shown" if shown else "va-version"
    return (f'<section class="{css_class}" data-version-id="{version.id}"><h3>{render.text(version.name)} '
            f'<span class="va-muted">· {render.text(render.base_label(version.base_model, lang))} · '
            f'{render.short_date(version.created_at)} · {downloads}</span></h3>{files}</section>')


def _cover(model: ModelRecord) -> str:
    cover = render.cover_url(model)
    if not cover:
        return ""
    return f'<img class="va-side-cover" src="{render.text(cover)}" alt="" data-rating="{model.rating}">'


def private_badge(lang: str, visibility: str = "private") -> str:
    """The badge of what only some people see: a private model or picture, or one a moderator hid."""
    return f'<span class="va-badge va-badge-private">{visibility_label(visibility, lang)}</span>'


def model_page_html(model: ModelRecord, lang: str, version_id: int | None = None) -> str:
    """The page of ``model``; the version ``version_id`` (an address's ``&version=``) first and marked."""
    private = private_badge(lang, model.visibility) if model.visibility != "public" else ""
    description = render.markdown(model.description) if model.description.strip() else \
        f'<p class="va-muted">{text("model.no_description", lang)}</p>'
    ordered = sorted(model.versions, key=lambda v: v.id != version_id)
    versions = "".join(_version_html(v, lang, shown=v.id == version_id) for v in ordered)
    return (
        f'<article class="va-model" data-model-id="{model.id}"><div class="va-main">'
        f'<h2 class="va-title">{render.text(model.name)}</h2>'
        f'<div class="va-muted">{text("model.by", lang)} <strong>{render.text(model.owner)}</strong> · '
        f'♥ {model.like_count} · ⬇ {model.download_count} · '
        f'{render.text(summary_text(model.thumbs_up, model.thumbs_down, lang))}</div>'
        f'<div class="va-badges"><span class="va-badge va-badge-type">'
        f'{render.text(render.type_label(model.type, lang))}</span><span class="va-badge">'
        f'{render.text(render.base_label(model.base_model, lang))}</span>{private}'
        f'{render.rating_badge(model.rating, lang)}</div>'
        f'<div class="va-description">{description}</div>'
        f'<h3>{text("model.versions_and_files", lang)}</h3>{versions}</div>'
        f'<aside class="va-side">{_cover(model)}{_facts(model, lang)}{_licence(model.licence, lang)}'
        f'{_chips(text("model.trigger_words", lang), model.trigger_words, "va-triggers")}'
        f'{_chips(text("model.tags", lang), model.tags, "va-tags", opens="tag")}</aside></article>')
