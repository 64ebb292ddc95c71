"""A comments section under a page: the list (newest first, paged), a box with a live counter, Post and Delete.

The model page and the image page each mount one (``build_comments``) for their item; the section's events are
public API events (``post_comment``/``delete_comment`` on models, ``post_image_comment``/
``delete_image_comment`` on images). Each resolves the user on the server; ``community.comments`` decides who
may read, post and delete.
"""

from __future__ import annotations

from dataclasses import dataclass

import gradio as gr

from community import comments
from community.comments import MODEL, CommentRecord, Subject
from core.accounts.accounts import UserInfo
from core.context import AppContext
from core.errors import VisionaryError
from core.paging import Page

from . import render
from .i18n import label, message, request_language, text
from .limits import counter
from .links import Links, event_value, user_link
from .pager import Pager, build_pager, pager_values
from .session import request_user

COMMENTS_PAGE = 10

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


def _picked_comment(event: gr.EventData):
    return event_value(event, "comment_id")


@dataclass(frozen=True)
class CommentsSection:
    context: AppContext
    kind: str  # what the comments are about: community.comments.MODEL or IMAGE
    subject_id: gr.Number  # the shown item's id (the page's own hidden id box)
    comments: gr.HTML
    pager: Pager
    body: gr.Textbox
    post: gr.Button
    comment_id: gr.Number

    def outputs(self) -> list:
        return [self.comments, *self.pager.outputs()]

    def values(self, actor: UserInfo | None, subject_id: int, page: int, lang: str) -> tuple:
        subject = Subject(self.kind, subject_id)
        result = comments.comments_on(actor, subject, max(page, 1), COMMENTS_PAGE)
        if not result.items and result.page > result.total_pages:
            result = comments.comments_on(actor, subject, result.total_pages, COMMENTS_PAGE)
        return comments_html(actor, result, lang), *pager_values(result, lang, "comments")

    def _subject_id(self, value, lang: str) -> int:
        try:
            return int(value)
        except (TypeError, ValueError):
            key = "error.open_model_first" if self.kind == MODEL else "error.open_image_first"
            raise gr.Error(text(key, lang)) from None

    # ------------------------------------------------------------------ events
    def show_comments(self, subject_id, page, request: gr.Request):
        lang = request_language(request)
        try:
            return self.values(request_user(self.context, request), self._subject_id(subject_id, lang),
                               int(page or 1), lang)
        except VisionaryError as exc:
            raise gr.Error(message(exc.message, lang)) from None

    def first_comments(self, subject_id, request: gr.Request):
        return self.show_comments(subject_id, 1, request)

    def previous_comments(self, subject_id, page, request: gr.Request):
        return self.show_comments(subject_id, page - 1, request)

    def next_comments(self, subject_id, page, request: gr.Request):
        return self.show_comments(subject_id, page + 1, request)

    def post_comment(self, subject_id, body, request: gr.Request):
        lang = request_language(request)
        try:
            comments.comment_on(self.context.store, request_user(self.context, request),
                                Subject(self.kind, self._subject_id(subject_id, lang)), body or "")
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


def build_comments(context: AppContext, links: Links, kind: str, subject_id: gr.Number,
                   ids: dict[str, str]) -> tuple[CommentsSection, list]:
    """The section (in the current layout) for the item whose id ``subject_id`` holds; ``ids`` names its parts
    (``body``, ``post``, ``list``, ``pager``, ``target``, ``counter``). Returns it and the events after which the
    item's comment count changed."""
    gr.Markdown(label("comments.heading"))
    comment_list = links.html(css=COMMENTS_CSS, js=DELETE_JS, elem_id=ids["list"])
    pager = build_pager(ids["pager"])
    body = gr.Textbox(label=label("comments.write"), lines=3, placeholder=label("comments.placeholder"),
                      elem_id=ids["body"])
    counter(body, comments.MAX_COMMENT_CHARS, ids["counter"])
    with gr.Row():
        post = gr.Button(label("comments.post"), variant="primary", scale=0, min_width=160, elem_id=ids["post"])
    comment_id = gr.Number(visible=False, precision=0, elem_id=ids["target"])
    section = CommentsSection(context, kind, subject_id, comment_list, pager, body, post, comment_id)
    return section, _wire(section)


def _poster(section: CommentsSection):
    """The Post event, its parameter named for what it comments on (the API's ``model_id`` / ``image_id``)."""
    if section.kind == MODEL:
        def post_comment(model_id, body, request: gr.Request):
            return section.post_comment(model_id, body, request)
        return post_comment

    def post_image_comment(image_id, body, request: gr.Request):
        return section.post_comment(image_id, body, request)
    return post_image_comment


def _wire(section: CommentsSection) -> list:
    outputs, api = section.outputs(), "" if section.kind == MODEL else f"_{section.kind}"
    posted = section.post.click(_poster(section), [section.subject_id, section.body], section.body,
                                api_name=f"post{api}_comment")
    posted.success(section.first_comments, section.subject_id, outputs, api_visibility="private")
    picked = section.comments.submit(_picked_comment, None, section.comment_id, api_visibility="private")
    deleted = picked.success(section.delete_comment, section.comment_id, None, api_name=f"delete{api}_comment")
    deleted.success(section.show_comments, [section.subject_id, section.pager.number], outputs,
                    api_visibility="private")
    section.pager.previous.click(section.previous_comments, [section.subject_id, section.pager.number], outputs,
                                 api_visibility="private")
    section.pager.next.click(section.next_comments, [section.subject_id, section.pager.number], outputs,
                             api_visibility="private")
    return [posted, deleted]
