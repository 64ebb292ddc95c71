"""Pictures in lists: the thumbnail grid every list of images uses (Gallery, profiles, search, feed, model pages)
and the like button of a published picture."""

from __future__ import annotations

import gradio as gr

from community import likes
from community.gallery import ImageRecord

from . import render
from .i18n import text
from .links import saveable
from .model_page import private_badge

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


def image_card_html(image: ImageRecord, lang: str) -> str:
    """A clickable thumbnail that opens the image's page."""
    private = "" if image.published else f" · {private_badge(lang, 'hidden' if image.hidden else 'private')}"
    prompt = image.prompt.strip() or text("gallery.no_prompt", lang)
    return (f'<button type="button" class="va-shot" data-open="image" data-key="{image.id}" '
            f'data-rating="{image.rating}" '
            f'aria-label="{render.text(text("gallery.open_image", lang, name=image.username))}">'
            f'<img src="{render.text(render.media_url(image.path))}" alt="" loading="lazy">'
            f'<span class="va-shot-meta"><span class="va-shot-prompt">{render.text(prompt)}</span>'
            f'<span class="va-muted">{render.text(text("gallery.by", lang, name=image.username))} · '
            f'♥ {image.like_count}{private} {render.rating_badge(image.rating, lang)}</span></span></button>')


def saveable_image_card_html(image: ImageRecord, lang: str) -> str:
    return saveable(image_card_html(image, lang), "image", image.id, lang)


def images_grid_html(images, empty: str, lang: str) -> str:
    """Thumbnails, or ``empty`` (Markdown-free plain text saying what to do next)."""
    if not images:
        return f'<p class="va-empty">{render.text(empty)}</p>'
    return '<div class="va-shots">' + "".join(saveable_image_card_html(i, lang) for i in images) + "</div>"


def like_button(state: likes.LikeState, lang: str, visible: bool = True) -> tuple:
    """The like button and what a click on it asks for (like, or unlike)."""
    caption = text("like.liked" if state.liked else "like.like", lang, count=state.likes)
    return gr.Button(caption, variant="primary" if state.liked else "secondary", visible=visible), not state.liked
