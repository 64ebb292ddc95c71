"""``/api/v1/admin/*``: admin actions (the role is re-checked by the service)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from community import admin
from core.accounts import accounts, invites
from core.accounts.accounts import UserInfo

from .deps import get_context, require_user
from .shapes import page_json

router = APIRouter(prefix="/api/v1/admin", tags=["admin"])


@router.post("/users/{username}/ban")
def ban(username: str, request: Request, user: UserInfo = Depends(require_user)) -> dict:
    return accounts.set_banned(get_context(request).store, user, username, True).as_dict()


@router.post("/users/{username}/unban")
def unban(username: str, request: Request, user: UserInfo = Depends(require_user)) -> dict:
    return accounts.set_banned(get_context(request).store, user, username, False).as_dict()


@router.put("/users/{username}/moderator")
def grant_moderator(username: str, request: Request, user: UserInfo = Depends(require_user)) -> dict:
    """Make a user a moderator: they work the moderation queue."""
    return accounts.set_moderator(get_context(request).store, user, username, True).as_dict()


@router.delete("/users/{username}/moderator")
def revoke_moderator(username: str, request: Request, user: UserInfo = Depends(require_user)) -> dict:
    return accounts.set_moderator(get_context(request).store, user, username, False).as_dict()


@router.post("/rescan")
def rescan(request: Request, user: UserInfo = Depends(require_user)) -> dict:
    """Re-read models_dir: new files join the library, removed ones leave it."""
    return admin.rescan_models(get_context(request), user).as_dict()


class InviteRequest(BaseModel):
    expires_in_days: int | None = Field(None, description="days the code stays valid; null: it never expires")


@router.post("/invites", status_code=201)
def make_invite(request: Request, body: InviteRequest | None = None, user: UserInfo = Depends(require_user)) -> dict:
    """A new single-use invite code; the reply is the only time the code is shown."""
    expires_in_days = body.expires_in_days if body else None
    return invites.create_invite(get_context(request).store, user, expires_in_days).as_dict()


@router.get("/invites")
def list_invites(request: Request, page: int = Query(1, ge=1, le=100_000), limit: int = Query(50, ge=1, le=100),
                 cursor: str | None = None, user: UserInfo = Depends(require_user)) -> dict:
    """Every invite, newest first, with who made and who used it (never the codes)."""
    result = invites.list_invites(user, page, limit, cursor)
    return page_json(request, result, [invite.as_dict() for invite in result.items])
