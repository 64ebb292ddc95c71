"""The model page's community part: like button, creator link, sample images and comments.

``mount_model_social`` adds it to a ``ModelPage`` (the like button and the creator's profile beside the
back button; sample images and comments under the page); ``ModelSocial.values`` fills it for one model.
Posting and deleting comments and liking are public API events (``post_comment``, ``delete_comment``,
``like_model``); each resolves the user on the server, and community.comments / community.likes decide.
"""

from __future__ import annotations

from dataclasses import dataclass

import gradio as gr

from community import comments, gallery, likes
from community.comments import CommentRecord
from community.gallery import ImageQuery
from core.accounts.accounts import UserInfo
from core.context import AppContext
from core.errors import VisionaryError
from core.library.library import get_model
from core.library.model_records import ModelRecord
from core.paging import Page

from . import render
from .gallery_tab import SHOTS_CSS, images_grid_html, like_button
from .i18n import label, message, request_language, text
from .limits import counter
from .links import Links, event_value, user_link
from .model_page import ModelPage, model_page_html
from .pager import Pager, build_pager, pager_values
from .session import request_user

COMMENTS_PAGE = 10
SAMPLES = 8

# A comment's Delete button asks once more before it sends ``submit`` with the comment's id.
DELETE_JS = """
element.addEventListener('click', (event) => {
  const button = event.target.closest('[data-delete-comment]');
  if (!button || !element.contains(button)) return;
  if (button.dataset.armed !== '1') {
    button.dataset.armed = '1';
    button.textContent = button.dataset.confirm;
    return;
  }
  trigger('submit', {comment_id: Number(button.dataset.deleteComment)});
});
"""

COMMENTS_CSS = """
.va-comments { list-style: none; margin: 0; padding: 0; display: flex; flex-direction: column; gap: 10px; }
.va-comment { border: 1px solid var(--border-color-primary); border-radius: 10px; padding: 8px 14px; }
.va-comment-head { display: flex; flex-wrap: wrap; gap: 4px 10px; align-items: baseline; }
.va-comment-body { overflow-wrap: anywhere; line-height: 1.5; }
.va-comment-body p { margin: 6px 0 0; }
.va-comment-body img { max-width: 100%; }
.va-comment-delete { margin-left: auto; font-size: .85em; cursor: pointer; border-radius: 6px; padding: 1px 8px;
  border: 1px solid var(--border-color-primary); background: transparent; color: var(--body-text-color-subdued); }
.va-comment-delete[data-armed="1"] { border-color: #dc2626; color: #dc2626; }
.va-empty { padding: 16px; text-align: center; color: var(--body-text-color-subdued); }
"""


def can_delete(actor: UserInfo | None, comment: CommentRecord) -> bool:
    """Whether to offer Delete (the server decides again when it is clicked)."""
    return actor is not None and (actor.is_admin or actor.id == comment.user_id)


def comment_html(actor: UserInfo | None, comment: CommentRecord, lang: str) -> str:
    delete = (f'<button type="button" class="va-comment-delete" data-delete-comment="{comment.id}" '
              f'data-confirm="{render.text(text("comments.confirm_delete", lang))}">{text("comments.delete", lang)}'
              f'</button>' if can_delete(actor, comment) else "")
    return (f'<li class="va-comment" data-comment-id="{comment.id}"><div class="va-comment-head">'
            f'{user_link(comment.username)}<span class="va-muted">{render.short_date(comment.created_at)}</span>'
            f'{delete}</div><div class="va-comment-body">{render.markdown(comment.body)}</div></li>')


def comments_html(actor: UserInfo | None, page: Page, lang: str) -> str:
    if not page.items:
        return f'<p class="va-empty">{text("comments.be_first" if actor else "comments.log_in_first", lang)}</p>'
    return '<ol class="va-comments">' + "".join(comment_html(actor, c, lang) for c in page.items) + "</ol>"


