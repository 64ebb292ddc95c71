"""``GET /api/download/models/{versionId}``: streamed, resumable (HTTP Range) file downloads."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse

from core.accounts.accounts import UserInfo
from core.errors import NotFound
from core.library import library

from .deps import current_user, get_context
from .safe_paths import resolve_inside
from .shapes import PathId, QueryId

router = APIRouter(tags=["downloads"])


def _is_first_byte_request(request: Request) -> bool:
    """Count a download once: a plain GET, or the Range request that starts at byte 0."""
    value = request.headers.get("range", "")
    return not value or value.replace(" ", "").startswith("bytes=0-")


@router.get("/api/download/models/{version_id}")
def download(version_id: PathId, request: Request, fileId: QueryId = None,
             user: UserInfo | None = Depends(current_user)):
    context = get_context(request)
    target = library.download_target(user, version_id, fileId)
    path = resolve_inside(context.config.models_path, target.stored_path)
    if path is None or not path.is_file():
        raise NotFound("the file is missing from the models folder; an admin can run Rescan")
    if _is_first_byte_request(request):
        library.count_download(context.store, version_id)
    return FileResponse(path, filename=target.original_name, media_type="application/octet-stream",
                        headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "private, no-store"})
