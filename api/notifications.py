"""One's notifications: the list (``?unread=true`` for the unread ones), marking read, and which kinds to get."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from community import notifications
from core.accounts.accounts import UserInfo
from core.errors import InvalidInput
from core.notifications import OPTIONAL_KINDS

from .deps import get_context, require_user
from .shapes import page_json

router = APIRouter(prefix="/api/v1/notifications", tags=["notifications"])


class ReadBody(BaseModel):
    """Which entry to mark read (its ``id`` from the listing), or ``all``."""

    id: int | None = Field(None, ge=1, le=2**63 - 1)
    all: bool = False


class SettingsBody(BaseModel):
    off: list[str] = Field(default_factory=list, max_length=20)  # the kinds not to be told of


@router.get("")
def listing(request: Request, unread: bool = False, page: int = Query(1, ge=1, le=100_000),
            limit: int = Query(20, ge=1, le=100), cursor: str | None = None,
            user: UserInfo = Depends(require_user)) -> dict:
    """Newest first; likes of one item and follows come as one entry with a ``count``."""
    result = notifications.notifications_of(user, page, limit, unread, cursor)
    body = page_json(request, result, [record.as_dict() for record in result.items])
    body["metadata"]["unreadCount"] = notifications.unread_count(user)
    return body


@router.post("/read")
def mark_read(body: ReadBody, request: Request, user: UserInfo = Depends(require_user)) -> dict:
    store = get_context(request).store
    if body.all:
        return {"unreadCount": notifications.mark_all_read(store, user)}
    if body.id is None:
        raise InvalidInput("name the notification to mark read (id) or send all: true")
    return {"unreadCount": notifications.mark_read(store, user, body.id)}


@router.get("/settings")
def settings(user: UserInfo = Depends(require_user)) -> dict:
    return {"off": notifications.muted_kinds(user), "kinds": list(OPTIONAL_KINDS)}


@router.put("/settings")
def change_settings(body: SettingsBody, request: Request, user: UserInfo = Depends(require_user)) -> dict:
    return {"off": notifications.set_muted_kinds(get_context(request).store, user, body.off),
            "kinds": list(OPTIONAL_KINDS)}