def _model_id(value, lang: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise gr.Error(text("error.open_model_first", lang)) from None


@dataclass(frozen=True)
class ModelSocial:
    context: AppContext
    page_body: gr.HTML  # the model page's body, refreshed when counts change
    model_id: gr.Number
    like: gr.Button
    like_target: gr.Checkbox
    creator: gr.Textbox
    creator_button: gr.Button
    samples: gr.HTML
    comments: gr.HTML
    pager: Pager
    body: gr.Textbox
    post: gr.Button
    comment_id: gr.Number

    def comment_outputs(self) -> list:
        return [self.comments, *self.pager.outputs()]

    def outputs(self) -> list:
        return [self.model_id, self.like, self.like_target, self.creator, self.creator_button, self.samples,
                *self.comment_outputs()]

    def not_found_values(self) -> tuple:
        """For ``outputs`` on the not-found page: the buttons about a model hidden, the rest left as it was."""
        skip = gr.skip()
        return (None, gr.Button(visible=False), skip, "", gr.Button(visible=False), skip,
                *([skip] * len(self.comment_outputs())))

    def values(self, actor: UserInfo | None, model: ModelRecord, lang: str) -> tuple:
        """Everything for ``outputs`` about one model the actor may see."""
        samples = gallery.list_images(actor, ImageQuery(model_id=model.id, limit=SAMPLES))
        return (model.id, *like_button(likes.model_like(actor, model.id), lang), model.owner,
                gr.Button(text("model.creator_profile", lang, name=model.owner), visible=True),
                images_grid_html(samples.items, text("model.no_samples", lang), lang),
                *self.comment_values(actor, model.id, 1, lang))

    def comment_values(self, actor: UserInfo | None, model_id: int, page: int, lang: str) -> tuple:
        result = comments.list_comments(actor, model_id, max(page, 1), COMMENTS_PAGE)
        if not result.items and result.page > result.total_pages:
            result = comments.list_comments(actor, model_id, result.total_pages, COMMENTS_PAGE)
        return comments_html(actor, result, lang), *pager_values(result, lang, "comments")

    # ------------------------------------------------------------------ events
    def refresh_body(self, model_id, request: gr.Request):
        """The model page again (its like and comment counts changed)."""
        lang = request_language(request)
        try:
            model = get_model(request_user(self.context, request), _model_id(model_id, lang))
        except VisionaryError as exc:
            raise gr.Error(message(exc.message, lang)) from None
        return model_page_html(model, lang)

    def show_comments(self, model_id, page, request: gr.Request):
        lang = request_language(request)
        try:
            return self.comment_values(request_user(self.context, request), _model_id(model_id, lang),
                                       int(page or 1), lang)
        except VisionaryError as exc:
            raise gr.Error(message(exc.message, lang)) from None

    def first_comments(self, model_id, request: gr.Request):
        return self.show_comments(model_id, 1, request)

    def previous_comments(self, model_id, page, request: gr.Request):
        return self.show_comments(model_id, page - 1, request)

    def next_comments(self, model_id, page, request: gr.Request):
        return self.show_comments(model_id, page + 1, request)

    def post_comment(self, model_id, body, request: gr.Request):
        lang = request_language(request)
        try:
            comments.post_comment(self.context.store, request_user(self.context, request), _model_id(model_id, lang),
                                  body or "")
        except VisionaryError as exc:
            raise gr.Error(message(exc.message, lang)) from None
        return ""

    def delete_comment(self, comment_id, request: gr.Request):
        lang = request_language(request)
        try:
            comments.delete_comment(self.context.store, request_user(self.context, request), int(comment_id))
        except (TypeError, ValueError):
            raise gr.Error(text("error.choose_comment", lang)) from None
        except VisionaryError as exc:
            raise gr.Error(message(exc.message, lang)) from None
        gr.Info(text("comments.deleted", lang))

    def like_model(self, model_id, like: bool, request: gr.Request):
        lang = request_language(request)
        try:
            state = likes.set_model_like(self.context.store, request_user(self.context, request),
                                         _model_id(model_id, lang), bool(like))
        except VisionaryError as exc:
            raise gr.Error(message(exc.message, lang)) from None
        return like_button(state, lang)


def _picked_comment(event: gr.EventData):
    return event_value(event, "comment_id")


def mount_model_social(context: AppContext, page: ModelPage, links: Links) -> ModelSocial:
    """Add the like button, creator link, sample images and comments to ``page``; wire their events."""
    with page.toolbar:  # re-entered where it was built (inside its tab), so it keeps its place
        like = gr.Button(label("like.button"), size="sm", scale=0, min_width=110, elem_id="model-like")
        creator_button = gr.Button(label("model.creator_button"), size="sm", scale=0, min_width=150,
                                   elem_id="model-creator")
    with page.details:
        gr.Markdown(label("model.samples_heading"))
        samples = links.html(css=SHOTS_CSS, elem_id="model-samples")
        gr.Markdown(label("comments.heading"))
        body = gr.Textbox(label=label("comments.write"), lines=3, placeholder=label("comments.placeholder"),
                          elem_id="comment-body")
        counter(body, comments.MAX_COMMENT_CHARS, "comment-counter")
        with gr.Row():
            post = gr.Button(label("comments.post"), variant="primary", scale=0, min_width=160, elem_id="comment-post")
        comment_list = links.html(css=COMMENTS_CSS, js=DELETE_JS, elem_id="model-comments")
        pager = build_pager("comments")
        model_id = gr.Number(visible=False, precision=0, elem_id="social-model-id")
        like_target = gr.Checkbox(True, visible=False, elem_id="model-like-target")
        creator = gr.Textbox(visible=False, elem_id="model-creator-name")
        comment_id = gr.Number(visible=False, precision=0, elem_id="comment-target")
    social = ModelSocial(context, page.body, model_id, like, like_target, creator, creator_button, samples,
                         comment_list, pager, body, post, comment_id)
    links.button(creator_button, "user", creator)
    _wire(social)
    return social


def _wire(social: ModelSocial) -> None:
    refresh = [social.model_id]
    comment_outputs = social.comment_outputs()
    liked = social.like.click(social.like_model, [social.model_id, social.like_target],
                              [social.like, social.like_target], api_name="like_model")
    posted = social.post.click(social.post_comment, [social.model_id, social.body], social.body,
                               api_name="post_comment")
    posted.success(social.first_comments, refresh, comment_outputs, api_visibility="private")
    picked = social.comments.submit(_picked_comment, None, social.comment_id, api_visibility="private")
    deleted = picked.success(social.delete_comment, social.comment_id, None, api_name="delete_comment")
    deleted.success(social.show_comments, [social.model_id, social.pager.number], comment_outputs,
                    api_visibility="private")
    for changed in (liked, posted, deleted):
        changed.success(social.refresh_body, refresh, social.page_body, api_visibility="private")
    social.pager.previous.click(social.previous_comments, [social.model_id, social.pager.number], comment_outputs,
                                api_visibility="private")
    social.pager.next.click(social.next_comments, [social.model_id, social.pager.number], comment_outputs,
                            api_visibility="private")
