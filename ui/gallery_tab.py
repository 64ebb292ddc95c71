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

from community import gallery, likes
from community.gallery import ImageQuery, ImageRecord
from community.image_upload import read_image_file
from core.context import AppContext
from core.errors import InvalidInput, NotFound, VisionaryError
from core.library import library
from core.library.library_edit import require_login

from . import render
from .generate_tab import GenerateTab
from .i18n import label, message, request_language, text
from .links import NOT_FOUND_CSS, Links, copy_link_button, link, not_found_html, page_tab, tab_address, user_link
from .model_page import private_badge
from .pager import build_pager, pager_values
from .session import request_user

PAGE_SIZE = 24
SORTS = ("newest", "most_liked", "relevance")
IMAGE_TYPES = [".png", ".jpg", ".jpeg", ".webp"]
SKIPPED_KEYS = {"Prompt", "Negative prompt", "Lora hashes dict"}

SHOTS_CSS = """
.va-shots { display: grid; grid-template-columns: repeat(auto-fill, minmax(180px, 1fr)); gap: 14px; }
.va-shot { display: flex; flex-direction: column; padding: 0; text-align: left; cursor: pointer; overflow: hidden;
  border: 1px solid var(--border-color-primary); border-radius: 12px; background: var(--block-background-fill);
  color: var(--body-text-color); font: inherit; }
.va-shot:hover, .va-shot:focus-visible { outline: 2px solid var(--color-accent); outline-offset: -2px; }
.va-shot img { display: block; width: 100%; aspect-ratio: 1; object-fit: cover;
  background: var(--background-fill-secondary); }
.va-shot-meta { display: flex; flex-direction: column; gap: 2px; padding: 8px 10px 10px; font-size: .85em; }
.va-shot-prompt { display: -webkit-box; -webkit-line-clamp: 2; -webkit-box-orient: vertical; overflow: hidden;
  overflow-wrap: anywhere; }
.va-empty { padding: 32px; text-align: center; color: var(--body-text-color-subdued); }
"""

DETAIL_CSS = """
.va-image { display: grid; grid-template-columns: minmax(0, 1.3fr) minmax(260px, 1fr); gap: 24px; }
@media (max-width: 900px) { .va-image { grid-template-columns: minmax(0, 1fr); } }
.va-image-pic img { display: block; width: 100%; height: auto; max-height: 80vh; object-fit: contain;
  border-radius: 12px; background: var(--background-fill-secondary); }
.va-image-info h4 { margin: 14px 0 4px; }
.va-prompt { white-space: pre-wrap; overflow-wrap: anywhere; margin: 0; padding: 8px 12px; border-radius: 8px;
  background: var(--background-fill-secondary); font-family: var(--font-mono); font-size: .9em; }
.va-params th { width: 1%; white-space: nowrap; color: var(--body-text-color-subdued); font-weight: 500; }
"""


def image_card_html(image: ImageRecord, lang: str) -> str:
    """A clickable thumbnail that opens the image's page."""
    private = "" if image.published else f" · {private_badge(lang)}"
    prompt = image.prompt.strip() or text("gallery.no_prompt", lang)
    return (f'<button type="button" class="va-shot" data-open="image" data-key="{image.id}" '
            f'aria-label="{render.text(text("gallery.open_image", lang, name=image.username))}">'
            f'<img src="{render.text(render.media_url(image.path))}" alt="" loading="lazy">'
            f'<span class="va-shot-meta"><span class="va-shot-prompt">{render.text(prompt)}</span>'
            f'<span class="va-muted">{render.text(text("gallery.by", lang, name=image.username))} · '
            f'♥ {image.like_count}{private}</span></span></button>')


def images_grid_html(images, empty: str, lang: str) -> str:
    """Thumbnails, or ``empty`` (Markdown-free plain text saying what to do next)."""
    if not images:
        return f'<p class="va-empty">{render.text(empty)}</p>'
    return '<div class="va-shots">' + "".join(image_card_html(i, lang) for i in images) + "</div>"


def parameter_rows(meta: dict) -> list[tuple[str, str]]:
    """The parameters' settings as (name, value) rows, ``Size-1``/``Size-2`` joined as ``Size``."""
    rows = []
    for key, value in meta.items():
        if key in SKIPPED_KEYS or key.endswith("-2"):
            continue
        if key.endswith("-1") and f"{key[:-2]}-2" in meta:
            rows.append((key[:-2], f"{value}x{meta[key[:-2] + '-2']}"))
        else:
            rows.append((key, str(value)))
    return rows


