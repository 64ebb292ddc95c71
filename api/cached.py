"""Read-only JSON answers served from the app's read cache (``core.read_cache``).

These routes are ``async``: a cached answer is sent from the event loop
without a hop to the worker threads; only a miss builds the answer there.
"""

from __future__ import annotations

from typing import Callable

import orjson
from anyio import to_thread
from fastapi import Request, Response

from core.accounts.accounts import UserInfo

from .deps import get_context


def viewer_key(user: UserInfo | None) -> object:
    """What decides which models a viewer may see: anonymous, an admin (everything), or one user's own."""
    if user is None:
        return None
    return "admin" if user.is_admin else user.id


async def cached_json(request: Request, user: UserInfo | None, build: Callable[[], object]) -> Response:
    """``build()`` as a JSON response, cached per full URL (links in it use the request's host) and viewer."""
    reads, key = get_context(request).reads, (str(request.url), viewer_key(user))
    version, body = reads.lookup(key)
    if body is None:
        body = await to_thread.run_sync(lambda: orjson.dumps(build()))
        reads.keep(key, version, body)
    return Response(body, media_type="application/json")
