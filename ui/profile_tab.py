"""Profile tab: a user's bio, counts, public models, published images, collections and comments; follow / unfollow.
A collection opens here too (``?collection=ID``): its name and description over the models and pictures in it.

Opened by any creator name (``links`` destination ``user``), by typing a name, or as one's own.
Following is a public API event (``follow_user``); the server resolves who follows whom.
"""

from __future__ import annotations

from dataclasses import dataclass

import gradio as gr

from community import collections, comments, follows
from community.collections import CollectionRecord
from community.comments import CommentRecord
from community.follows import Profile
from core.accounts.accounts import UserInfo
from core.context import AppContext
from core.errors import NotFound, VisionaryError
from core.paging import Page

from . import render
from .comments_section import COMMENTS_CSS
from .i18n import label, message, plural, request_language, text
from .image_cards import SHOTS_CSS, images_grid_html
from .links import NOT_FOUND_CSS, Links, copy_link_button, link, not_found_html, page_tab, tab_address
from .model_page import private_badge
from .models_tab import GRID_CSS, grid_html
from .pager import Pager, build_pager, pager_values
from .report_form import build_report_form, open_with
from .session import request_user

COMMENTS_PAGE = 10
PROFILE_COLLECTIONS = 50
COUNTS = ("followers", "following", "models", "images")
PROFILE_CSS = """
.va-profile h2 { margin: 0 0 4px; font-size: 1.7em; overflow-wrap: anywhere; }
.va-counts { display: flex; flex-wrap: wrap; gap: 6px 18px; margin: 8px 0; }
.va-counts strong { font-size: 1.15em; }
.va-bio { line-height: 1.5; overflow-wrap: anywhere; padding: 10px 14px; border-radius: 10px;
  background: var(--background-fill-secondary); }
"""


def empty_html(key: str, lang: str) -> str:
    return f'<p class="va-empty">{render.text(text(key, lang))}</p>'


def header_html(profile: Profile, lang: str) -> str:
    user = profile.user
    badges = (f'<span class="va-badge va-badge-type">{text("profile.admin", lang)}</span>' if user.is_admin else "") + \
        (f'<span class="va-badge va-badge-private">{text("profile.banned", lang)}</span>' if user.is_banned else "")
    bio = render.markdown(user.bio) if user.bio.strip() else f'<p class="va-muted">{text("profile.no_bio", lang)}</p>'
    counts = (profile.followers, profile.following, profile.model_count, profile.image_count)
    stats = "".join(f'<span class="va-count-{name}"><strong>{count}</strong> '
                    f'{text(f"profile.{name}_one" if count == 1 else f"profile.{name}", lang)}</span>'
                    for name, count in zip(COUNTS, counts))
    joined = text("profile.joined", lang, date=render.short_date(user.created_at))
    return (f'<section class="va-profile" data-username="{render.text(user.username)}">'
            f'<h2>{render.text(user.username)}</h2><div class="va-badges">{badges}'
            f'<span class="va-muted">{joined}</span></div>'
            f'<div class="va-counts">{stats}</div><div class="va-bio">{bio}</div></section>')


def _commented_item(comment: CommentRecord, lang: str) -> str:
    """"on <model>" or "on a picture", a link to what the comment is about."""
    if comment.model_id is not None:
        return text("profile.comment_on", lang, model=link("model", comment.model_id, comment.model_name))
    return text("profile.comment_on", lang, model=link("image", comment.image_id, text("profile.a_picture", lang)))


def user_comments_html(page: Page, lang: str) -> str:
    if not page.items:
        return empty_html("comments.none_yet", lang)
    items = "".join(
        f'<li class="va-comment"><div class="va-comment-head">'
        f'{_commented_item(c, lang)}'
        f'<span class="va-muted">{render.short_date(c.created_at)}</span></div>'
        f'<div class="va-comment-body">{render.markdown(c.body)}</div></li>' for c in page.items)
    return f'<ol class="va-comments">{items}</ol>'


def collections_html(page: Page, lang: str) -> str:
    """A person's collections: each a link to its page, with its size."""
    if not page.items:
        return empty_html("collections.none", lang)
    items = "".join(
        f'<li data-collection-id="{c.id}">{link("collection", c.id, c.name)} '
        f'<span class="va-muted">{plural("collections.items", c.item_count, lang)}</span>'
        f'{" " + private_badge(lang) if c.visibility == "private" else ""}</li>' for c in page.items)
    return f'<ul class="va-collections">{items}</ul>'


