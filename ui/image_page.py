"""An image's page inside the Gallery tab: the picture, who made it with which model, its prompt and settings,
its post's title, description and tags; Like, "Use these settings", Copy link, Publish (with the post's
details), Delete; and its comments once published."""

from __future__ import annotations

from dataclasses import dataclass

import gradio as gr

from community.comments import IMAGE
from community.gallery import ImageRecord
from core.context import AppContext
from core.errors import VisionaryError
from core.library import library

from . import render
from .collection_picker import build_collection_picker
from .comments_section import CommentsSection, build_comments
from .i18n import DEFAULT_LANGUAGE, label, table, text
from .image_cards import SHOTS_CSS
from .links import NOT_FOUND_CSS, Links, copy_link_button, link, user_link
from .post_form import PostForm, build_post_form
from .rating_control import rating_dropdown
from .report_form import build_report_form, open_with

SKIPPED_KEYS = {"Prompt", "Negative prompt", "Lora hashes dict"}

DETAIL_CSS = """
.va-image { display: grid; grid-template-columns: minmax(0, 1.3fr) minmax(260px, 1fr); gap: 24px; }
@media (max-width: 900px) { .va-image { grid-template-columns: minmax(0, 1fr); } }
.va-image-pic img { display: block; width: 100%; height: auto; max-height: 80vh; object-fit: contain;
  border-radius: 12px; background: var(--background-fill-secondary); }
.va-image-info h4 { margin: 14px 0 4px; }
.va-prompt { white-space: pre-wrap; overflow-wrap: anywhere; margin: 0; padding: 8px 12px; border-radius: 8px;
  background: var(--background-fill-secondary); font-family: var(--font-mono); font-size: .9em; }
.va-params th { width: 1%; white-space: nowrap; color: var(--body-text-color-subdued); font-weight: 500; }
.va-post { grid-column: 1 / -1; }
.va-post-title { margin: 0 0 6px; font-size: 1.6em; overflow-wrap: anywhere; }
.va-post-description { line-height: 1.5; overflow-wrap: anywhere; }
.va-chip { display: inline-block; margin: 6px 4px 0 0; padding: 1px 8px; border-radius: 6px; font-size: .9em;
  background: var(--background-fill-secondary); border: 1px solid var(--border-color-primary); }
"""


def setting_name(key: str, lang: str) -> str:
    """An A1111 parameter's name in ``lang`` where the table has it (``Steps``, ``CFG scale``...), else as written."""
    table_key = "param." + "_".join(key.lower().split())
    return text(table_key, lang) if table_key in table(DEFAULT_LANGUAGE) else key


def parameter_rows(meta: dict, lang: str) -> list[tuple[str, str]]:
    """The parameters' settings as (name, value) rows, ``Size-1``/``Size-2`` joined as ``Size``; the names A1111
    writes in every file are shown in ``lang``."""
    rows = []
    for key, value in meta.items():
        if key in SKIPPED_KEYS or key.endswith("-2"):
            continue
        if key.endswith("-1") and f"{key[:-2]}-2" in meta:
            rows.append((setting_name(key[:-2], lang), f"{value}x{meta[key[:-2] + '-2']}"))
        else:
            rows.append((setting_name(key, lang), str(value)))
    return rows


def _model_line(image: ImageRecord, model_name: str | None, lang: str) -> str:
    if image.model_id is not None and model_name is not None:
        return text("gallery.made_with", lang, model=link("model", image.model_id, model_name))
    if image.model_hash:
        return text("gallery.model_hash", lang, hash=f"<code>{render.text(image.model_hash.upper())}</code>")
    return f'<span class="va-muted">{text("gallery.model_unknown", lang)}</span>'


def _post_html(image: ImageRecord) -> str:
    """The post's title, description (safe Markdown) and tags, where its author gave them."""
    post = image.post
    if post is None or not (post.title or post.description or post.tags):
        return ""
    title = f'<h2 class="va-post-title">{render.text(post.title)}</h2>' if post.title else ""
    description = f'<div class="va-post-description">{render.markdown(post.description)}</div>' \
        if post.description else ""
    tags = "".join(f'<span class="va-chip">{render.text(tag)}</span>' for tag in post.tags)
    return f'<header class="va-post">{title}{description}<div class="va-post-tags">{tags}</div></header>'


