"""Search tab: one box; ranked, paginated results for models, files, people and images.

A model, a file's model, a person or an image opens where it lives (the model page, the profile,
the image page).  Searching is read-only and private to the UI; the services rank and decide what
the viewer may see.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import gradio as gr

from community import follows, search
from community.accounts import UserInfo
from community.gallery import ImageQuery, list_images
from core.context import AppContext
from core.errors import VisionaryError
from core.library import Page

from . import render
from .gallery_tab import SHOTS_CSS, images_grid_html
from .links import Links, link, user_link
from .model_page import download_url
from .models_tab import GRID_CSS, grid_html
from .pager import Pager, build_pager, pager_values
from .session import request_user

PAGE_SIZE = 20
START = "Type a few words above: model names, tags, trigger words, file names, people or prompt words."
PEOPLE_CSS = """
.va-people { list-style: none; margin: 0; padding: 0; display: flex; flex-direction: column; gap: 8px; }
.va-person { border: 1px solid var(--border-color-primary); border-radius: 10px; padding: 8px 14px; }
.va-person-bio { overflow-wrap: anywhere; white-space: pre-wrap; }
"""


def _empty(noun: str, text: str) -> str:
    return (f'<p class="va-empty">No {render.text(noun)} match “{render.text(text)}”. Try fewer or shorter words: '
            f'the start of a word is enough.</p>')


def files_html(page: Page) -> str:
    rows = "".join(
        f'<tr><td>{link("model", model_id, file.original_name)}</td><td>{render.human_size(file.size)}</td>'
        f'<td><code>{render.text(file.autov2.upper())}</code></td><td>{render.text(file.format)}</td>'
        f'<td><a href="{download_url(file.version_id, file.id)}" download>Download</a></td></tr>'
        for model_id, file in page.items)
    return (f'<table class="va-table"><thead><tr><th>File (opens its model)</th><th>Size</th><th>AutoV2</th>'
            f'<th>Format</th><th></th></tr></thead><tbody>{rows}</tbody></table>')


def people_html(page: Page) -> str:
    counts = follows.public_model_counts([user.id for user in page.items])
    items = "".join(
        f'<li class="va-person">{user_link(user.username)} <span class="va-muted">· {counts.get(user.id, 0)} public '
        f'models · joined {render.short_date(user.created_at)}</span>'
        f'<div class="va-person-bio">{render.text(user.bio[:300])}</div></li>' for user in page.items)
    return f'<ul class="va-people">{items}</ul>'


@dataclass(frozen=True)
class Kind:
    """One kind of result: its tab's label, how to search one page, and how to show it."""

    label: str
    noun: str
    plural: str
    find: Callable[[UserInfo | None, str, int], Page]
    html: Callable[[Page], str]


def find_models(actor: UserInfo | None, text: str, page: int) -> Page:
    return search.search_models(actor, text, page, PAGE_SIZE)


def find_files(actor: UserInfo | None, text: str, page: int) -> Page:
    return search.search_files(actor, text, page, PAGE_SIZE)


def find_people(actor: UserInfo | None, text: str, page: int) -> Page:
    return search.search_users(text, page, PAGE_SIZE)


def find_images(actor: UserInfo | None, text: str, page: int) -> Page:
    return list_images(actor, ImageQuery(query=text, sort="relevance", page=page, limit=PAGE_SIZE))


KINDS = {
    "models": Kind("Models", "model", "models", find_models, lambda page: grid_html(page.items)),
    "files": Kind("Files", "file", "files", find_files, files_html),
    "people": Kind("People", "person", "people", find_people, people_html),
    "images": Kind("Images", "image", "images", find_images, lambda page: images_grid_html(page.items, "")),
}


@dataclass(frozen=True)
class ResultList:
    kind: Kind
    tab: gr.Tab
    html: gr.HTML
    pager: Pager

    def outputs(self) -> list:
        return [self.tab, self.html, *self.pager.outputs()]

    def values(self, actor: UserInfo | None, text: str, page: int) -> tuple:
        if not text.strip():
            return (gr.Tab(label=self.kind.label), f'<p class="va-empty">{render.text(START)}</p>', "", 1,
                    gr.Button(interactive=False), gr.Button(interactive=False))
        result = self.kind.find(actor, text, max(int(page), 1))
        html = self.kind.html(result) if result.items else _empty(self.kind.plural, text)
        return (gr.Tab(label=f"{self.kind.label} ({result.total})"), html,
                *pager_values(result, self.kind.noun, self.kind.plural))


def _result_list(name: str, kind: Kind, links: Links) -> ResultList:
    with gr.Tab(kind.label, id=f"search-{name}") as tab:
        html = links.html(value=f'<p class="va-empty">{render.text(START)}</p>', css=GRID_CSS + SHOTS_CSS + PEOPLE_CSS,
                          elem_id=f"search-{name}-results")
        pager = build_pager(f"search-{name}")
    return ResultList(kind, tab, html, pager)


def build_search_tab(context: AppContext, links: Links) -> None:
    with gr.Tab("Search", id="search"):
        with gr.Row(equal_height=True):
            box = gr.Textbox(show_label=False, placeholder="Search models, files, people and image prompts…",
                             scale=4, max_length=500, elem_id="search-query")
            go = gr.Button("Search", variant="primary", scale=0, min_width=120, elem_id="search-button")
        with gr.Tabs(elem_id="search-results"):
            lists = [_result_list(name, kind, links) for name, kind in KINDS.items()]
        query = gr.State("")

    def run(text: str, request: gr.Request):
        actor = request_user(context, request)
        text = (text or "").strip()
        try:
            return text, *(value for results in lists for value in results.values(actor, text, 1))
        except VisionaryError as exc:
            raise gr.Error(exc.message) from None

    gr.on([box.submit, go.click], run, box, [query, *(o for results in lists for o in results.outputs())],
          api_visibility="private", trigger_mode="always_last")
    for results in lists:
        _wire_pager(context, results, query)


def _wire_pager(context: AppContext, results: ResultList, query: gr.State) -> None:
    def turn(step: int):
        def page_of(text: str, page: int, request: gr.Request):
            try:
                return results.values(request_user(context, request), text, page + step)
            except VisionaryError as exc:
                raise gr.Error(exc.message) from None
        return page_of

    inputs = [query, results.pager.number]
    results.pager.previous.click(turn(-1), inputs, results.outputs(), api_visibility="private")
    results.pager.next.click(turn(1), inputs, results.outputs(), api_visibility="private")