def collection_header_html(collection: CollectionRecord, lang: str) -> str:
    description = (f'<div class="va-bio">{render.markdown(collection.description)}</div>'
                   if collection.description.strip() else "")
    private = private_badge(lang) if collection.visibility == "private" else ""
    return (f'<section class="va-profile va-collection" data-collection-id="{collection.id}">'
            f'<h2>{render.text(collection.name)}</h2><div class="va-badges">'
            f'<span class="va-muted">{text("collections.by", lang, name=render.text(collection.owner))}'
            f' · {plural("collections.items", collection.item_count, lang)}</span>{private}</div>'
            f'{description}</section>')


def follow_button(actor: UserInfo | None, profile: Profile, lang: str) -> tuple:
    """The follow button (hidden on one's own profile) and what a click asks for."""
    own = actor is not None and actor.id == profile.user.id
    caption = text("profile.followed" if profile.is_following else "profile.follow", lang)
    return (gr.Button(caption, visible=not own, variant="secondary" if profile.is_following else "primary"),
            not profile.is_following)


@dataclass(frozen=True)
class ProfileView:
    context: AppContext
    box: gr.Textbox
    shown: gr.Textbox
    header: gr.HTML
    follow: gr.Button
    follow_target: gr.Checkbox
    models: gr.HTML
    images: gr.HTML
    comments: gr.HTML
    pager: Pager
    collections: gr.HTML

    def comment_outputs(self) -> list:
        return [self.comments, *self.pager.outputs()]

    def outputs(self) -> list:
        return [self.box, self.shown, self.header, self.follow, self.follow_target, self.models, self.images,
                *self.comment_outputs(), self.collections]

    def comment_values(self, actor: UserInfo | None, username: str, page: int, lang: str) -> tuple:
        result = comments.user_comments(actor, username, max(page, 1), COMMENTS_PAGE)
        return user_comments_html(result, lang), *pager_values(result, lang, "comments")

    def values(self, actor: UserInfo | None, username: str, lang: str) -> tuple:
        profile = follows.profile(actor, username)
        name = profile.user.username
        own = actor is not None and actor.id == profile.user.id
        no_models = "profile.no_models_own" if own else "profile.no_models"
        no_images = text("profile.no_images_own" if own else "profile.no_images", lang)
        models = grid_html(profile.models, lang) if profile.models else empty_html(no_models, lang)
        return (name, name, header_html(profile, lang), *follow_button(actor, profile, lang), models,
                images_grid_html(profile.images, no_images, lang), *self.comment_values(actor, name, 1, lang),
                collections_html(collections.collections_of(actor, name, 1, PROFILE_COLLECTIONS), lang))

    def collection_values(self, actor: UserInfo | None, collection_id: int, lang: str) -> tuple:
        """A collection's page: its header over its models and pictures (the owner's other collections below)."""
        found = collections.get_collection(actor, collection_id)
        owner = found.owner
        return (owner, owner, collection_header_html(found, lang), gr.Button(visible=False), True,
                grid_html(found.models, lang) if found.models else empty_html("collections.no_models", lang),
                images_grid_html(found.images, text("collections.no_images", lang), lang),
                "", "", 1, gr.Button(interactive=False), gr.Button(interactive=False),
                collections_html(collections.collections_of(actor, owner, 1, PROFILE_COLLECTIONS), lang))

    def blank(self, lang: str, header: str | None = None, name: str = "") -> tuple:
        """Nobody shown: the start text (or ``header``, e.g. the not-found page for ``name``, kept as the one shown so
        that selecting the tab shows the same page)."""
        return (name, name, header or empty_html("profile.start", lang), gr.Button(visible=False), True, "", "", "",
                "", 1, gr.Button(interactive=False), gr.Button(interactive=False), "")

    # ------------------------------------------------------------------ events
    def show(self, username, request: gr.Request):
        actor = request_user(self.context, request)
        lang = request_language(request)
        name = (username or "").strip() or (actor.username if actor else "")
        if not name:
            return self.blank(lang)
        try:
            return self.values(actor, name, lang)
        except NotFound:
            return self.blank(lang, not_found_html("user", lang), name)
        except VisionaryError as exc:
            raise gr.Error(message(exc.message, lang)) from None

    def open_page(self, username, request: gr.Request, params=None):
        """The ``user`` destination of ``ui.links``."""
        return self.show(username, request)

    def open_collection(self, key, request: gr.Request, params=None):
        """The ``collection`` destination of ``ui.links`` (the not-found page for one the viewer may not see)."""
        lang = request_language(request)
        try:
            return self.collection_values(request_user(self.context, request), int(key), lang)
        except (NotFound, ValueError):
            return self.blank(lang, not_found_html("collection", lang))
        except VisionaryError as exc:
            raise gr.Error(message(exc.message, lang)) from None

    def follow_user(self, username, follow: bool, request: gr.Request):
        try:
            follows.set_following(self.context.store, request_user(self.context, request), username or "",
                                  bool(follow))
        except VisionaryError as exc:
            raise gr.Error(message(exc.message, request_language(request))) from None

    def _comments_page(self, username, page: int, request: gr.Request):
        lang = request_language(request)
        try:
            return self.comment_values(request_user(self.context, request), username or "", page, lang)
        except VisionaryError as exc:
            raise gr.Error(message(exc.message, lang)) from None

    def previous_comments(self, username, page, request: gr.Request):
        return self._comments_page(username, int(page) - 1, request)

    def next_comments(self, username, page, request: gr.Request):
        return self._comments_page(username, int(page) + 1, request)