def detail_html(image: ImageRecord, model_name: str | None, lang: str) -> str:
    when = text("gallery.published_on", lang, date=render.short_date(image.published_at)) if image.published else \
        f'<span class="va-badge va-badge-private">{text("gallery.private_note", lang)}</span>'
    rows = "".join(f"<tr><th scope='row'>{render.text(k)}</th><td>{render.text(v)}</td></tr>"
                   for k, v in parameter_rows(image.meta, lang))
    negative = (f'<h4>{text("gallery.negative_prompt", lang)}</h4>'
                f'<pre class="va-prompt">{render.text(image.negative_prompt)}</pre>') if image.negative_prompt else ""
    prompt = image.prompt or text("gallery.no_prompt_text", lang)
    return (
        f'<article class="va-image" data-image-id="{image.id}" data-rating="{image.rating}">{_post_html(image)}'
        f'<div class="va-image-pic">'
        f'<img src="{render.text(render.media_url(image.path))}" alt="" width="{image.width}" '
        f'height="{image.height}"></div><div class="va-image-info">'
        f'<div>{text("gallery.by", lang, name=user_link(image.username))} · {when}</div>'
        f'<div class="va-image-model">{_model_line(image, model_name, lang)}</div>'
        f'<h4>{text("gallery.prompt", lang)}</h4><pre class="va-prompt">{render.text(prompt)}</pre>{negative}'
        f'<h4>{text("gallery.settings", lang)}</h4><table class="va-table va-params">{rows}</table>'
        f'<div class="va-muted">{text("gallery.pixels", lang, width=image.width, height=image.height)}</div>'
        f'</div></article>')


def model_name_of(actor, model_id: int | None) -> str | None:
    if model_id is None:
        return None
    try:
        return library.get_model(actor, model_id).name
    except VisionaryError:
        return None


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
    send_img2img: gr.Button
    send_extras: gr.Button
    publish: gr.Button
    post_form: PostForm
    delete: gr.Button
    confirm: gr.Button
    discussion: gr.Column  # the comments, shown once the picture is published
    comments: CommentsSection
    commented: list  # the events after which the comment count changed
    rating: gr.Dropdown  # the content rating, for its owner and the moderators to change

    def outputs(self) -> list:
        return [self.image_id, self.body, self.like, self.like_target, self.parameters, self.use, self.publish,
                self.post_form.group, self.delete, self.confirm, self.discussion, *self.comments.outputs(), self.rating]


def build_detail(context: AppContext, links: Links) -> ImageDetail:
    with gr.Column(visible=False, elem_id="image-page") as column:
        with gr.Row():
            back = gr.Button(label("gallery.back"), size="sm", scale=0, min_width=120, elem_id="image-back")
            copy_link_button("image-copy-link")
            like = gr.Button(label("like.button"), size="sm", scale=0, min_width=120, elem_id="image-like")
            use = gr.Button(label("gallery.use_settings"), size="sm", variant="primary", scale=0, min_width=170,
                            elem_id="image-use-settings")
            send_img2img = gr.Button(label("gallery.send_img2img"), size="sm", scale=0, min_width=150,
                                     elem_id="image-send-img2img")
            send_extras = gr.Button(label("gallery.send_extras"), size="sm", scale=0, min_width=150,
                                    elem_id="image-send-extras")
            publish = gr.Button(label("gallery.publish"), size="sm", scale=0, min_width=120, visible=False,
                                elem_id="image-publish")
            delete = gr.Button(label("gallery.delete"), size="sm", variant="stop", scale=0, min_width=100,
                               visible=False, elem_id="image-delete")
            confirm = gr.Button(label("gallery.confirm_delete"), size="sm", variant="stop", scale=0, min_width=200,
                                visible=False, elem_id="image-delete-confirm")
            report = gr.Button(label("report.button"), size="sm", scale=0, min_width=90,
                               elem_id="image-report-button")
            rating = rating_dropdown("image-rating")
        report_form = build_report_form(context, "image")
        post_form = build_post_form("image-post", visible=False)
        body = links.html(css=SHOTS_CSS + DETAIL_CSS + NOT_FOUND_CSS, elem_id="image-page-body")
        parameters = gr.Textbox(label=label("gallery.parameters"), lines=3, interactive=False, buttons=["copy"],
                                elem_id="image-parameters")
        image_id = gr.Number(visible=False, precision=0, elem_id="image-id")
        like_target = gr.Checkbox(True, visible=False, elem_id="image-like-target")
        build_collection_picker(context, "image", "image", image_id)
        with gr.Column(visible=False, elem_id="image-discussion") as discussion:
            comments, commented = build_comments(context, links, IMAGE, image_id, {
                "list": "image-comments", "pager": "image-comments", "body": "image-comment-body",
                "post": "image-comment-post", "target": "image-comment-target", "counter": "image-comment-counter"},
                report_form)
    open_with(report_form, report, "image", image_id)
    return ImageDetail(column, back, image_id, body, like, like_target, parameters, use, send_img2img, send_extras,
                       publish, post_form, delete, confirm, discussion, comments, commented, rating)
