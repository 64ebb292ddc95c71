"""Safe rendering of user text for the UI, and small display helpers.

User text (names, descriptions, tags, training metadata) never reaches the page
as raw HTML:

- ``text`` escapes plain text for element content and attribute values;
- ``markdown`` renders Markdown with raw HTML disabled (markdown-it-py), then
  sanitizes the result with nh3: a small allowlist of tags, only http, https
  and mailto URLs (relative ones are dropped), every link
  ``rel="nofollow noopener noreferrer"`` and opened in a new tab.
"""

from __future__ import annotations

import html
from typing import Any, Callable
from urllib.parse import quote

import nh3
from gradio.i18n import I18nData
from markdown_it import MarkdownIt

from core.library.base_models import BASE_MODELS, OTHER_BASE
from core.tables import MODEL_TYPES

from .i18n import label
from .i18n import text as translate

ALLOWED_TAGS = frozenset({
    "a", "blockquote", "br", "code", "del", "em", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "img", "li", "ol", "p",
    "pre", "s", "strong", "table", "tbody", "td", "th", "thead", "tr", "ul",
})
URL_SCHEMES = frozenset({"http", "https", "mailto"})
LINK_REL = "nofollow noopener noreferrer"
SIZE_UNITS = ("B", "KB", "MB", "GB", "TB")

# Classes every rendered fragment may use; each gr.HTML adds this to its own (component-scoped) CSS.
BASE_CSS = """
.va-muted { color: var(--body-text-color-subdued); font-size: .9em; font-weight: normal; }
.va-badges { display: flex; flex-wrap: wrap; gap: 4px 6px; }
.va-badge { font-size: .8em; padding: 1px 9px; border-radius: 999px; background: var(--background-fill-secondary);
  border: 1px solid var(--border-color-primary); }
.va-badge-type { background: var(--color-accent-soft); border-color: var(--color-accent); }
.va-badge-private { border-color: #d97706; color: #d97706; }
.va-table { width: 100%; border-collapse: collapse; font-size: .9em; }
.va-table, .va-table tr { border: none; }
.va-table th, .va-table td { border: none; border-top: 1px solid var(--border-color-primary); text-align: left;
  vertical-align: top; padding: 3px 8px; overflow-wrap: anywhere; }
.va-ok { padding: 10px 14px; border-radius: 10px; border: 1px solid #16a34a; background: rgba(22, 163, 74, .08); }
.va-badge-rating { border-color: #dc2626; color: #dc2626; }
[data-rating="mature"] img, [data-rating="explicit"] img, img[data-rating="mature"], img[data-rating="explicit"] {
  filter: var(--va-unsafe-filter, blur(28px)); }
"""


def text(value: object) -> str:
    """Plain text, escaped for HTML content and quoted attribute values."""
    return html.escape("" if value is None else str(value), quote=True)


def item_list(items, css_class: str, item_html: Callable[[Any], str], empty: str = "") -> str:
    """``items`` as an ordered list (``<ol class="css_class">``), or ``empty`` (a translated line; nothing when
    empty) when there are none."""
    if not items:
        return f'<p class="va-empty">{empty}</p>' if empty else ""
    return f'<ol class="{css_class}">' + "".join(item_html(item) for item in items) + "</ol>"


def _allowed_attributes() -> dict[str, set[str]]:
    return {"a": {"href", "title"}, "img": {"src", "alt", "title"}, "ol": {"start"}}


def markdown(source: str | None) -> str:
    """User Markdown as sanitized HTML (raw HTML in the source shows as text)."""
    parser = MarkdownIt("commonmark", {"html": False}).enable(["table", "strikethrough"])
    rendered = parser.render(source or "")
    return nh3.clean(rendered, tags=set(ALLOWED_TAGS), attributes=_allowed_attributes(),
                     url_schemes=set(URL_SCHEMES), url_relative="deny", link_rel=LINK_REL,
                     set_tag_attribute_values={"a": {"target": "_blank"}})


def rating_badge(rating: str, lang: str) -> str:
    """A "Mature" / "Explicit" badge (nothing for safe content)."""
    if rating == "safe":
        return ""
    return f'<span class="va-badge va-badge-rating">{text(translate(f"rating.{rating}", lang))}</span>'


def type_label(kind: str, lang: str) -> str:
    """A model type as people call it ("LoRA"; "Checkpoint" is "大模型" in Chinese)."""
    return translate(f"type.{kind}", lang) if kind in MODEL_TYPES else kind.title()


def base_label(base_model: str, lang: str) -> str:
    """A base model's name (Civitai's names stay; "Other" is translated)."""
    return translate("base.other", lang) if base_model == OTHER_BASE else base_model


def type_choices() -> list[tuple[I18nData, str]]:
    """Model types for a dropdown: translated names, stable values."""
    return [(label(f"type.{kind}"), kind) for kind in MODEL_TYPES]


def base_choices() -> list[tuple[str | I18nData, str]]:
    """Base models for a dropdown: Civitai's names, and "Other" translated."""
    return [(label("base.other") if base == OTHER_BASE else base, base) for base in BASE_MODELS]


PERIODS = ("AllTime", "Year", "Month", "Week", "Day")  # Civitai's, longest first


def period_choices() -> list[tuple[I18nData, str]]:
    """The periods a ranking counts over (Most liked this week …), translated."""
    return [(label(f"period.{period}"), period) for period in PERIODS]


def sort_choices(sorts: tuple[str, ...]) -> list[tuple[I18nData, str]]:
    """Sort orders for a dropdown: translated names, the sort keys as values."""
    return [(label(f"sort.{sort}"), sort) for sort in sorts]


def human_size(size: int, lang: str) -> str:
    """1536 -> '1.5 KB' (binary multiples, as file managers show them)."""
    value, unit = float(size), 0
    while value >= 1024 and unit < len(SIZE_UNITS) - 1:
        value, unit = value / 1024, unit + 1
    return translate("size.bytes", lang, count=size) if unit == 0 else f"{value:.1f} {SIZE_UNITS[unit]}"


def short_date(iso_time: str | None) -> str:
    """'2025-01-31T12:00:00.000Z' -> '2025-01-31'."""
    return (iso_time or "")[:10]


def cover_url(model) -> str | None:
    """A model card's picture: its newest published image, else the preview that came with its file."""
    if model.cover_image:
        return media_url(model.cover_image)
    return f"/api/v1/models/{model.id}/preview" if model.preview_path else None


def media_url(relative_path: str) -> str:
    """The URL of a file under outputs/ (cover images), served at /media/."""
    return "/media/" + quote(relative_path.lstrip("/"))
