"""A comments section under a page: the list (newest first, paged, answers under the comment they answer), a box
with a live counter, Post, Reply and Delete. ``@name`` mentions of existing users link to their profiles.

The model page and the image page each mount one (``build_comments``) for their item; the section's events are
public API events (``post_comment``/``delete_comment`` on models, ``post_image_comment``/
``delete_image_comment`` on images). Each resolves the user on the server; ``community.comments`` decides who
may read, post and delete.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import gradio as gr

from community import comments
from community.comments import MODEL, CommentRecord, Subject
from core.accounts.accounts import UserInfo, username_key
from core.context import AppContext
from core.errors import VisionaryError
from core.paging import Page

from . import render
from .i18n import label, message, request_language, text
from .limits import counter
from .links import Links, event_value, link, user_link
from .pager import Pager, build_pager, pager_values
from .report_form import ReportForm
from .session import request_user

COMMENTS_PAGE = 10
MARK_OPEN, MARK_CLOSE = "\ue000", "\ue001"  # private-use characters around a mention's number while rendering
MARKED = re.compile(f"{MARK_OPEN}(\\d+){MARK_CLOSE}")

# A comment's Delete button asks once more before it sends ``submit`` with the comment's id; Reply sends ``select``
# and Report ``input`` with the comment's id.
DELETE_JS = """
element.addEventListener('click', (event) => {
  const reply = event.target.closest('[data-reply-comment]');
  if (reply && element.contains(reply)) {
    trigger('select', {reply_to: Number(reply.dataset.replyComment)});
    return;
  }
  const report = event.target.closest('[data-report-comment]');
  if (report && element.contains(report)) {
    trigger('input', {comment_id: Number(report.dataset.reportComment)});
    return;
  }
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
.va-replies { list-style: none; margin: 8px 0 0 18px; padding: 0 0 0 12px; display: flex; flex-direction: column;
  gap: 8px; border-left: 2px solid var(--border-color-primary); }
.va-comment-actions { margin-left: auto; display: flex; gap: 6px; }
.va-comment-delete, .va-comment-reply, .va-comment-report { font-size: .85em; cursor: pointer; border-radius: 6px; padding: 1px 8px;
  border: 1px solid var(--border-color-primary); background: transparent; color: var(--body-text-color-subdued); }
.va-comment-delete[data-armed="1"] { border-color: #dc2626; color: #dc2626; }
.va-empty { padding: 16px; text-align: center; color: var(--body-text-color-subdued); }
"""


def can_delete(actor: UserInfo | None, comment: CommentRecord) -> bool:
    """Whether to offer Delete (the server decides again when it is clicked)."""
    return actor is not None and (actor.is_admin or actor.id == comment.user_id)


def body_html(comment: CommentRecord) -> str:
    """The comment's sanitized Markdown, its mentions of existing users as links to their profiles (marked before
    the Markdown is rendered, so a mention inside a link or code cannot break out of it)."""
    known = {username_key(name): name for name in comment.mentions}
    linked: list[str] = []

    def mark(found: re.Match) -> str:
        name = known.get(username_key(found.group(1)))
        if name is None:
            return found.group(0)
        linked.append(name)
        return f"{MARK_OPEN}{len(linked) - 1}{MARK_CLOSE}"

    source = comments.MENTION.sub(mark, comment.body.replace(MARK_OPEN, "").replace(MARK_CLOSE, ""))
    return MARKED.sub(lambda found: link("user", linked[int(found.group(1))], "@" + linked[int(found.group(1))]),
                      render.markdown(source))


def comment_html(actor: UserInfo | None, comment: CommentRecord, lang: str) -> str:
    delete = (f'<button type="button" class="va-comment-delete" data-delete-comment="{comment.id}" '
              f'data-confirm="{render.text(text("comments.confirm_delete", lang))}">{text("comments.delete", lang)}'
              f'</button>' if can_delete(actor, comment) else "")
    reply = (f'<button type="button" class="va-comment-reply" data-reply-comment="{comment.id}">'
             f'{text("comments.reply", lang)}</button>' if actor is not None else "")
    if actor is not None and actor.id != comment.user_id:
        reply += (f'<button type="button" class="va-comment-report" data-report-comment="{comment.id}">'
                  f'{text("report.button", lang)}</button>')
    replies = ('<ol class="va-replies">' + "".join(comment_html(actor, answer, lang) for answer in comment.replies)
               + "</ol>" if comment.replies else "")
    return (f'<li class="va-comment" data-comment-id="{comment.id}"><div class="va-comment-head">'
            f'{user_link(comment.username)}<span class="va-muted">{render.short_date(comment.created_at)}</span>'
            f'<span class="va-comment-actions">{reply}{delete}</span></div>'
            f'<div class="va-comment-body">{body_html(comment)}</div>{replies}</li>')


def comments_html(actor: UserInfo | None, page: Page, lang: str) -> str:
    return render.item_list(page.items, "va-comments", lambda c: comment_html(actor, c, lang),
                            text("comments.be_first" if actor else "comments.log_in_first", lang))


def not_replying() -> tuple:
    """The reply target, its note and Cancel, cleared."""
    return 0, gr.Markdown(visible=False), gr.Button(visible=False)


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
    reply_to: gr.Number  # the comment the next post answers (0: none)
    replying: gr.Markdown  # "Replying to alice"
    cancel_reply: gr.Button
    report_form: ReportForm  # the page's, which a comment's Report opens

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

    def post_comment(self, subject_id, body, reply_to, request: gr.Request):
        lang = request_language(request)
        try:
            comments.comment_on(self.context.store, request_user(self.context, request),
                                Subject(self.kind, self._subject_id(subject_id, lang)), body or "",
                                int(reply_to) if reply_to else None)
        except (TypeError, ValueError):
            raise gr.Error(text("error.choose_comment", lang)) from None
        except VisionaryError as exc:
            raise gr.Error(message(exc.message, lang)) from None
        return "", *not_replying()

    def open_comment_report(self, event: gr.EventData, request: gr.Request):
        """A comment's Report: the page's form, on that comment."""
        return self.report_form.opened("comment", event_value(event, "comment_id"), request_language(request))

    def pick_reply(self, body, event: gr.EventData, request: gr.Request):
        """Reply clicked: the next post answers that comment, the box starts with its author's @name."""
        lang = request_language(request)
        try:
            answered = comments.visible_comment(request_user(self.context, request),
                                                int(event_value(event, "reply_to")))
        except (TypeError, ValueError):
            raise gr.Error(text("error.choose_comment", lang)) from None
        except VisionaryError as exc:
            raise gr.Error(message(exc.message, lang)) from None
        mention = f"@{answered.username} "
        start = body if (body or "").startswith(mention) else mention + (body or "")
        note = text("comments.replying_to", lang, name=render.text(answered.username))
        return start, answered.id, gr.Markdown(note, visible=True), gr.Button(visible=True)

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
                   ids: dict[str, str], report_form: ReportForm) -> tuple[CommentsSection, list]:
    """The section (in the current layout) for the item whose id ``subject_id`` holds; ``ids`` names its parts
    (``body``, ``post``, ``list``, ``pager``, ``target``, ``counter``). Returns it and the events after which the
    item's comment count changed."""
    gr.Markdown(label("comments.heading"))
    comment_list = links.html(css=COMMENTS_CSS, js=DELETE_JS, elem_id=ids["list"])
    pager = build_pager(ids["pager"])
    body = gr.Textbox(label=label("comments.write"), lines=3, placeholder=label("comments.placeholder"),
                      elem_id=ids["body"])
    counter(body, comments.MAX_COMMENT_CHARS, ids["counter"])
    with gr.Row(equal_height=True):
        post = gr.Button(label("comments.post"), variant="primary", scale=0, min_width=160, elem_id=ids["post"])
        replying = gr.Markdown(visible=False, elem_id=ids["post"] + "-replying")
        cancel_reply = gr.Button(label("comments.cancel_reply"), visible=False, size="sm", scale=0, min_width=100,
                                 elem_id=ids["post"] + "-cancel-reply")
    comment_id = gr.Number(visible=False, precision=0, elem_id=ids["target"])
    reply_to = gr.Number(0, visible=False, precision=0, elem_id=ids["target"] + "-reply")
    section = CommentsSection(context, kind, subject_id, comment_list, pager, body, post, comment_id, reply_to,
                              replying, cancel_reply, report_form)
    return section, _wire(section)


def _poster(section: CommentsSection):
    """The Post event, its parameter named for what it comments on (the API's ``model_id`` / ``image_id``)."""
    if section.kind == MODEL:
        def post_comment(model_id, body, reply_to, request: gr.Request):
            return section.post_comment(model_id, body, reply_to, request)
        return post_comment

    def post_image_comment(image_id, body, reply_to, request: gr.Request):
        return section.post_comment(image_id, body, reply_to, request)
    return post_image_comment


def _wire(section: CommentsSection) -> list:
    outputs, api = section.outputs(), "" if section.kind == MODEL else f"_{section.kind}"
    reply_parts = [section.reply_to, section.replying, section.cancel_reply]
    posted = section.post.click(_poster(section), [section.subject_id, section.body, section.reply_to],
                                [section.body, *reply_parts], api_name=f"post{api}_comment")
    section.comments.select(section.pick_reply, section.body, [section.body, *reply_parts], api_visibility="private")
    section.cancel_reply.click(not_replying, None, reply_parts, api_visibility="private")
    section.comments.input(section.open_comment_report, None, section.report_form.outputs(),
                           api_visibility="private")
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
