"""What the page at ``/`` says in its ``<head>`` before Gradio's own tags.

- ``HEAD_SCRIPT`` (``ui.i18n``): the page's language, first thing, before Gradio's scripts read it;
- for a shared address (``/?model=12``, ``/?image=56``, ``/?user=alice``, see ``ui.links``), the Open Graph and
  Twitter card tags that chat apps and social sites read to preview a pasted link: the item's name, a line about
  it and its picture. They describe only what a visitor may see: a private or missing item, and every item of a
  ``--private`` site, get the site's own card.

Only that page's body is buffered (an HTML page, not compressed); every other response streams through.
"""

from __future__ import annotations

import html
import re
from typing import Mapping
from urllib.parse import parse_qsl

import anyio

from community import gallery
from core.accounts import accounts
from core.context import AppContext
from core.errors import VisionaryError
from core.library import library

from . import render
from .i18n import HEAD_SCRIPT

SITE_NAME = "Visionary Art"
SITE_LINE = "A self-hosted place to share Stable Diffusion models and pictures, and to make new ones."
DESCRIPTION_CHARS = 200
MAX_ID = 2**63 - 1
# Gradio's own preview tags (a generic "Gradio" card), dropped so that only this page's card is read.
GRADIO_CARD_TAGS = re.compile(rb'<meta (?:property="og:|name="twitter:)[^>]*>\s*')


def _one_line(value: str, limit: int = DESCRIPTION_CHARS) -> str:
    """User text as one plain line (Markdown marks and extra spaces dropped), at most ``limit`` characters."""
    plain = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", value or "")  # [text](url) and images: their text
    flat = re.sub(r"\s+", " ", re.sub(r"[#*_`>|~]+", " ", plain)).strip()
    return flat if len(flat) <= limit else flat[:limit - 1].rstrip() + "…"


def _id(value: str) -> int | None:
    return int(value) if value.isdigit() and int(value) <= MAX_ID else None


def _model_card(key: str) -> dict:
    model = library.get_model(None, _id(key) or 0)
    line = _one_line(model.description) or f"{model.type} · {model.base_model} · by {model.owner}"
    return {"title": f"{model.name} · {SITE_NAME}", "description": line, "image": render.cover_url(model)}


def _image_card(key: str) -> dict:
    image = gallery.get_image(None, _id(key) or 0)
    return {"title": f"Picture by {image.username} · {SITE_NAME}", "description": _one_line(image.prompt),
            "image": render.media_url(image.path)}


def _user_card(key: str) -> dict:
    user = accounts.get_user(key)
    return {"title": f"{user.username} · {SITE_NAME}", "description": _one_line(user.bio) or SITE_LINE,
            "image": None}


CARDS = {"model": _model_card, "image": _image_card, "user": _user_card}


def share_card(context: AppContext, params: Mapping[str, str]) -> dict:
    """The preview of the page at an address: the item's, else the site's own."""
    site = {"title": SITE_NAME, "description": SITE_LINE, "image": None}
    if context.config.private:
        return site
    for param, card in CARDS.items():
        if params.get(param):
            try:
                return card(params[param])
            except VisionaryError:
                return site
    return site


def share_tags(card: dict, page_url: str, origin: str) -> str:
    """The ``<meta>`` tags of a preview, every value escaped; pictures as absolute URLs."""
    tags = [("og:site_name", SITE_NAME), ("og:type", "website"), ("og:url", page_url),
            ("og:title", card["title"]), ("og:description", card["description"])]
    if card["image"]:
        tags.append(("og:image", origin + card["image"]))
    tags += [("twitter:card", "summary_large_image" if card["image"] else "summary"),
             ("twitter:title", card["title"]), ("twitter:description", card["description"])]
    attribute = {"og": "property", "twitter": "name"}
    return "".join(f'<meta {attribute[name.split(":")[0]]}="{name}" content="{html.escape(value, quote=True)}">'
                   for name, value in tags) + f'<meta name="description" ' \
                                              f'content="{html.escape(card["description"], quote=True)}">'


def _origin(scope, public_origin: str | None) -> str:
    if public_origin:
        return public_origin.rstrip("/")
    headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
    host = headers.get("host") or f"{scope['server'][0]}:{scope['server'][1]}"
    return f"{scope.get('scheme', 'http')}://{host}"


class PageHead:
    """ASGI middleware: the page at ``/`` gets ``HEAD_SCRIPT`` and its share preview first in its ``<head>``."""

    def __init__(self, app, context: AppContext):
        self.app = app
        self.context = context

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and scope.get("method") == "GET" and scope.get("path") == "/":
            query = scope.get("query_string", b"").decode("latin-1")
            params = dict(parse_qsl(query))
            card = await anyio.to_thread.run_sync(share_card, self.context, params)
            origin = _origin(scope, self.context.config.public_origin)
            page_url = origin + "/" + (f"?{query}" if query else "")
            send = _HeadWriter(send, HEAD_SCRIPT + share_tags(card, page_url, origin))
        await self.app(scope, receive, send)


class _HeadWriter:
    """The ``send`` of one response to ``GET /``: inserts ``head`` after ``<head>`` of an HTML body."""

    def __init__(self, send, head: str):
        self.send = send
        self.head = head.encode()
        self.start: dict | None = None
        self.chunks: list[bytes] = []

    async def __call__(self, message: dict) -> None:
        if message["type"] == "http.response.start" and _is_plain_html(message["headers"]):
            self.start = message
            return
        if message["type"] != "http.response.body" or self.start is None:
            await self.send(message)
            return
        self.chunks.append(message.get("body", b""))
        if message.get("more_body"):
            return
        body = GRADIO_CARD_TAGS.sub(b"", b"".join(self.chunks)).replace(b"<head>", b"<head>" + self.head, 1)
        headers = [(k, v) for k, v in self.start["headers"] if k.lower() != b"content-length"]
        await self.send({**self.start, "headers": [*headers, (b"content-length", str(len(body)).encode())]})
        await self.send({"type": "http.response.body", "body": body})


def _is_plain_html(headers: list[tuple[bytes, bytes]]) -> bool:
    names = {k.lower(): v.lower() for k, v in headers}
    return names.get(b"content-type", b"").startswith(b"text/html") and b"content-encoding" not in names
