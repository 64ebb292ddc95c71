"""Request guards that sit in front of every route, Gradio's included.

A pure ASGI middleware (it never buffers a body, so multi-GB uploads stream):
- refuses cookie-authenticated writes from another origin (CSRF; api/cross_origin.py says which origin is
  this site's; HTTP Basic, which browsers also send by themselves, is checked by api/basic_auth.py);
- gives another origin no CORS permission: its preflights are refused and its responses carry no
  ``Access-Control-*`` header, whatever Gradio's own CORS middleware behind this one would allow;
- closes Gradio's upload route to visitors, and every API, A1111 and media route to a banned account's session
  (403 "this account is banned", as the login says);
- with ``--private``, closes the API, downloads and file routes to visitors;
- slides the session cookie's expiry forward when the session was extended.
"""

from __future__ import annotations

import json
from http.cookies import SimpleCookie

import anyio
from peewee import DatabaseError as PeeweeDatabaseError

from core.accounts.accounts import hash_token, resolve_session
from core.accounts.credentials import credential
from core.errors import Forbidden
from core.store import DATABASE_GONE, is_connection_lost

from .cross_origin import SiteOrigin, is_preflight, without_cors_headers
from .sessions import session_cookie_header

WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
GRADIO_UPLOAD_PATHS = {"/upload", "/gradio_api/upload"}
PRIVATE_OPEN_PATHS = {"/api/v1/auth/login", "/api/v1/auth/register", "/api/v1/health"}
PRIVATE_OPEN_PREFIXES = ("/api/v1/worker/",)  # generation replicas: opened by a per-run grant (api/worker_files.py)
# Where a banned account's session gets through as no login: the page (its events then say why, and it logs the
# session out to clear the cookie), logging out, and the routes that log in with other credentials.
OPEN_TO_BANNED_SESSIONS = {"/", "/api/v1/auth/login", "/api/v1/auth/register", "/api/v1/auth/logout"}
# /sdapi/ closes itself (api/basic_auth.py): its clients log in with HTTP Basic, which this guard does not check.
PRIVATE_CLOSED_PREFIXES = ("/api/", "/media/", "/gradio_api/file=", "/file=", "/gradio_api/upload")
API_PREFIXES = ("/api/", "/sdapi/", "/media/")


def _headers(scope) -> dict[str, str]:
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}


def _cookies(headers: dict[str, str]) -> dict[str, str]:
    jar = SimpleCookie()
    try:
        jar.load(headers.get("cookie", ""))
    except Exception:
        return {}
    return {key: morsel.value for key, morsel in jar.items()}


async def _send_json(send, status: int, message: str) -> None:
    body = json.dumps({"error": message}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


class Guards:
    def __init__(self, app, context):
        self.app = app
        self.context = context
        self.site = SiteOrigin(context.config.public_origin)

    def _needs_user(self, method: str, path: str, token: str | None) -> bool:
        if path == "/" or (method == "POST" and path in GRADIO_UPLOAD_PATHS):
            return True
        if token and path.startswith(API_PREFIXES):  # a banned account's token is refused on every API route
            return True
        return self.context.config.private and path.startswith(PRIVATE_CLOSED_PREFIXES)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        method, path = scope["method"], scope["path"]
        headers = _headers(scope)
        token, from_cookie = credential(headers, _cookies(headers))
        foreign = self.site.is_foreign(headers)
        if foreign and is_preflight(method, headers):
            return await _send_json(send, 403, "cross-origin requests to this site are not allowed")
        if method in WRITE_METHODS and from_cookie and self.site.is_cross_site(headers):
            return await _send_json(send, 403, "cross-site request refused")
        if foreign:
            send = without_cors_headers(send)
        if not self._needs_user(method, path, token):
            return await self.app(scope, receive, send)

        try:
            user, refreshed = await anyio.to_thread.run_sync(resolve_session, self.context.store, token)
        except Forbidden as banned:
            if path not in OPEN_TO_BANNED_SESSIONS:
                return await _send_json(send, banned.status, banned.message)
            user, refreshed = None, False
        except PeeweeDatabaseError as exc:
            if not is_connection_lost(exc):
                raise
            return await _send_json(send, 503, DATABASE_GONE)
        state = scope.setdefault("state", {})
        state["user"] = user
        state["session_key"] = hash_token(token) if user is not None else None  # whose uploads (ui.upload_route)
        if user is None:
            if method == "POST" and path in GRADIO_UPLOAD_PATHS:
                return await _send_json(send, 401, "log in to upload files")
            if self.context.config.private and path.startswith(PRIVATE_CLOSED_PREFIXES) \
                    and path not in PRIVATE_OPEN_PATHS and not path.startswith(PRIVATE_OPEN_PREFIXES):
                return await _send_json(send, 401, "this instance is private: log in first")
        if not (refreshed and from_cookie):
            return await self.app(scope, receive, send)

        cookie = session_cookie_header(token, scope.get("scheme") == "https").encode("latin-1")

        async def send_with_cookie(message):
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), (b"set-cookie", cookie)]}
            await send(message)

        return await self.app(scope, receive, send_with_cookie)
