"""The model page's community part: like button, creator link, sample images and comments.

``mount_model_social`` adds it to a ``ModelPage`` (the like button and the creator's profile beside the
back button; sample images and the comments section (``ui.comments_section``) under the page);
``ModelSocial.values`` fills it for one model. Liking is a public API event (``like_model``); it resolves the user
on the server, and community.likes decides.
"""

from __future__ import annotations

from dataclasses import dataclass

import gradio as gr

from community import gallery, likes
from community.comments import MODEL
from community.gallery import ImageQuery
from core.accounts.accounts import UserInfo
from core.context import AppContext
from core.errors import VisionaryError
from core.library import library_edit
from core.library.library import get_model
from core.library.library_edit import ModelFields
from core.library.model_records import ModelRecord

from .collection_picker import build_collection_picker
from .comments_section import CommentsSection, build_comments
from .i18n import label, message, request_language, text
from .image_cards import SHOTS_CSS, images_grid_html, like_button
from .links import Links
from .model_page import ModelPage, model_page_html
from .rating_control import rating_dropdown
from .report_form import build_report_form, open_with
from .reviews_section import ReviewsSection, build_reviews
from .session import request_user

SAMPLES = 8


def _model_id(value, lang: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise gr.Error(text("error.open_model_first", lang)) from None


@dataclass(frozen=True)
class OwnerControls:
    """Edit, New version and Delete (with a second click to confirm) on the page of one's own model; an admin
    gets them on every model. The server checks again when they are used."""

    edit: gr.Button
    new_version: gr.Button
    delete: gr.Button
    confirm: gr.Button
    rating: gr.Dropdown  # the content rating: its owner's, and the moderators', to change

    def outputs(self) -> list:
        return [self.edit, self.new_version, self.delete, self.confirm, self.rating]

    @staticmethod
    def values(actor: UserInfo | None, model: ModelRecord | None) -> tuple:
        allowed = actor is not None and model is not None and (actor.is_admin or actor.id == model.owner_id)
        rates = model is not None and actor is not None and (actor.can_moderate or actor.id == model.owner_id)
        return (gr.Button(visible=allowed), gr.Button(visible=allowed), gr.Button(visible=allowed),
                gr.Button(visible=False), gr.Dropdown(visible=rates, value=model.rating if model else None))


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
    comments: CommentsSection
    owner_controls: OwnerControls
    reviews: ReviewsSection

    def outputs(self) -> list:
        return [self.model_id, self.like, self.like_target, self.creator, self.creator_button, self.samples,
                *self.comments.outputs(), *self.owner_controls.outputs(), *self.reviews.outputs()]

    def not_found_values(self) -> tuple:
        """For ``outputs`` on the not-found page: the buttons about a model hidden, the rest left as it was."""
        skip = gr.skip()
        return (None, gr.Button(visible=False), skip, "", gr.Button(visible=False), skip,
                *([skip] * len(self.comments.outputs())), *self.owner_controls.values(None, None),
                *self.reviews.hidden_values())

    def values(self, actor: UserInfo | None, model: ModelRecord, lang: str) -> tuple:
        """Everything for ``outputs`` about one model the actor may see."""
        samples = gallery.list_images(actor, ImageQuery(model_id=model.id, limit=SAMPLES))
        return (model.id, *like_button(likes.model_like(actor, model.id), lang), model.owner,
                gr.Button(text("model.creator_profile", lang, name=model.owner), visible=True),
                images_grid_html(samples.items, text("model.no_samples", lang), lang),
                *self.comments.values(actor, model.id, 1, lang), *self.owner_controls.values(actor, model),
                *self.reviews.values(actor, model, lang))

    # ------------------------------------------------------------------ events
    def refresh_body(self, model_id, request: gr.Request):
        """The model page again (its like and comment counts changed)."""
        lang = request_language(request)
        try:
            model = get_model(request_user(self.context, request), _model_id(model_id, lang))
        except VisionaryError as exc:
            raise gr.Error(message(exc.message, lang)) from None
        return model_page_html(model, lang)

    def rate_model(self, model_id, rating, request: gr.Request):
        """The owner's (or a moderator's) content rating for the model; the page again."""
        lang = request_language(request)
        try:
            library_edit.update_model(self.context.store, request_user(self.context, request),
                                      _model_id(model_id, lang), ModelFields(rating=rating or ""))
        except VisionaryError as exc:
            raise gr.Error(message(exc.message, lang)) from None
        gr.Info(text("rating.saved", lang))

    def like_model(self, model_id, like: bool, request: gr.Request):
        lang = request_language(request)
        try:
            state = likes.set_model_like(self.context.store, request_user(self.context, request),
                                         _model_id(model_id, lang), bool(like))
        except VisionaryError as exc:
            raise gr.Error(message(exc.message, lang)) from None
        return like_button(state, lang)


def mount_model_social(context: AppContext, page: ModelPage, links: Links) -> ModelSocial:
    """Add the like button, creator link, sample images and comments to ``page``; wire their events."""
    with page.toolbar:  # re-entered where it was built (inside its tab), so it keeps its place
        like = gr.Button(label("like.button"), size="sm", scale=0, min_width=110, elem_id="model-like")
        creator_button = gr.Button(label("model.creator_button"), size="sm", scale=0, min_width=150,
                                   elem_id="model-creator")
        controls = OwnerControls(
            gr.Button(label("model.edit"), size="sm", scale=0, min_width=90, visible=False, elem_id="model-edit"),
            gr.Button(label("model.new_version"), size="sm", scale=0, min_width=130, visible=False,
                      elem_id="model-new-version"),
            gr.Button(label("model.delete"), size="sm", variant="stop", scale=0, min_width=90, visible=False,
                      elem_id="model-delete"),
            gr.Button(label("model.confirm_delete"), size="sm", variant="stop", scale=0, min_width=200,
                      visible=False, elem_id="model-delete-confirm"),
            rating_dropdown("model-rating"))
        report = gr.Button(label("report.button"), size="sm", scale=0, min_width=90, elem_id="model-report-button")
    with page.forms:
        report_form = build_report_form(context, "model")
    with page.details:
        gr.Markdown(label("model.samples_heading"))
        samples = links.html(css=SHOTS_CSS, elem_id="model-samples")
        model_id = gr.Number(visible=False, precision=0, elem_id="social-model-id")
        build_collection_picker(context, "model", "model", model_id)
        reviews_section = build_reviews(context, links)
        like_target = gr.Checkbox(True, visible=False, elem_id="model-like-target")
        creator = gr.Textbox(visible=False, elem_id="model-creator-name")
        section, commented = build_comments(context, links, MODEL, model_id, {
            "list": "model-comments", "pager": "comments", "body": "comment-body", "post": "comment-post",
            "target": "comment-target", "counter": "comment-counter"}, report_form)
    social = ModelSocial(context, page.body, model_id, like, like_target, creator, creator_button, samples, section,
                         controls, reviews_section)
    links.button(controls.edit, "edit", model_id)
    links.button(controls.new_version, "new_version", model_id)
    controls.delete.click(lambda: gr.Button(visible=True), None, controls.confirm, api_visibility="private")
    links.button(creator_button, "user", creator)
    open_with(report_form, report, "model", model_id)
    _wire(social, commented)
    return social


def _wire(social: ModelSocial, commented: list) -> None:
    refresh = [social.model_id]
    liked = social.like.click(social.like_model, [social.model_id, social.like_target],
                              [social.like, social.like_target], api_name="like_model")
    reviewed = social.reviews.submit.click(social.reviews.review_model,
                                           [social.model_id, social.reviews.verdict, social.reviews.details], None,
                                           api_name="review_model")
    reviewed.success(social.reviews.refresh_reviews, social.model_id, social.reviews.outputs(),
                     api_visibility="private")
    rated = social.owner_controls.rating.input(social.rate_model, [social.model_id, social.owner_controls.rating],
                                               None, api_name="rate_model")
    for changed in (liked, rated, reviewed, *commented):
        changed.success(social.refresh_body, refresh, social.page_body, api_visibility="private")