def _model_line(image: ImageRecord, model_name: str | None, lang: str) -> str:
    if image.model_id is not None and model_name is not None:
        return text("gallery.made_with", lang, model=link("model", image.model_id, model_name))
    if image.model_hash:
        return text("gallery.model_hash", lang, hash=f"<code>{render.text(image.model_hash.upper())}</code>")
    return f'<span class="va-muted">{text("gallery.model_unknown", lang)}</span>'


def detail_html(image: ImageRecord, model_name: str | None, lang: str) -> str:
    when = text("gallery.published_on", lang, date=render.short_date(image.published_at)) if image.published else \
        f'<span class="va-badge va-badge-private">{text("gallery.private_note", lang)}</span>'
    rows = "".join(f"<tr><th scope='row'>{render.text(k)}</th><td>{render.text(v)}</td></tr>"
                   for k, v in parameter_rows(image.meta))
    negative = (f'<h4>{text("gallery.negative_prompt", lang)}</h4>'
                f'<pre class="va-prompt">{render.text(image.negative_prompt)}</pre>') if image.negative_prompt else ""
    prompt = image.prompt or text("gallery.no_prompt_text", lang)
    return (
        f'<article class="va-image" data-image-id="{image.id}"><div class="va-image-pic">'
        f'<img src="{render.text(render.media_url(image.path))}" alt="" width="{image.width}" '
        f'height="{image.height}"></div><div class="va-image-info">'
        f'<div>{text("gallery.by", lang, name=user_link(image.username))} · {when}</div>'
        f'<div class="va-image-model">{_model_line(image, model_name, lang)}</div>'
        f'<h4>{text("gallery.prompt", lang)}</h4><pre class="va-prompt">{render.text(prompt)}</pre>{negative}'
        f'<h4>{text("gallery.settings", lang)}</h4><table class="va-table va-params">{rows}</table>'
        f'<div class="va-muted">{text("gallery.pixels", lang, width=image.width, height=image.height)}</div>'
        f'</div></article>')


def like_button(state: likes.LikeState, lang: str, visible: bool = True) -> tuple:
    """The like button and what a click on it asks for (like, or unlike)."""
    caption = text("like.liked" if state.liked else "like.like", lang, count=state.likes)
    return gr.Button(caption, variant="primary" if state.liked else "secondary", visible=visible), not state.liked


def model_name_of(actor, model_id: int | None) -> str | None:
    if model_id is None:
        return None
    try:
        return library.get_model(actor, model_id).name
    except VisionaryError:
        return None


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


@dataclass(frozen=True)
class ImageDetail:
    """The image page inside the Gallery tab, hidden until an image is opened."""

    column: gr.Column
    back: gr.Button
    image_id: gr.Number
    body: gr.HTML
    like: gr.Button
    like_target: gr.Checkbox
    parameters: gr.Textbox
    use: gr.Button
    publish: gr.Button
    delete: gr.Button
    confirm: gr.Button

    def outputs(self) -> list:
        return [self.image_id, self.body, self.like, self.like_target, self.parameters, self.use, self.publish,
                self.delete, self.confirm]


