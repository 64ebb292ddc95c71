"""Models tab: a grid of model cards with filters, sorts and pages; a click opens the model page."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import gradio as gr

from core.context import AppContext
from core.errors import InvalidInput, NotFound, VisionaryError
from core.library import library, library_edit
from core.library.library import ModelQuery
from core.library.model_filters import ModelFilters
from core.library.model_records import ModelRecord

from . import render
from .i18n import label, message, request_language, text
from .links import SAVEABLE_CSS, Links, not_found_html, page_tab, saveable, tab_address
from .model_page import build_model_page, model_page_html, private_badge
from .pager import build_pager, pager_values
from .session import request_user
from .social import mount_model_social

PAGE_SIZE = 24
SORTS = ("newest", "most_liked", "most_downloaded", "most_discussed", "highest_rated")

# Cards are buttons (keyboard-focusable); a click anywhere on one asks the server for that model's page, a click
# on its Save button too, with the page's "Save to collection" opened (``links.saveable``).
CARD_CLICK_JS = """
element.addEventListener('click', (event) => {
  const save = event.target.closest('[data-save]');
  const card = save || event.target.closest('[data-model-id]');
  if (!card || !element.contains(card)) return;
  window.vaCollect = save ? 'model-collect' : null;
  trigger('click', {model_id: Number(card.dataset.modelId || card.dataset.item)});
});
"""

# A tag typed in the filter is the page's address (``?tag=``), as a tag clicked on a model page is.
TAG_ADDRESS_JS = """
(tag) => {
  const query = tag.trim() ? "?" + new URLSearchParams({tag: tag.trim()}) : "?tab=models";
  window.vaAddress && window.vaAddress.show(JSON.stringify({tab: "models", query}));
  return [];
}
"""

GRID_CSS = """
.va-grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(210px, 1fr)); gap: 16px; }
.va-card { display: flex; flex-direction: column; padding: 0; text-align: left; cursor: pointer; overflow: hidden;
  border: 1px solid var(--border-color-primary); border-radius: 12px; background: var(--block-background-fill);
  color: var(--body-text-color); font: inherit; transition: transform .12s ease, box-shadow .12s ease; }
.va-card:hover, .va-card:focus-visible { transform: translateY(-2px); box-shadow: 0 6px 18px rgba(0,0,0,.15);
  outline: 2px solid var(--color-accent); outline-offset: -2px; }
