"""Tags tab: every tag as a cloud, sized by how many models (that the viewer may see) carry it, most used first;
a tag opens its page, the Models tab showing its models (``?tag=castle``)."""

from __future__ import annotations

import math

import gradio as gr

from core.context import AppContext
from core.errors import VisionaryError
from core.library import library
from core.paging import Page

from . import render
from .i18n import label, message, request_language, text
from .links import Links, link, page_tab
from .pager import build_pager, pager_values
from .session import request_user

TAGS_PAGE = 200
CLOUD_CSS = """
.va-cloud { display: flex; flex-wrap: wrap; gap: 10px 16px; align-items: baseline; line-height: 1.2; }
.va-tag { white-space: nowrap; }
.va-empty { padding: 16px; text-align: center; color: var(--body-text-color-subdued); }
"""


def cloud_html(page: Page, lang: str) -> str:
    """Each tag a link to its page, larger the more models carry it (by the logarithm: a few huge tags do not
    shrink the rest to dots)."""
    if not page.items:
        return f'<p class="va-empty">{text("tags.none", lang)}</p>'
    most = max(count for _, count in page.items)
    tags = []
    for name, count in page.items:
        size = 0.9 + 1.3 * math.log1p(count) / math.log1p(most)
        tags.append(f'<span class="va-tag" data-tag="{render.text(name)}" style="font-size: {size:.2f}em">'
                    f'{link("tag", name, name)} <span class="va-muted">{count}</span></span>')
    return '<div class="va-cloud">' + "".join(tags) + "</div>"


def build_tags_tab(context: AppContext, links: Links) -> None:
    with page_tab("tags") as tab:
        with gr.Row(equal_height=True):
            query = gr.Textbox(show_label=False, placeholder=label("tags.search"), max_length=64, scale=3,
                               elem_id="tags-query")
            refresh = gr.Button(label("tags.refresh"), size="sm", scale=0, min_width=110, elem_id="tags-refresh")
        cloud = links.html(css=CLOUD_CSS, elem_id="tags-cloud")
        pager = build_pager("tags")
    outputs = [cloud, *pager.outputs()]

    def show_tags(words, page, request: gr.Request):
        lang = request_language(request)
        try:
            result = library.list_tags(request_user(context, request), words or "", max(int(page or 1), 1), TAGS_PAGE)
        except VisionaryError as exc:
            raise gr.Error(message(exc.message, lang)) from None
        return cloud_html(result, lang), *pager_values(result, lang, "tags")

    def first_tags(words, request: gr.Request):
        return show_tags(words, 1, request)

    def previous_tags(words, page, request: gr.Request):
        return show_tags(words, int(page or 1) - 1, request)

    def next_tags(words, page, request: gr.Request):
        return show_tags(words, int(page or 1) + 1, request)

    gr.on([tab.select, query.submit, refresh.click], first_tags, query, outputs, api_visibility="private")
    pager.previous.click(previous_tags, [query, pager.number], outputs, api_visibility="private")
    pager.next.click(next_tags, [query, pager.number], outputs, api_visibility="private")