def build_detail(links: Links) -> ImageDetail:
    with gr.Column(visible=False, elem_id="image-page") as column:
        with gr.Row():
            back = gr.Button(label("gallery.back"), size="sm", scale=0, min_width=120, elem_id="image-back")
            copy_link_button("image-copy-link")
            like = gr.Button(label("like.button"), size="sm", scale=0, min_width=120, elem_id="image-like")
            use = gr.Button(label("gallery.use_settings"), size="sm", variant="primary", scale=0, min_width=170,
                            elem_id="image-use-settings")
            publish = gr.Button(label("gallery.publish"), size="sm", scale=0, min_width=120, visible=False,
                                elem_id="image-publish")
            delete = gr.Button(label("gallery.delete"), size="sm", variant="stop", scale=0, min_width=100,
                               visible=False, elem_id="image-delete")
            confirm = gr.Button(label("gallery.confirm_delete"), size="sm", variant="stop", scale=0, min_width=200,
                                visible=False, elem_id="image-delete-confirm")
        body = links.html(css=SHOTS_CSS + DETAIL_CSS + NOT_FOUND_CSS, elem_id="image-page-body")
        parameters = gr.Textbox(label=label("gallery.parameters"), lines=3, interactive=False, buttons=["copy"],
                                elem_id="image-parameters")
        image_id = gr.Number(visible=False, precision=0, elem_id="image-id")
        like_target = gr.Checkbox(True, visible=False, elem_id="image-like-target")
    return ImageDetail(column, back, image_id, body, like, like_target, parameters, use, publish, delete, confirm)


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

    def _actor(self, request):
        return request_user(self.context, request)

    def browse(self, query, sort, model, username, page, request: gr.Request):
        lang = request_language(request)
        words = (query or "").strip()
        q = ImageQuery(model_id=int(model) if model else None, username=(username or "").strip(), query=words,
                       sort=sort if sort != "relevance" or words else "newest", page=max(int(page or 1), 1),
                       limit=PAGE_SIZE)
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
                    gr.skip(), gr.Textbox(value="", visible=False), hidden, hidden, hidden, hidden)
        except VisionaryError as exc:
            raise gr.Error(message(exc.message, lang)) from None
        state = likes.image_like(actor, image.id) if image.published else likes.LikeState(False, 0)
        owner = actor is not None and actor.id == image.owner_id
        can_delete = actor is not None and (owner or actor.is_admin)
        return (gr.Column(visible=False), gr.Column(visible=True), image.id,
                detail_html(image, model_name_of(actor, image.model_id), lang),
                *like_button(state, lang, image.published),
                gr.Textbox(value=image.parameters, visible=True),
                gr.Button(interactive=bool(image.parameters.strip()), visible=True),
                gr.Button(visible=owner and not image.published), gr.Button(visible=can_delete),
                gr.Button(visible=False))

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

    def publish_image(self, image_id, request: gr.Request):
        lang = request_language(request)
        try:
            image = gallery.publish_image(self.context.store, self._actor(request), _image_id(image_id))
        except VisionaryError as exc:
            raise gr.Error(message(exc.message, lang)) from None
        gr.Info(text("gallery.published", lang))
        return image.id

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
            image = gallery.upload_image(self.context.store, self.context.config.outputs_path, actor,
                                         read_image_file(Path(file_path)))
        except VisionaryError as exc:
            raise gr.Error(message(exc.message, lang)) from None
        done = text("gallery.uploaded_linked" if image.model_id else "gallery.uploaded", lang, width=image.width,
                    height=image.height)
        return f'<div class="va-ok">{done}</div>', image.id

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


def build_gallery_tab(context: AppContext, links: Links, generate: GenerateTab) -> None:
    """The Gallery tab; registers the ``image`` destination with ``links``."""
    events = GalleryEvents(context, links)
    with page_tab("gallery") as tab:
        with gr.Column() as browse_column:
            with gr.Tabs() as sections:
                with gr.Tab(label("gallery.browse"), id="gallery-browse") as browse_tab:
                    browse, model = _build_browse(events, links)
                with gr.Tab(label("gallery.mine"), id="gallery-mine") as mine_tab:
                    mine, file, upload, status = _build_mine(events, links)
        detail = build_detail(links)
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
    published = detail.publish.click(events.publish_image, detail.image_id, detail.image_id, api_name="publish_image")
    published.success(events.refresh, detail.image_id, detail.outputs(), api_visibility="private")
    detail.delete.click(lambda: gr.Button(visible=True), None, detail.confirm, api_visibility="private")
    deleted = detail.confirm.click(events.delete_image, detail.image_id, [browse_column, detail.column],
                                   api_name="delete_image")
    deleted.success(events.mine, mine.inputs, mine.outputs, api_visibility="private")
    deleted.success(events.browse_first, browse.inputs, browse.outputs, api_visibility="private")
    uploaded = upload.click(events.upload_image, file, [status, detail.image_id], api_name="upload_image")
    uploaded.success(lambda: None, None, file, api_visibility="private")
    uploaded.success(events.mine, mine.inputs, mine.outputs, api_visibility="private")
    uploaded.success(events.show_uploaded, detail.image_id, [*show_outputs, links.address], api_visibility="private")
    generate.receive(detail.use.click, detail.parameters)
