"""Model files for generation replicas (``--generation-backend ray``), opened by a per-run worker grant.

``GET /api/v1/worker/files/{sha256}``: the file, resumable (HTTP Range); ``GET /api/v1/worker/configs/{sha256}``:
a single-file checkpoint's configs-only folder as a tar. Both need the ``X-Worker-Grant`` header the web server
signed for that file and that run's user (``core.generation.file_grants``); no session or login is involved.
"""

from __future__ import annotations

import io
import tarfile

from fastapi import APIRouter, Header, Request
from fastapi.responses import FileResponse, Response

from core.errors import NotFound
from core.generation.file_grants import worker_file

from .deps import get_context

router = APIRouter(tags=["worker"])
GRANT_HEADER = "X-Worker-Grant"


def _file(request: Request, sha256: str, grant: str):
    context = get_context(request)
    return worker_file(context.config.models_path, context.worker_secret, grant, sha256.lower())


@router.get("/api/v1/worker/files/{sha256}")
def worker_file_download(sha256: str, request: Request, x_worker_grant: str = Header("")):
    found = _file(request, sha256, x_worker_grant)
    return FileResponse(found.path, media_type="application/octet-stream",
                        headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "private, no-store"})


@router.get("/api/v1/worker/configs/{sha256}")
def worker_config_download(sha256: str, request: Request, x_worker_grant: str = Header("")):
    found = _file(request, sha256, x_worker_grant)
    if found.config_dir is None:
        raise NotFound("this checkpoint has no configs folder beside it (the shipped configs fit it)")
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", dereference=True) as tar:
        for path in sorted(found.config_dir.rglob("*")):
            if path.is_file():
                tar.add(path, arcname=str(path.relative_to(found.config_dir)), recursive=False)
    return Response(buffer.getvalue(), media_type="application/x-tar", headers={"Cache-Control": "private, no-store"})
