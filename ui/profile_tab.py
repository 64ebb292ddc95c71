"""Profile tab: a user's bio, counts, public models, published images and comments; follow / unfollow.

Opened by any creator name (``links`` destination ``user``), by typing a name, or as one's own.
Following is a public API event (``follow_user``); the server resolves who follows whom.
"""

from __future__ import annotations

from dataclasses import dataclass

import gradio as gr

from community import comments, follows
from community.accounts import UserInfo
from community.follows import Profile
from core.context import AppContext
from core.errors import VisionaryError
from core.library import Page

from . import render
from .gallery_tab import SHOTS_CSS, images_grid_html
from .links import Links, link
from .models_tab import GRID_CSS, grid_html
from .pager import Pager, build_pager, pager_values
from .session import request_user
from .social import COMMENTS_CSS

COMMENTS_PAGE = 10
START = "Type a username above, or click a creator's name anywhere on the site. Log in to see your own profile."
PROFILE_CSS = """
.va-profile h2 { margin: 0 0 4px; font-size: 1.7em; overflow-wrap: anywhere; }
.va-counts { display: flex; flex-wrap: wrap; gap: 6px 18px; margin: 8px 0; }
.va-counts strong { font-size: 1.15em; }
.va-bio { line-height: 1.5; overflow-wrap: anywhere; padding: 10px 14px; border-radius: 10px;
  background: var(--background-fill-secondary); }
"""


def header_html(profile: Profile) -> str:
    user = profile.user
    badges = ('<span class="va-badge va-badge-type">Admin</span>' if user.is_admin else "") + \
        ('<span class="va-badge va-badge-private">Banned</span>' if user.is_banned else "")
    bio = render.markdown(user.bio) if user.bio.strip() else '<p class="va-muted">No bio yet.</p>'
    counts = [(profile.followers, "followers", "follower"), (profile.following, "following", "following"),
              (profile.model_count, "models", "model"), (profile.image_count, "images", "image")]
    stats = "".join(f'<span class="va-count-{name}"><strong>{count}</strong> {one if count == 1 else name}</span>'
                    for count, name, one in counts)
    return (f'<section class="va-profile" data-username="{render.text(user.username)}">'
            f'<h2>{render.text(user.username)}</h2><div class="va-badges">{badges}'
            f'<span class="va-muted">joined {render.short_date(user.created_at)}</span></div>'
            f'<div class="va-counts">{stats}</div><div class="va-bio">{bio}</div></section>')


def user_comments_html(page: Page) -> str:
    if not page.items:
        return '<p class="va-empty">No comments yet.</p>'
    items = "".join(
        f'<li class="va-comment"><div class="va-comment-head">on {link("model", c.model_id, c.model_name)}'
        f'<span class="va-muted">{render.short_date(c.created_at)}</span></div>'
        f'<div class="va-comment-body">{render.markdown(c.body)}</div></li>' for c in page.items)
    return f'<ol class="va-comments">{items}</ol>'


