"""Feed tab: new public models and published images from the people one follows, newest first."""

from __future__ import annotations

import gradio as gr

from community import follows
from community.follows import FeedItem
from core.context import AppContext
from core.library import Page

from . import render
from .gallery_tab import SHOTS_CSS, image_card_html
from .links import Links, user_link
from .models_tab import GRID_CSS, card_html
from .pager import build_pager, pager_values
from .session import request_user

PAGE_SIZE = 24
FEED_CSS = """
.va-feed { display: grid; grid-template-columns: repeat(auto-fill, minmax(210px, 1fr)); gap: 16px; }
.va-feed-item { display: flex; flex-direction: column; gap: 6px; }
.va-feed-item > .va-shot, .va-feed-item > .va-card { flex: 1; }
.va-when { white-space: nowrap; }
"""
NOT_LOGGED_IN = "Log in (Account tab) to see new models and images from the people you follow."
NOTHING_YET = ("Nothing here yet. Follow people to see their new models and images: open a creator's profile "
               "from a model page, the Gallery or the Search tab, and press Follow.")


def feed_item_html(item: FeedItem) -> str:
    if item.kind == "model":
        what, owner, card = "uploaded a model", item.model.owner, card_html(item.model)
    else:
        what, owner, card = "published an image", item.image.username, image_card_html(item.image)
    return (f'<div class="va-feed-item"><div class="va-muted">{user_link(owner)} {what} · '
            f'<span class="va-when">{render.short_date(item.created_at)}</span></div>{card}</div>')


def feed_html(page: Page) -> str:
    if not page.items:
        return f'<p class="va-empty">{render.text(NOTHING_YET if page.total == 0 else "No more items.")}</p>'
    return '<div class="va-feed">' + "".join(feed_item_html(item) for item in page.items) + "</div>"


def build_feed_tab(context: AppContext, links: Links) -> None:
    with gr.Tab("Feed", id="feed") as tab:
        with gr.Row(equal_height=True):
            gr.Markdown("New models and images from the people you follow, newest first.")
            refresh = gr.Button("Refresh", size="sm", scale=0, min_width=110, elem_id="feed-refresh")
        listing = links.html(css=GRID_CSS + SHOTS_CSS + FEED_CSS, elem_id="feed-list")
        pager = build_pager("feed")
    outputs = [listing, *pager.outputs()]

    def show(page, request: gr.Request):
        actor = request_user(context, request)
        if actor is None:
            return (f'<p class="va-empty">{render.text(NOT_LOGGED_IN)}</p>', "", 1, gr.Button(interactive=False),
                    gr.Button(interactive=False))
        result = follows.feed(actor, max(int(page or 1), 1), PAGE_SIZE)
        return feed_html(result), *pager_values(result, "item")

    def first_page(request: gr.Request):
        return show(1, request)

    def previous_page(page, request: gr.Request):
        return show(page - 1, request)

    def next_page(page, request: gr.Request):
        return show(page + 1, request)

    gr.on([tab.select, refresh.click], first_page, None, outputs, api_visibility="private")
    pager.previous.click(previous_page, pager.number, outputs, api_visibility="private")
    pager.next.click(next_page, pager.number, outputs, api_visibility="private")
