"""Gallery tab: published images (newest / most liked, by model, by user, by prompt), one's own images
("My images": publish, upload a PNG/JPEG/WebP), and an image's page (prompt, parameters, like, model link,
"Use these settings", delete).

Pictures are plain ``<img>`` tags on ``/media/<path>``, which checks on every request who may see the
file; nothing goes through Gradio's file route.  Publishing, uploading, liking and deleting are public
API events (``publish_image``, ``upload_image``, ``like_image``, ``delete_image``); each resolves the user
on the server and leaves every rule to community.gallery and community.likes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import gradio as gr

from community import gallery, likes, picture_posts
from community.gallery import ImageQuery
from core.context import AppContext
from core.errors import InvalidInput, NotFound, VisionaryError
from core.library.library_edit import require_login
from core.pictures import read_image_file

from . import render
from .generate_modes import picture_file
from .generate_tab import GenerateTab
from .i18n import label, message, request_language, text
from .image_cards import SHOTS_CSS, images_grid_html, like_button
from .image_page import ImageDetail, build_detail, detail_html, model_name_of
from .links import Links, not_found_html, page_tab, tab_address
from .pager import build_pager, pager_values
from .post_form import post_fields
from .session import request_user

PAGE_SIZE = 24
SORTS = ("newest", "most_liked", "most_liked_week", "most_liked_month", "most_comments_week", "relevance")
# The sorts that rank by one period's events: (the gallery's sort, Civitai's period).
PERIOD_SORTS = {"most_liked_week": ("most_liked", "Week"), "most_liked_month": ("most_liked", "Month"),
                "most_comments_week": ("most_comments", "Week")}
IMAGE_TYPES = [".png", ".jpg", ".jpeg", ".webp"]


# The browse filters are the page's address (``?gallery=<sort>&by=&made_with=&prompt=``).
GALLERY_ADDRESS_JS = """
(words, sort, model, user) => {
  const query = new URLSearchParams({gallery: sort || "newest"});
  if ((user || "").trim()) query.set("by", user.trim());
  if (model) query.set("made_with", model);
  if ((words || "").trim()) query.set("prompt", words.trim());
  window.vaAddress && window.vaAddress.show(JSON.stringify({tab: "gallery", query: "?" + query}));
  return [];
}
"""


def _image_id(value) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise InvalidInput("choose an image") from None


class GalleryEvents:
    """The tab's events; bound methods, so Gradio reads their ``gr.Request`` hints."""

    def __init__(self, context: AppContext, links: Links):
        self.context = context
        self.links = links
        self.detail: ImageDetail | None = None  # the image page, once built (its lists are filled by ``show``)

    def _actor(self, request):
        return request_user(self.context, request)

    def browse(self, query, sort, model, username, page, request: gr.Request):
        lang = request_language(request)
        words = (query or "").strip()
        ranked, period = PERIOD_SORTS.get(sort, (sort if sort != "relevance" or words else "newest", "AllTime"))
        q = ImageQuery(model_id=int(model) if model else None, username=(username or "").strip(), query=words,
                       sort=ranked, period=period, page=max(int(page or 1), 1), limit=PAGE_SIZE)
        try:
            result = gallery.list_images(self._actor(request), q)
        except VisionaryError as exc:
            raise gr.Error(message(exc.message, lang)) from None
        empty = text("gallery.empty" if result.total == 0 else "gallery.no_more", lang)
        return images_grid_html(result.items, empty, lang), *pager_values(result, lang, "images")

    def browse_first(self, query, sort, model, username, request: gr.Request):
        return self.browse(query, sort, model, username, 1, request)

    def browse_previous(self, query, sort, model, username, page, request: gr.Request):
        return self.browse(query, sort, model, username, page - 1, request)

    def browse_next(self, query, sort, model, username, page, request: gr.Request):
        return self.browse(query, sort, model, username, page + 1, request)

    def _models_made_with(self, request: gr.Request) -> list[tuple[str, int | str]]:
        """The model filter's choices: every model with pictures the viewer may see, after "all models"."""
        everything = (text("gallery.all_models", request_language(request)), "")
        return [everything] + [(name, model_id) for model_id, name in gallery.image_models(self._actor(request))]

    def model_choices(self, request: gr.Request):
        return gr.Dropdown(choices=self._models_made_with(request))

    def open_filtered(self, sort, request: gr.Request, params):
        """The ``gallery`` destination of ``ui.links`` (``?gallery=<sort>&by=<user>&made_with=<model>&prompt=``):
        the browse list with those filters."""
        sort = sort if sort in SORTS else "newest"
        choices = self._models_made_with(request)
        made_with = int(params["made_with"]) if str(params.get("made_with", "")).isdigit() else ""
        made_with = made_with if made_with in {model_id for _, model_id in choices} else ""
        words, username = params.get("prompt", ""), params.get("by", "")
        return (gr.Column(visible=True), gr.Column(visible=False), gr.Tabs(selected="gallery-browse"), words, sort,
                gr.Dropdown(choices=choices, value=made_with), username,
                *self.browse(words, sort, made_with, username, 1, request))

    def mine(self, page, request: gr.Request):
        actor = self._actor(request)
        lang = request_language(request)
        if actor is None:
            return (text("gallery.mine_log_in", lang),
                    images_grid_html((), text("gallery.mine_empty_visitor", lang), lang), "", 1,
                    gr.Button(interactive=False), gr.Button(interactive=False))
        result = gallery.list_images(actor, ImageQuery(mine=True, page=max(int(page or 1), 1), limit=PAGE_SIZE))
        return (text("gallery.mine_who", lang, name=render.text(actor.username)),
                images_grid_html(result.items, text("gallery.mine_empty", lang), lang),
                *pager_values(result, lang, "images"))

    def mine_previous(self, page, request: gr.Request):
        return self.mine(page - 1, request)

    def mine_next(self, page, request: gr.Request):
        return self.mine(page + 1, request)

    def show(self, key, request: gr.Request):
        """Open an image's page: values for the browse column, the page's column and ``ImageDetail.outputs``; the
        not-found page for an image that does not exist or is hidden from the viewer."""
        actor = self._actor(request)
        lang = request_language(request)
        try:
            image = gallery.get_image(actor, _image_id(key))
        except (NotFound, InvalidInput):
            hidden = gr.Button(visible=False)
            return (gr.Column(visible=False), gr.Column(visible=True), None, not_found_html("image", lang), hidden,
                    gr.skip(), gr.Textbox(value="", visible=False), hidden, hidden, gr.Accordion(visible=False),
                    hidden, hidden, gr.Column(visible=False), *([gr.skip()] * len(self.detail.comments.outputs())),
                    gr.Dropdown(visible=False))
        except VisionaryError as exc:
            raise gr.Error(message(exc.message, lang)) from None
        state = likes.image_like(actor, image.id) if image.published else likes.LikeState(False, 0)
        owner = actor is not None and actor.id == image.owner_id
        can_delete = actor is not None and (owner or actor.is_admin)
        can_rate = actor is not None and (owner or actor.can_moderate)
        discussion = self.detail.comments.values(actor, image.id, 1, lang) if image.published else \
            [gr.skip()] * len(self.detail.comments.outputs())
        return (gr.Column(visible=False), gr.Column(visible=True), image.id,
                detail_html(image, model_name_of(actor, image.model_id), lang),
                *like_button(state, lang, image.published),
                gr.Textbox(value=image.parameters, visible=True),
                gr.Button(interactive=bool(image.parameters.strip()), visible=True),
                gr.Button(visible=owner and not image.published), gr.Accordion(visible=owner and not image.published),
                gr.Button(visible=can_delete), gr.Button(visible=False), gr.Column(visible=image.published),
                *discussion, gr.Dropdown(visible=can_rate, value=image.rating))

    def open_page(self, key, request: gr.Request, params=None):
        """The ``image`` destination of ``ui.links``."""
        return self.show(key, request)

    def show_uploaded(self, key, request: gr.Request):
        """The page of a picture just uploaded, and its address."""
        return *self.show(key, request), self.links.address_of("image", key)

    def like_image(self, image_id, like: bool, request: gr.Request):
        lang = request_language(request)
        try:
            state = likes.set_image_like(self.context.store, self._actor(request), _image_id(image_id), bool(like))
        except VisionaryError as exc:
            raise gr.Error(message(exc.message, lang)) from None
        return like_button(state, lang)

    def publish_image(self, image_id, title=None, description=None, tags=None, request: gr.Request = None):
        """Publish one's own picture as a post of its own, with the post's optional title, description and tags."""
        lang = request_language(request)
        try:
            image, = picture_posts.publish_images(self.context.store, self._actor(request), [_image_id(image_id)],
                                            post_fields(title, description, tags))
        except VisionaryError as exc:
            raise gr.Error(message(exc.message, lang)) from None
        gr.Info(text("gallery.published", lang))
        return image.id, *self.detail.post_form.cleared()

    def rate_image(self, image_id, rating, request: gr.Request):
        """The owner's (or a moderator's) content rating for the picture."""
        lang = request_language(request)
        try:
            gallery.set_image_rating(self.context.store, self._actor(request), _image_id(image_id), rating or "")
        except VisionaryError as exc:
            raise gr.Error(message(exc.message, lang)) from None
        gr.Info(text("rating.saved", lang))

    def delete_image(self, image_id, request: gr.Request):
        config = self.context.config
        lang = request_language(request)
        try:
            gallery.delete_image(self.context.store, config.outputs_path, self._actor(request), _image_id(image_id))
        except VisionaryError as exc:
            raise gr.Error(message(exc.message, lang)) from None
        gr.Info(text("gallery.deleted", lang))
        return gr.Column(visible=True), gr.Column(visible=False)

    def upload_image(self, file_path, request: gr.Request):
        lang = request_language(request)
        try:
            actor = require_login(self._actor(request))
            if not file_path or not Path(file_path).is_file():
                raise InvalidInput("choose a PNG, JPEG or WebP picture first")
            image = picture_posts.upload_image(self.context.store, self.context.config.outputs_path, actor,
                                         read_image_file(Path(file_path)))
        except VisionaryError as exc:
            raise gr.Error(message(exc.message, lang)) from None
        done = text("gallery.uploaded_linked" if image.model_id else "gallery.uploaded", lang, width=image.width,
                    height=image.height)
        return f'<div class="va-ok">{done}</div>', image.id

    def picture_for_img2img(self, image_id, request: gr.Request) -> str:
        return picture_file(self.context, request, image_id, self.detail.column.GRADIO_CACHE)

    def refresh(self, image_id, request: gr.Request):
        return self.show(image_id, request)[2:]