def follow_button(actor: UserInfo | None, profile: Profile) -> tuple:
    """The follow button (hidden on one's own profile) and what a click asks for."""
    own = actor is not None and actor.id == profile.user.id
    label = "✓ Following" if profile.is_following else "Follow"
    return (gr.Button(label, visible=not own, variant="secondary" if profile.is_following else "primary"),
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

    def comment_outputs(self) -> list:
        return [self.comments, *self.pager.outputs()]

    def outputs(self) -> list:
        return [self.box, self.shown, self.header, self.follow, self.follow_target, self.models, self.images,
                *self.comment_outputs()]

    def comment_values(self, actor: UserInfo | None, username: str, page: int) -> tuple:
        result = comments.user_comments(actor, username, max(page, 1), COMMENTS_PAGE)
        return user_comments_html(result), *pager_values(result, "comment")

    def values(self, actor: UserInfo | None, username: str) -> tuple:
        profile = follows.profile(actor, username)
        name = profile.user.username
        own = actor is not None and actor.id == profile.user.id
        no_models = "No models yet: upload one in the Upload tab." if own else "No public models yet."
        no_images = "No published images yet: publish one from Gallery → My images." if own else \
            "No published images yet."
        models = grid_html(profile.models) if profile.models else f'<p class="va-empty">{no_models}</p>'
        return (name, name, header_html(profile), *follow_button(actor, profile), models,
                images_grid_html(profile.images, no_images), *self.comment_values(actor, name, 1))

    def blank(self) -> tuple:
        return ("", "", f'<p class="va-empty">{render.text(START)}</p>', gr.Button(visible=False), True, "", "", "",
                "", 1, gr.Button(interactive=False), gr.Button(interactive=False))

    # ------------------------------------------------------------------ events
    def show(self, username, request: gr.Request):
        actor = request_user(self.context, request)
        name = (username or "").strip() or (actor.username if actor else "")
        if not name:
            return self.blank()
        try:
            return self.values(actor, name)
        except VisionaryError as exc:
            raise gr.Error(exc.message) from None

    def mine(self, request: gr.Request):
        actor = request_user(self.context, request)
        if actor is None:
            raise gr.Error("Log in (Account tab) to see your profile.")
        return self.show(actor.username, request)

    def follow_user(self, username, follow: bool, request: gr.Request):
        try:
            follows.set_following(self.context.store, request_user(self.context, request), username or "",
                                  bool(follow))
        except VisionaryError as exc:
            raise gr.Error(exc.message) from None

    def _comments_page(self, username, page: int, request: gr.Request):
        try:
            return self.comment_values(request_user(self.context, request), username or "", page)
        except VisionaryError as exc:
            raise gr.Error(exc.message) from None

    def previous_comments(self, username, page, request: gr.Request):
        return self._comments_page(username, int(page) - 1, request)

    def next_comments(self, username, page, request: gr.Request):
        return self._comments_page(username, int(page) + 1, request)


def build_profile_tab(context: AppContext, links: Links) -> None:
    """The Profile tab; registers the ``user`` destination with ``links``."""
    with gr.Tab("Profile", id="profile") as tab:
        with gr.Row(equal_height=True):
            box = gr.Textbox(show_label=False, placeholder="Username, e.g. alice", max_length=64, scale=3,
                             elem_id="profile-username")
            open_button = gr.Button("Open", scale=0, min_width=110, elem_id="profile-open")
            mine = gr.Button("My profile", scale=0, min_width=130, elem_id="profile-mine")
        header = gr.HTML(elem_id="profile-header", css_template=render.BASE_CSS + PROFILE_CSS, js_on_load=None)
        with gr.Row():
            follow = gr.Button("Follow", variant="primary", visible=False, scale=0, min_width=160,
                               elem_id="profile-follow")
        gr.Markdown("### Models")
        models = links.html(css=GRID_CSS, elem_id="profile-models")
        gr.Markdown("### Published images")
        images = links.html(css=SHOTS_CSS, elem_id="profile-images")
        gr.Markdown("### Comments")
        comment_list = links.html(css=COMMENTS_CSS, elem_id="profile-comments")
        pager = build_pager("profile-comments")
        shown = gr.Textbox(visible=False, elem_id="profile-shown")
        follow_target = gr.Checkbox(True, visible=False, elem_id="profile-follow-target")
    view = ProfileView(context, box, shown, header, follow, follow_target, models, images, comment_list, pager)
    links.destination("user", "profile", view.show, view.outputs())

    outputs = view.outputs()
    tab.select(view.show, shown, outputs, api_visibility="private")
    gr.on([box.submit, open_button.click], view.show, box, outputs, api_visibility="private")
    mine.click(view.mine, None, outputs, api_visibility="private")
    followed = follow.click(view.follow_user, [shown, follow_target], None, api_name="follow_user")
    followed.success(view.show, shown, outputs, api_visibility="private")
    pager.previous.click(view.previous_comments, [shown, pager.number], view.comment_outputs(),
                         api_visibility="private")
    pager.next.click(view.next_comments, [shown, pager.number], view.comment_outputs(), api_visibility="private")
