"""Who is calling ``/sdapi/v1``: HTTP Basic credentials (as A1111's ``--api-auth``), else the session.

A1111 clients send ``Authorization: Basic base64(username:password)`` with
every request; the password is checked with bcrypt through the accounts
service (login throttle, bans), and a success is cached briefly in the app
context. Without Basic credentials the session cookie or ``Authorization:
Bearer <token>`` counts, as everywhere else; with neither, ``--sdapi-anonymous-user NAME`` (off by default) makes the
request that user's, as A1111 (which has no accounts) serves its tools on a hobbyist's own machine. Browsers remember Basic
credentials and send them cross-site, so Basic-authenticated writes from a
foreign origin are refused like cookie-authenticated ones.
"""

from __future__ import annotations

import base64
from typing import Mapping

from fastapi import Depends, Request

from core.accounts.accounts import UserInfo, get_user
from core.accounts.credential_cache import authenticate_cached
from core.errors import Forbidden, NotAuthenticated

from .cross_origin import SiteOrigin
from .deps import current_user, get_context
from .guards import WRITE_METHODS

CHALLENGE = {"WWW-Authenticate": 'Basic realm="Visionary Art", charset="UTF-8"'}


def basic_credentials(headers: Mapping[str, str]) -> tuple[str, str] | None:
    """``(username, password)`` from ``Authorization: Basic ...``; None for any other scheme."""
    scheme, _, value = (headers.get("authorization") or "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except ValueError:  # not base64, a character outside ASCII, or not UTF-8
        raise NotAuthenticated("malformed Basic credentials: expected base64 of username:password") from None
    username, sep, password = decoded.partition(":")
    if not sep:
        raise NotAuthenticated("malformed Basic credentials: expected base64 of username:password")
    return username, password


def sdapi_user(request: Request) -> UserInfo | None:
    """The caller (None for a visitor); wrong Basic credentials are a 401, a banned account a 403."""
    context = get_context(request)
    credentials = basic_credentials(request.headers)
    if credentials is None:
        user = current_user(request) or anonymous_user(context.config.sdapi_anonymous_user)
    elif request.method in WRITE_METHODS and SiteOrigin(context.config.public_origin).is_cross_site(request.headers):
        raise Forbidden("cross-site request refused")
    else:
        client = request.client.host if request.client else "unknown"
        user = authenticate_cached(context.throttle, context.credentials, *credentials, client)
    if user is None and context.config.private:
        raise NotAuthenticated("this instance is private: log in first")
    return user


def anonymous_user(name: str | None) -> UserInfo | None:
    """``--sdapi-anonymous-user``: the account that credential-less A1111 tools act as (None when unset); banned
    since the start, it is refused as any banned caller."""
    if not name:
        return None
    user = get_user(name)
    if user.is_banned:
        raise Forbidden("this account is banned")
    return user


def require_sdapi_user(user: UserInfo | None = Depends(sdapi_user)) -> UserInfo:
    if user is None:
        raise NotAuthenticated("log in first: HTTP Basic (username and password), the session cookie "
                               "or Authorization: Bearer <token>")
    return user
