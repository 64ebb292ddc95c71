"""``/api/v1/admin/*``: admin actions (the role is re-checked by the service)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from community import accounts, admin
from community.accounts import UserInfo

from .deps import get_context, require_user

router = APIRouter(prefix="/api/v1/admin", tags=["admin"])


@router.post("/users/{username}/ban")
def ban(username: str, request: Request, user: UserInfo = Depends(require_user)) -> dict:
    return accounts.set_banned(get_context(request).store, user, username, True).as_dict()


@router.post("/users/{username}/unban")
def unban(username: str, request: Request, user: UserInfo = Depends(require_user)) -> dict:
    return accounts.set_banned(get_context(request).store, user, username, False).as_dict()


@router.post("/rescan")
def rescan(request: Request, user: UserInfo = Depends(require_user)) -> dict:
    """Re-read models_dir: new files join the library, removed ones leave it."""
    return admin.rescan_models(get_context(request), user).as_dict()
