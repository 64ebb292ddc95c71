"""Errors of ``/sdapi/v1`` in a shape both kinds of clients read.

Our clients read ``{"error": message}``; A1111's read ``detail`` (FastAPI's
and A1111's own error field). The app's error handlers decide the status and
message as for every other route; this route class adds ``detail`` and, on a
401, the ``WWW-Authenticate: Basic`` challenge A1111 clients expect.
"""

from __future__ import annotations

import json
from typing import Any, Callable, Coroutine

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute

from .basic_auth import CHALLENGE


def _handler_for(app: FastAPI, exc: Exception):
    for kind in type(exc).__mro__:
        if kind in app.exception_handlers:
            return app.exception_handlers[kind]
    return None


def _with_detail(response: Response) -> JSONResponse:
    body = json.loads(response.body)
    headers = {k: v for k, v in response.headers.items() if k not in ("content-length", "content-type")}
    if response.status_code == 401:
        headers |= CHALLENGE
    return JSONResponse({**body, "detail": body.get("error")}, status_code=response.status_code, headers=headers)


class SdapiRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                return await handle(request)
            except Exception as exc:
                handler = _handler_for(request.app, exc)
                if handler is None:
                    raise
                return _with_detail(await handler(request, exc))

        return route