@dataclass(frozen=True)
class Listing:
    """A list of images with its pager: what fills it (``outputs``) from which ``inputs``."""

    inputs: list
    outputs: list
    triggers: list  # events that show its first page


def _build_browse(events: GalleryEvents, links: Links) -> tuple[Listing, gr.Dropdown]:
    with gr.Row(equal_height=True):
        query = gr.Textbox(label=label("gallery.search_prompts"), placeholder=label("gallery.search_placeholder"),
                           scale=2, elem_id="gallery-query")
        sort = gr.Dropdown(render.sort_choices(SORTS), value="newest", label=label("gallery.sort"),
                           elem_id="gallery-sort")
        model = gr.Dropdown([(label("gallery.all_models"), "")], value="", label=label("gallery.model"),
                            elem_id="gallery-model")
        username = gr.Textbox(label=label("gallery.user"), elem_id="gallery-user")
    grid = links.html(css=SHOTS_CSS, elem_id="gallery-grid")
    pager = build_pager("gallery")
    filters = [query, sort, model, username]
    outputs = [grid, *pager.outputs()]
    pager.previous.click(events.browse_previous, [*filters, pager.number], outputs, api_visibility="private")
    pager.next.click(events.browse_next, [*filters, pager.number], outputs, api_visibility="private")
    return Listing(filters, outputs, [query.submit, username.submit, sort.input, model.input]), model


