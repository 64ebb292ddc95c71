"""Search tab: one box; ranked, paginated results for models, files, people and images.

A model, a file's model, a person or an image opens where it lives (the model page, the profile,
the image page).  Searching is read-only and private to the UI; the services rank and decide what
the viewer may see.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import gradio as gr

from community import follows, people
from community.gallery import ImageQuery, list_images
from core.accounts.accounts import UserInfo
from core.context import AppContext
from core.errors import VisionaryError
from core.library import search
from core.paging import Page

from . import render
from .i18n import label, message, plural, request_language, text
from .image_cards import SHOTS_CSS, images_grid_html
from .links import Links, link, page_tab, user_link
from .model_page import download_url
from .models_tab import GRID_CSS, grid_html
from .pager import Pager, build_pager, pager_values
from .session import request_user

PAGE_SIZE = 20
PEOPLE_CSS = """
.va-people { list-style: none; margin: 0; padding: 0; display: flex; flex-direction: column; gap: 8px; }
.va-person { border: 1px solid var(--border-color-primary); border-radius: 10px; padding: 8px 14px; }
.va-person-bio { overflow-wrap: anywhere; white-space: pre-wrap; }
"""


# The words searched are the page's address (``?q=``).
SEARCH_ADDRESS_JS = """
(words) => {
  const query = words.trim() ? "?" + new URLSearchParams({q: words.trim()}) : "?tab=search";
  window.vaAddress && window.vaAddress.show(JSON.stringify({tab: "search", query}));
  return [];
}
"""


def start_html(lang: str) -> str:
    return f'<p class="va-empty">{render.text(text("search.start", lang))}</p>'


def _empty(name: str, query: str, lang: str) -> str:
    kind = text(f"search.nothing.{name}", lang)
    return f'<p class="va-empty">{render.text(text("search.no_match", lang, kind=kind, query=query))}</p>'


def files_html(page: Page, lang: str) -> str:
    rows = "".join(
        f'<tr><td>{link("model", model_id, file.original_name)}</td><td>{render.human_size(file.size, lang)}</td>'
        f'<td><code>{render.text(file.autov2.upper())}</code></td><td>{render.text(file.format)}</td>'
        f'<td><a href="{download_url(file.version_id, file.id)}" download>{text("search.download", lang)}</a></td>'
        f'</tr>' for model_id, file in page.items)
    columns = "".join(f"<th>{text(f'search.col_{c}', lang)}</th>" for c in ("file", "size"))
    return (f'<table class="va-table"><thead><tr>{columns}<th>AutoV2</th><th>{text("search.col_format", lang)}</th>'
            f'<th></th></tr></thead><tbody>{rows}</tbody></table>')


def people_html(page: Page, lang: str) -> str:
    counts = follows.public_model_counts([user.id for user in page.items])
    items = "".join(
        f'<li class="va-person">{user_link(user.username)} <span class="va-muted">· '
        f'{plural("search.person_models", counts.get(user.id, 0), lang)} · '
        f'{text("search.joined", lang, date=render.short_date(user.created_at))}</span>'
        f'<div class="va-person-bio">{render.text(user.bio[:300])}</div></li>' for user in page.items)
    return f'<ul class="va-people">{items}</ul>'


@dataclass(frozen=True)
class Kind:
    """One kind of result: how to search one page, and how to show it in a language."""

    find: Callable[[UserInfo | None, str, int], Page]
    html: Callable[[Page, str], str]


def find_models(actor: UserInfo | None, text: str, page: int) -> Page:
    return search.search_models(actor, text, page, PAGE_SIZE)


def find_files(actor: UserInfo | None, text: str, page: int) -> Page:
    return search.search_files(actor, text, page, PAGE_SIZE)


def find_people(actor: UserInfo | None, text: str, page: int) -> Page:
    return people.search_users(text, page, PAGE_SIZE)


def find_images(actor: UserInfo | None, text: str, page: int) -> Page:
    return list_images(actor, ImageQuery(query=text, sort="relevance", page=page, limit=PAGE_SIZE))


KINDS = {
    "models": Kind(find_models, lambda page, lang: grid_html(page.items, lang)),
    "files": Kind(find_files, files_html),
    "people": Kind(find_people, people_html),
    "images": Kind(find_images, lambda page, lang: images_grid_html(page.items, "", lang)),
}


@dataclass(frozen=True)
class ResultList:
    name: str  # the key of its ``Kind`` in ``KINDS``, and of its texts (``search.<name>``, ``pager.<name>``)
    kind: Kind
    tab: gr.Tab
    html: gr.HTML
    pager: Pager

    def outputs(self) -> list:
        return [self.tab, self.html, *self.pager.outputs()]

    def values(self, actor: UserInfo | None, query: str, page: int, lang: str) -> tuple:
        tab_label = text(f"search.{self.name}", lang)
        if not query.strip():
            return (gr.Tab(label=tab_label), start_html(lang), "", 1, gr.Button(interactive=False),
                    gr.Button(interactive=False))
        result = self.kind.find(actor, query, max(int(page), 1))
        html = self.kind.html(result, lang) if result.items else _empty(self.name, query, lang)
        return gr.Tab(label=f"{tab_label} ({result.total})"), html, *pager_values(result, lang, self.name)


def _result_list(name: str, kind: Kind, links: Links) -> ResultList:
    with gr.Tab(label(f"search.{name}"), id=f"search-{name}") as tab:
        html = links.html(css=GRID_CSS + SHOTS_CSS + PEOPLE_CSS, elem_id=f"search-{name}-results")
        pager = build_pager(f"search-{name}")
    return ResultList(name, kind, tab, html, pager)


def build_search_tab(context: AppContext, links: Links) -> None:
    with page_tab("search") as tab:
        with gr.Row(equal_height=True):
            box = gr.Textbox(show_label=False, placeholder=label("search.placeholder"), scale=4, max_length=500,
                             elem_id="search-query")
            go = gr.Button(label("search.button"), variant="primary", scale=0, min_width=120,
                           elem_id="search-button")
        with gr.Tabs(elem_id="search-results"):
            lists = [_result_list(name, kind, links) for name, kind in KINDS.items()]
        query = gr.State("")

    def run(words: str, request: gr.Request):
        actor = request_user(context, request)
        lang = request_language(request)
        words = (words or "").strip()
        try:
            return words, *(value for results in lists for value in results.values(actor, words, 1, lang))
        except VisionaryError as exc:
            raise gr.Error(message(exc.message, lang)) from None

    def open_page(words: str, request: gr.Request, params=None):
        """The ``search`` destination of ``ui.links`` (``?q=``): the box filled in and its results."""
        return words, *run(words, request)

    outputs = [query, *(o for results in lists for o in results.outputs())]
    links.destination("search", "search", open_page, [box, *outputs], param="q")
    gr.on([box.submit, go.click], run, box, outputs, api_visibility="private", trigger_mode="always_last")
    gr.on([box.submit, go.click], None, box, None, js=SEARCH_ADDRESS_JS)
    tab.select(run, query, outputs, api_visibility="private")
    for results in lists:
        _wire_pager(context, results, query)


def _wire_pager(context: AppContext, results: ResultList, query: gr.State) -> None:
    def turn(step: int):
        def page_of(words: str, page: int, request: gr.Request):
            lang = request_language(request)
            try:
                return results.values(request_user(context, request), words, page + step, lang)
            except VisionaryError as exc:
                raise gr.Error(message(exc.message, lang)) from None
        return page_of

    inputs = [query, results.pager.number]
    results.pager.previous.click(turn(-1), inputs, results.outputs(), api_visibility="private")
    results.pager.next.click(turn(1), inputs, results.outputs(), api_visibility="private")
