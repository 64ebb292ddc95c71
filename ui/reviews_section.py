"""The reviews part of a model page: the summary ("92% recommend · 25 reviews"), the newest reviews, and for
other members a form: Recommend / Don't recommend, a few words, Submit (sending again edits their review).

The review is of the model's newest version; ``community.reviews`` checks who may review and keeps the counts.
"""

from __future__ import annotations

from dataclasses import dataclass

import gradio as gr

from community import reviews
from community.reviews import ReviewRecord
from core.accounts.accounts import UserInfo
from core.context import AppContext
from core.errors import VisionaryError
from core.library.library import get_model
from core.library.model_records import ModelRecord
from core.paging import Page

from . import render
from .i18n import label, message, plural, request_language, text
from .links import Links, user_link
from .session import request_user

SHOWN_REVIEWS = 10
REVIEWS_CSS = """
.va-reviews { list-style: none; margin: 0; padding: 0; display: flex; flex-direction: column; gap: 8px; }
.va-review { border: 1px solid var(--border-color-primary); border-radius: 10px; padding: 8px 14px; }
.va-review-verdict { font-weight: 600; }
.va-review-body { overflow-wrap: anywhere; }
"""


def summary_text(thumbs_up: int, thumbs_down: int, lang: str) -> str:
    """"92% recommend · 25 reviews", or that there are none yet."""
    count = thumbs_up + thumbs_down
    if not count:
        return text("reviews.none_yet", lang)
    return plural("reviews.summary", count, lang, percent=round(100 * thumbs_up / count))


def review_html(item: ReviewRecord, lang: str) -> str:
    verdict = text("reviews.recommends" if item.recommended else "reviews.does_not_recommend", lang)
    body = f'<div class="va-review-body">{render.text(item.body)}</div>' if item.body else ""
    return (f'<li class="va-review" data-recommended="{int(item.recommended)}">{user_link(item.username)} '
            f'<span class="va-review-verdict">{"👍" if item.recommended else "👎"} {verdict}</span> '
            f'<span class="va-muted">{render.short_date(item.updated_at)}</span>{body}</li>')


def reviews_html(page: Page, lang: str) -> str:
    return render.item_list(page.items, "va-reviews", lambda item: review_html(item, lang))


@dataclass(frozen=True)
class ReviewsSection:
    context: AppContext
    summary: gr.Markdown
    listing: gr.HTML
    form: gr.Column
    verdict: gr.Radio
    details: gr.Textbox
    submit: gr.Button

    def outputs(self) -> list:
        return [self.summary, self.listing, self.form, self.verdict, self.details]

    def values(self, actor: UserInfo | None, model: ModelRecord, lang: str) -> tuple:
        listed = reviews.reviews_of(actor, model.id, limit=SHOWN_REVIEWS)
        newest = model.versions[0].id if model.versions else None
        mine = reviews.my_review(actor, newest) if newest is not None else None
        may_review = actor is not None and actor.id != model.owner_id and newest is not None
        verdict = None if mine is None else ("up" if mine.recommended else "down")
        return (summary_text(model.thumbs_up, model.thumbs_down, lang), reviews_html(listed, lang),
                gr.Column(visible=may_review), verdict, mine.body if mine else "")

    def hidden_values(self) -> tuple:
        return "", "", gr.Column(visible=False), None, ""

    def review_model(self, model_id, verdict, details, request: gr.Request):
        lang = request_language(request)
        if verdict not in ("up", "down"):
            raise gr.Error(text("reviews.choose", lang))
        try:
            actor = request_user(self.context, request)
            model = get_model(actor, int(model_id))
            if not model.versions:
                raise gr.Error(text("reviews.choose", lang))
            reviews.review(self.context.store, actor, model.versions[0].id, verdict == "up", details or "")
        except (TypeError, ValueError):
            raise gr.Error(text("error.open_model_first", lang)) from None
        except VisionaryError as exc:
            raise gr.Error(message(exc.message, lang)) from None
        gr.Info(text("reviews.saved", lang))

    def refresh_reviews(self, model_id, request: gr.Request):
        """The section again, after a review."""
        lang = request_language(request)
        actor = request_user(self.context, request)
        try:
            return self.values(actor, get_model(actor, int(model_id)), lang)
        except (TypeError, ValueError, VisionaryError):
            return self.hidden_values()


def build_reviews(context: AppContext, links: Links) -> ReviewsSection:
    """The section, in the current layout."""
    gr.Markdown(label("reviews.heading"))
    summary = gr.Markdown(elem_id="model-review-summary")
    listing = links.html(css=REVIEWS_CSS, elem_id="model-reviews")
    with gr.Column(visible=False, elem_id="model-review-form") as form:
        verdict = gr.Radio([(label("reviews.recommend"), "up"), (label("reviews.not_recommend"), "down")],
                           label=label("reviews.your_review"), elem_id="model-review-verdict")
        details = gr.Textbox(label=label("reviews.details"), lines=2, max_length=reviews.MAX_REVIEW_CHARS,
                             elem_id="model-review-details")
        submit = gr.Button(label("reviews.submit"), variant="primary", scale=0, min_width=160,
                           elem_id="model-review-submit")
    return ReviewsSection(context, summary, listing, form, verdict, details, submit)