def _build_mine(events: GalleryEvents, links: Links) -> tuple[Listing, gr.File, gr.Button, gr.HTML]:
    who = gr.Markdown(elem_id="gallery-mine-who")
    with gr.Row(equal_height=True):
        file = gr.File(label=label("gallery.upload_file"), file_types=IMAGE_TYPES, type="filepath", scale=3,
                       elem_id="gallery-upload-file")
        upload = gr.Button(label("gallery.upload_button"), variant="primary", scale=1, elem_id="gallery-upload-button")
    status = gr.HTML(elem_id="gallery-upload-status", css_template=render.BASE_CSS, js_on_load=None)
    grid = links.html(css=SHOTS_CSS, elem_id="gallery-mine-grid")
    pager = build_pager("gallery-mine")
    outputs = [who, grid, *pager.outputs()]
    pager.previous.click(events.mine_previous, pager.number, outputs, api_visibility="private")
    pager.next.click(events.mine_next, pager.number, outputs, api_visibility="private")
    return Listing([pager.number], outputs, []), file, upload, status


def build_gallery_tab(context: AppContext, links: Links, generate: GenerateTab) -> list:
    """The Gallery tab; registers the ``image`` destination with ``links``. Returns the image page's (trigger,
    picture) pair for the Extras tab (built after this one)."""
    events = GalleryEvents(context, links)
    with page_tab("gallery") as tab:
        with gr.Column() as browse_column:
            with gr.Tabs() as sections:
                with gr.Tab(label("gallery.browse"), id="gallery-browse") as browse_tab:
                    browse, model = _build_browse(events, links)
                with gr.Tab(label("gallery.mine"), id="gallery-mine") as mine_tab:
                    mine, file, upload, status = _build_mine(events, links)
        detail = build_detail(context, links)
        picked = gr.State(None)  # the open picture, sent to img2img (inside the tab: the tab bar takes no State)
        picked_for_extras = gr.State(None)  # the same, sent to Extras
    events.detail = detail
    show_outputs = [browse_column, detail.column, *detail.outputs()]
    links.destination("image", "gallery", events.open_page, show_outputs)
    links.destination("gallery", "gallery", events.open_filtered,
                      [browse_column, detail.column, sections, *browse.inputs, *browse.outputs],
                      extras=("by", "made_with", "prompt"))
    gr.on(browse.triggers, None, browse.inputs, None, js=GALLERY_ADDRESS_JS)

    gr.on([tab.select, browse_tab.select, *browse.triggers], events.browse_first, browse.inputs, browse.outputs,
          api_visibility="private", trigger_mode="always_last")
    gr.on([tab.select, browse_tab.select], events.model_choices, None, model, api_visibility="private",
          show_progress="hidden")
    gr.on([tab.select, mine_tab.select], events.mine, mine.inputs, mine.outputs, api_visibility="private")
    detail.back.click(lambda: (gr.Column(visible=True), gr.Column(visible=False), tab_address("gallery")), None,
                      [browse_column, detail.column, links.address], api_visibility="private")
    detail.like.click(events.like_image, [detail.image_id, detail.like_target], [detail.like, detail.like_target],
                      api_name="like_image")
    published = detail.publish.click(events.publish_image, [detail.image_id, *detail.post_form.inputs()],
                                     [detail.image_id, *detail.post_form.inputs()], api_name="publish_image")
    published.success(events.refresh, detail.image_id, detail.outputs(), api_visibility="private")
    detail.delete.click(lambda: gr.Button(visible=True), None, detail.confirm, api_visibility="private")
    rated = detail.rating.input(events.rate_image, [detail.image_id, detail.rating], None, api_name="rate_image")
    rated.success(events.refresh, detail.image_id, detail.outputs(), api_visibility="private")
    deleted = detail.confirm.click(events.delete_image, detail.image_id, [browse_column, detail.column],
                                   api_name="delete_image")
    deleted.success(events.mine, mine.inputs, mine.outputs, api_visibility="private")
    deleted.success(events.browse_first, browse.inputs, browse.outputs, api_visibility="private")
    uploaded = upload.click(events.upload_image, file, [status, detail.image_id], api_name="upload_image")
    uploaded.success(lambda: None, None, file, api_visibility="private")
    uploaded.success(events.mine, mine.inputs, mine.outputs, api_visibility="private")
    uploaded.success(events.show_uploaded, detail.image_id, [*show_outputs, links.address], api_visibility="private")
    generate.receive(detail.use.click, detail.parameters)
    sending = detail.send_img2img.click(events.picture_for_img2img, detail.image_id, picked, api_visibility="private")
    generate.receive_picture(sending.success, detail.parameters, picked)
    to_extras = detail.send_extras.click(events.picture_for_img2img, detail.image_id, picked_for_extras,
                                         api_visibility="private")
    return [(to_extras.success, picked_for_extras)]
