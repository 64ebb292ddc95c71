"""Feed tab: new public models and published images from the people one follows, newest first."""

from __future__ import annotations

import gradio as gr

from community import follows
from community.follows import FeedItem
from core.context import AppContext
from core.paging import Page

from . import render
from .i18n import label, request_language, text
from .image_cards import SHOTS_CSS, saveable_image_card_html
from .links import Links, page_tab, user_link
from .models_tab import GRID_CSS, saveable_card_html
from .pager import build_pager, pager_values
from .session import request_user

PAGE_SIZE = 24
FEED_CSS = """
.va-feed { display: grid; grid-template-columns: repeat(auto-fill, minmax(210px, 1fr)); gap: 16px; }
.va-feed-item { display: flex; flex-direction: column; gap: 6px; }
.va-feed-item > .va-saveable { flex: 1; }
.va-when { white-space: nowrap; }
"""


def feed_item_html(item: FeedItem, lang: str) -> str:
    if item.kind == "model":
        what, owner, card = "feed.uploaded_model", item.model.owner, saveable_card_html(item.model, lang)
    else:
        what, owner, card = "feed.published_image", item.image.username, saveable_image_card_html(item.image, lang)
    return (f'<div class="va-feed-item"><div class="va-muted">{text(what, lang, name=user_link(owner))} · '
            f'<span class="va-when">{render.short_date(item.created_at)}</span></div>{card}</div>')


def empty_html(key: str, lang: str) -> str:
    return f'<p class="va-empty">{render.text(text(key, lang))}</p>'


def feed_html(page: Page, lang: str) -> str:
    if not page.items:
        return empty_html("feed.nothing_yet" if page.total == 0 else "feed.no_more", lang)
    return '<div class="va-feed">' + "".join(feed_item_html(item, lang) for item in page.items) + "</div>"


def build_feed_tab(context: AppContext, links: Links) -> None:
    with page_tab("feed") as tab:
        with gr.Row(equal_height=True):
            gr.Markdown(label("feed.intro"))
            refresh = gr.Button(label("feed.refresh"), size="sm", scale=0, min_width=110, elem_id="feed-refresh")
        listing = links.html(css=GRID_CSS + SHOTS_CSS + FEED_CSS, elem_id="feed-list")
        pager = build_pager("feed")
    outputs = [listing, *pager.outputs()]

    def show(page, request: gr.Request):
        actor = request_user(context, request)
        lang = request_language(request)
        if actor is None:
            return (empty_html("feed.log_in", lang), "", 1, gr.Button(interactive=False),
                    gr.Button(interactive=False))
        result = follows.feed(actor, max(int(page or 1), 1), PAGE_SIZE)
        return feed_html(result, lang), *pager_values(result, lang, "items")

    def first_page(request: gr.Request):
        return show(1, request)

    def previous_page(page, request: gr.Request):
        return show(page - 1, request)

    def next_page(page, request: gr.Request):
        return show(page + 1, request)

    gr.on([tab.select, refresh.click], first_page, None, outputs, api_visibility="private")
    pager.previous.click(previous_page, pager.number, outputs, api_visibility="private")
    pager.next.click(next_page, pager.number, outputs, api_visibility="private")
