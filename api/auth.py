"""``/api/v1/auth/*`` and ``/api/v1/me``."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, Field

from core.accounts import accounts, registration
from core.accounts.accounts import UserInfo
from core.accounts.credentials import credential

from .deps import current_user, get_context, require_user
from .sessions import clear_session_cookie, set_session_cookie

router = APIRouter(prefix="/api/v1", tags=["accounts"])


class Credentials(BaseModel):
    username: str = Field(max_length=256)
    password: str = Field(max_length=1024)


class Registration(Credentials):
    invite_code: str | None = Field(None, max_length=128)


class MeUpdate(BaseModel):
    bio: str | None = Field(None, max_length=2000)
    matureContent: str | None = Field(None, max_length=8)  # hide, blur or show  # noqa: N815


def _is_https(request: Request) -> bool:
    return request.url.scheme == "https"


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _session_reply(request: Request, response: Response, result: accounts.LoginResult) -> dict:
    set_session_cookie(response, result.token, _is_https(request))
    return {"user": result.user.as_dict(), "token": result.token}


@router.post("/auth/register", status_code=201)
def register(body: Registration, request: Request, response: Response) -> dict:
    """Who may register depends on ``--registration``; an admin's invite code (``invite_code``) works in every mode."""
    context = get_context(request)
    user = registration.register(context, body.username, body.password, _client(request), body.invite_code)
    token = accounts.create_session(context.store, user.id)
    return _session_reply(request, response, accounts.LoginResult(user, token))


@router.post("/auth/login")
def login(body: Credentials, request: Request, response: Response) -> dict:
    context = get_context(request)
    result = accounts.login(context.store, context.throttle, body.username, body.password, _client(request))
    return _session_reply(request, response, result)


@router.post("/auth/logout")
def logout(request: Request, response: Response) -> dict:
    token, _ = credential(request.headers, request.cookies)
    accounts.logout(get_context(request).store, token)
    clear_session_cookie(response, _is_https(request))
    return {"ok": True}


@router.get("/me")
def me(user: UserInfo = Depends(require_user)) -> dict:
    return user.as_dict()


@router.patch("/me")
def update_me(body: MeUpdate, request: Request, user: UserInfo = Depends(require_user)) -> dict:
    """One's bio and how mature and explicit content is shown (``matureContent``: hide, blur or show)."""
    store = get_context(request).store
    if body.matureContent is not None:
        user = accounts.set_content_view(store, user, body.matureContent)
    if body.bio is not None:
        user = accounts.update_bio(store, user, body.bio)
    return user.as_dict()


@router.get("/health", include_in_schema=False)
def health(request: Request) -> dict:
    return {"ok": True, "user": (current_user(request) or None) is not None,
            "registration": get_context(request).config.registration_mode}
