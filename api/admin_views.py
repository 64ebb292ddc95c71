"""``GET /api/v1/admin/stats``, ``/audit``, ``/users`` and ``/generation-pool``: what admins look at (the role is checked by the service)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request

from community import admin
from core.accounts.accounts import UserInfo
from core.generation.pool_view import generation_pool

from .deps import get_context, require_user
from .shapes import page_json

router = APIRouter(prefix="/api/v1/admin", tags=["admin"])


@router.get("/stats")
def stats(request: Request, user: UserInfo = Depends(require_user)) -> dict:
    config = get_context(request).config
    return admin.site_stats(user, config.models_path, config.outputs_path).as_dict()


@router.get("/audit")
def audit(request: Request, page: int = Query(1, ge=1, le=100_000), limit: int = Query(50, ge=1, le=100),
          cursor: str | None = None, user: UserInfo = Depends(require_user)) -> dict:
    result = admin.audit_log(user, page, limit, cursor)
    return page_json(request, result, [entry.as_dict() for entry in result.items])


@router.get("/users")
def users(request: Request, query: str = Query("", max_length=64), page: int = Query(1, ge=1, le=100_000),
          limit: int = Query(25, ge=1, le=100), user: UserInfo = Depends(require_user)) -> dict:
    """The site's people (its internal account left out), newest first; ``query`` narrows by name."""
    result = admin.list_users(user, query, page, limit)
    return page_json(request, result, [member.as_dict() for member in result.items])


@router.get("/generation-pool")
def generation_pool_view(request: Request, user: UserInfo = Depends(require_user)) -> dict:
    """The generation backend's replicas (checkpoints held, loads, downloads, runs) and the queue per user."""
    return generation_pool(get_context(request), user)