def build_profile_tab(context: AppContext, links: Links) -> None:
    """The Profile tab; registers the ``user`` destination with ``links``."""
    with page_tab("profile") as tab:
        with gr.Row(equal_height=True):
            box = gr.Textbox(show_label=False, placeholder=label("profile.username_placeholder"), max_length=64,
                             scale=3, elem_id="profile-username")
            open_button = gr.Button(label("profile.open"), scale=0, min_width=110, elem_id="profile-open")
            mine = gr.Button(label("profile.mine"), scale=0, min_width=130, elem_id="profile-mine")
            copy_link_button("profile-copy-link")
        header = gr.HTML(elem_id="profile-header", css_template=render.BASE_CSS + PROFILE_CSS + NOT_FOUND_CSS,
                         js_on_load=None)
        with gr.Row():
            follow = gr.Button(label("profile.follow"), variant="primary", visible=False, scale=0, min_width=160,
                               elem_id="profile-follow")
            report = gr.Button(label("report.button"), size="sm", scale=0, min_width=90,
                               elem_id="profile-report-button")
        report_form = build_report_form(context, "profile")
        gr.Markdown(label("profile.models_heading"))
        models = links.html(css=GRID_CSS, elem_id="profile-models")
        gr.Markdown(label("profile.images_heading"))
        images = links.html(css=SHOTS_CSS, elem_id="profile-images")
        gr.Markdown(label("collections.heading"))
        collection_list = links.html(elem_id="profile-collections")
        gr.Markdown(label("comments.heading"))
        comment_list = links.html(css=COMMENTS_CSS, elem_id="profile-comments")
        pager = build_pager("profile-comments")
        shown = gr.Textbox(visible=False, elem_id="profile-shown")
        follow_target = gr.Checkbox(True, visible=False, elem_id="profile-follow-target")
    view = ProfileView(context, box, shown, header, follow, follow_target, models, images, comment_list, pager,
                       collection_list)
    links.destination("user", "profile", view.open_page, view.outputs())
    links.destination("collection", "profile", view.open_collection, view.outputs())

    outputs = view.outputs()

    def open_named(username, request: gr.Request):
        """A name typed in the box (or one's own): that profile, and its address."""
        values = view.show(username, request)
        return *values, links.address_of("user", values[1]) if values[1] else tab_address("profile")

    def open_mine(request: gr.Request):
        actor = request_user(context, request)
        if actor is None:
            raise gr.Error(text("profile.log_in", request_language(request)))
        return open_named(actor.username, request)

    open_with(report_form, report, "user", shown)
    tab.select(view.show, shown, outputs, api_visibility="private")
    gr.on([box.submit, open_button.click], open_named, box, [*outputs, links.address], api_visibility="private")
    mine.click(open_mine, None, [*outputs, links.address], api_visibility="private")
    followed = follow.click(view.follow_user, [shown, follow_target], None, api_name="follow_user")
    followed.success(view.show, shown, outputs, api_visibility="private")
    pager.previous.click(view.previous_comments, [shown, pager.number], view.comment_outputs(),
                         api_visibility="private")
    pager.next.click(view.next_comments, [shown, pager.number], view.comment_outputs(), api_visibility="private")
