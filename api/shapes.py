"""What every Civitai-shaped route shares: type names, list and id parameters, and the paging ``metadata``."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import Path, Query, Request

from core.errors import InvalidInput
from core.paging import Page

CIVITAI_TYPES = {"checkpoint": "Checkpoint", "lora": "LORA", "embedding": "TextualInversion", "vae": "VAE",
                 "upscaler": "Upscaler", "other": "Other"}
TYPE_FROM_CIVITAI = {v.lower(): k for k, v in CIVITAI_TYPES.items()} | {k: k for k in CIVITAI_TYPES}

# Database ids are SQLite's 64-bit integers: a larger number in a request is a 400, not an overflow in the driver.
DB_INT = {"ge": -(2**63), "le": 2**63 - 1}
PathId = Annotated[int, Path(**DB_INT)]
QueryId = Annotated[int | None, Query(**DB_INT)]


def fits_db_int(value: int) -> bool:
    return DB_INT["ge"] <= value <= DB_INT["le"]


def base_url(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def list_param(values: list[str] | None) -> tuple[str, ...]:
    """Civitai list parameters come comma-joined or repeated; accept both."""
    return tuple(part.strip() for value in values or () for part in value.split(",") if part.strip())


def id_list(name: str, values: list[str] | None) -> tuple[int, ...]:
    """A Civitai list of ids (comma-joined or repeated); a 400 naming ``name`` for anything else."""
    parts = list_param(values)
    if not all(part.isdigit() and fits_db_int(int(part)) for part in parts):
        raise InvalidInput(f"{name}: give whole-number ids, comma-separated or repeated")
    return tuple(int(part) for part in parts)


def model_types(values: list[str] | None) -> tuple[str, ...]:
    return tuple(TYPE_FROM_CIVITAI.get(v.lower(), v.lower()) for v in list_param(values))


def _page_link(request: Request, number: int | None) -> str | None:
    if number is None:
        return None
    params = dict(request.query_params) | {"page": str(number)}
    params.pop("cursor", None)
    return f"{base_url(request)}{request.url.path}?{urlencode(params)}"


def page_json(request: Request, page: Page, items: list) -> dict:
    previous = page.page - 1 if page.page > 1 else None
    metadata = {"totalItems": page.total, "currentPage": page.page, "pageSize": page.page_size,
                "totalPages": page.total_pages, "nextPage": _page_link(request, page.next_page),
                "prevPage": _page_link(request, previous), "nextCursor": page.next_cursor}
    return {"items": items, "metadata": metadata}