.va-cover { display: block; aspect-ratio: 4 / 3; width: 100%; background: var(--background-fill-secondary); }
.va-cover img { width: 100%; height: 100%; object-fit: cover; display: block; }
.va-placeholder { display: flex; align-items: center; justify-content: center; font-size: 1.6em; font-weight: 700;
  letter-spacing: .04em; color: rgba(255,255,255,.92);
  background: linear-gradient(135deg, var(--va-from, #6366f1), var(--va-to, #ec4899)); }
.va-type-checkpoint { --va-from: #4f46e5; --va-to: #0ea5e9; }
.va-type-lora { --va-from: #db2777; --va-to: #f59e0b; }
.va-type-embedding { --va-from: #059669; --va-to: #84cc16; }
.va-type-vae { --va-from: #7c3aed; --va-to: #14b8a6; }
.va-type-other { --va-from: #475569; --va-to: #94a3b8; }
.va-card-body { display: flex; flex-direction: column; gap: 6px; padding: 10px 12px 12px; }
.va-name { display: block; font-weight: 600; font-size: 1.05em; line-height: 1.25; overflow-wrap: anywhere; }
.va-creator { font-size: .85em; color: var(--body-text-color-subdued); overflow-wrap: anywhere; }
.va-stats { display: flex; gap: 12px; font-size: .85em; color: var(--body-text-color-subdued); }
.va-empty { padding: 32px; text-align: center; color: var(--body-text-color-subdued); }
"""


@dataclass(frozen=True)
class Filters:
    query: str
    kind: str
    base_model: str
    tag: str
    creator: str
    sort: str
    period: str = "AllTime"

    def to_query(self, page: int) -> ModelQuery:
        return ModelQuery(query=self.query or "", types=(self.kind,) if self.kind else (),
                          base_models=(self.base_model,) if self.base_model else (), tag=(self.tag or "").strip(),
                          username=(self.creator or "").strip(), sort=self.sort or "newest", page=page,
                          limit=PAGE_SIZE, filters=ModelFilters(period=self.period or "AllTime"))


def cover_html(model: ModelRecord, lang: str) -> str:
    if cover := render.cover_url(model):
        return f'<span class="va-cover"><img src="{render.text(cover)}" alt="" ' \
               f'loading="lazy"></span>'
    return f'<span class="va-cover va-placeholder va-type-{render.text(model.type)}" aria-hidden="true">' \
           f'{render.text(render.type_label(model.type, lang))}</span>'


def _thumbs(model: ModelRecord) -> str:
    """The share of reviews recommending it (nothing before the first review)."""
    count = model.thumbs_up + model.thumbs_down
    return f'<span class="va-thumbs">👍 {round(100 * model.thumbs_up / count)}%</span>' if count else ""


def card_html(model: ModelRecord, lang: str) -> str:
    private = private_badge(lang, model.visibility) if model.visibility != "public" else ""
    return (
        f'<button type="button" class="va-card" data-model-id="{model.id}" data-rating="{model.rating}" '
        f'aria-label="{render.text(text("models.open_model", lang, name=model.name))}">{cover_html(model, lang)}'
        f'<span class="va-card-body"><span class="va-name">{render.text(model.name)}</span>'
        f'<span class="va-badges"><span class="va-badge va-badge-type">'
        f'{render.text(render.type_label(model.type, lang))}</span><span class="va-badge va-badge-base">'
        f'{render.text(render.base_label(model.base_model, lang))}</span>{private}'
        f'{render.rating_badge(model.rating, lang)}</span>'
        f'<span class="va-creator">{render.text(text("models.by", lang, name=model.owner))}</span>'
        f'<span class="va-stats"><span title="{text("models.likes", lang)}">♥ {model.like_count}</span>'
        f'<span title="{text("models.downloads", lang)}">⬇ {model.download_count}</span>{_thumbs(model)}'
        f'</span></span></button>')


def saveable_card_html(model: ModelRecord, lang: str) -> str:
    return saveable(card_html(model, lang), "model", model.id, lang)


def grid_html(models: tuple[ModelRecord, ...], lang: str) -> str:
    if not models:
        return f'<p class="va-empty">{text("models.empty", lang)}</p>'
    return '<div class="va-grid">' + "".join(saveable_card_html(m, lang) for m in models) + "</div>"


def library_id(value) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise InvalidInput("choose a model card") from None


def filter_choices(everything: str, choices: list) -> list:
    """A filter's choices: "All ..." (the empty value), then ``choices``."""
    return [(label(everything), ""), *choices]


def build_models_tab(context: AppContext, links: Links) -> None:
    """The Models tab: filters, card grid and pager; a card opens the model page in the same tab (and
    ``links`` can open one from other tabs)."""
    with page_tab("models") as tab:
        with gr.Column() as browse:
            with gr.Row(equal_height=True):
                query = gr.Textbox(label=label("models.search"), placeholder=label("models.search_placeholder"),
                                   scale=2, elem_id="models-query")
                kind = gr.Dropdown(filter_choices("models.all_types", render.type_choices()), value="",
                                   label=label("models.type"), elem_id="models-type")
                base = gr.Dropdown(filter_choices("models.all_base_models", render.base_choices()), value="",
                                   label=label("models.base_model"), elem_id="models-base")
                tag = gr.Textbox(label=label("models.tag"), elem_id="models-tag")
                creator = gr.Textbox(label=label("models.creator"), elem_id="models-creator")
                sort = gr.Dropdown(render.sort_choices(SORTS), value="newest", label=label("models.sort"),
                                   elem_id="models-sort")
                period = gr.Dropdown(render.period_choices(), value="AllTime", label=label("models.period"),
                                     elem_id="models-period")
            grid = gr.HTML(elem_id="model-grid", css_template=render.BASE_CSS + GRID_CSS + SAVEABLE_CSS,
                           js_on_load=CARD_CLICK_JS)
            pager = build_pager("models")
        model_page = build_model_page(links)
        social = mount_model_social(context, model_page, links)

    filters = [query, kind, base, tag, creator, sort, period]
    grid_outputs = [grid, *pager.outputs()]

    def show(query, kind, base, tag, creator, sort, period, page: int, request: gr.Request):
        actor = request_user(context, request)
        lang = request_language(request)
        selected = Filters(query, kind, base, tag, creator, sort, period or "AllTime")
        try:
            result = library.list_models(actor, selected.to_query(max(int(page), 1)))
            if not result.items and result.page > result.total_pages:
                result = library.list_models(actor, selected.to_query(result.total_pages))
        except VisionaryError as exc:
            raise gr.Error(message(exc.message, lang)) from None
        return grid_html(result.items, lang), *pager_values(result, lang)

    def first_page(query, kind, base, tag, creator, sort, period, request: gr.Request):
        return show(query, kind, base, tag, creator, sort, period, 1, request)

    def previous_page(query, kind, base, tag, creator, sort, period, page: int, request: gr.Request):
        return show(query, kind, base, tag, creator, sort, period, page - 1, request)

    def next_page(query, kind, base, tag, creator, sort, period, page: int, request: gr.Request):
        return show(query, kind, base, tag, creator, sort, period, page + 1, request)

    def show_model(model_id, request: gr.Request, params: Mapping[str, str]):
        """The model page (``params``: an address's ``version``), or the not-found page when the model does not
        exist or is hidden from the viewer."""
        actor = request_user(context, request)
        lang = request_language(request)
        try:
            model = library.get_model(actor, library_id(model_id))
        except (NotFound, InvalidInput):
            return (gr.Column(visible=False), gr.Column(visible=True), not_found_html("model", lang),
                    gr.Column(visible=False), *social.not_found_values())
        except VisionaryError as exc:
            raise gr.Error(message(exc.message, lang)) from None
        version = params.get("version")
        return (gr.Column(visible=False), gr.Column(visible=True),
                model_page_html(model, lang, int(version) if str(version).isdigit() else None),
                gr.Column(visible=True), *social.values(actor, model, lang))

    def show_tag(tag_name, request: gr.Request, params: Mapping[str, str]):
        """The grid of the models with one tag (every other filter cleared): the ``tag`` destination."""
        grid_values = show("", "", "", tag_name, "", "newest", "AllTime", 1, request)
        return (gr.Column(visible=True), gr.Column(visible=False), "", "", "", tag_name, "", "newest", "AllTime",
                *grid_values)

    def open_model(event: gr.EventData, request: gr.Request):
        model_id = getattr(event, "model_id", None)
        return *show_model(model_id, request, {}), links.address_of("model", model_id)

    gr.on([tab.select, query.submit, tag.submit, creator.submit, kind.input, base.input, sort.input, period.input],
          first_page, filters, grid_outputs, api_visibility="private", trigger_mode="always_last")
    pager.previous.click(previous_page, [*filters, pager.number], grid_outputs, api_visibility="private")
    pager.next.click(next_page, [*filters, pager.number], grid_outputs, api_visibility="private")
    page_outputs = [browse, model_page.column, model_page.body, model_page.details, *social.outputs()]
    grid.click(open_model, None, [*page_outputs, links.address], api_visibility="private")
    links.destination("model", "models", show_model, page_outputs, extras=("version",))
    links.destination("tag", "models", show_tag, [browse, model_page.column, *filters, *grid_outputs])
    tag.submit(None, tag, None, js=TAG_ADDRESS_JS)
    model_page.back.click(lambda: (gr.Column(visible=True), gr.Column(visible=False), tab_address("models")), None,
                          [browse, model_page.column, links.address], api_visibility="private")

    def delete_model(model_id, request: gr.Request):
        """The shown model deleted (its owner's or an admin's second click); back to the grid."""
        lang = request_language(request)
        try:
            library_edit.delete_model(context.store, context.config.models_path, request_user(context, request),
                                      library_id(model_id))
        except VisionaryError as exc:
            raise gr.Error(message(exc.message, lang)) from None
        gr.Info(text("model.deleted", lang))
        return gr.Column(visible=True), gr.Column(visible=False), tab_address("models")

    deleted = social.owner_controls.confirm.click(delete_model, social.model_id,
                                                  [browse, model_page.column, links.address], api_name="delete_model")
    deleted.success(first_page, filters, grid_outputs, api_visibility="private")
