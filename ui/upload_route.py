"""Gradio's upload route answers opaque handles instead of the server's temp paths.

A pure ASGI middleware around the app:
- ``POST /gradio_api/upload`` (closed to visitors by the guard in front of it): each stored path in Gradio's
  JSON answer is swapped for a handle issued to the uploader's login session (``core.upload_handles``), so no
  absolute path ever reaches the client;
- ``GET /gradio_api/file=<handle>`` (the page's preview of what it just uploaded) is served from the file the
  handle stands for; an unknown handle is a 404.
The events that receive these handles turn them back into files (``ui.event_guard``).
"""

from __future__ import annotations

import json
from urllib.parse import quote, unquote

from core.upload_handles import HANDLE_PREFIX, UploadHandles

UPLOAD_PATHS = {"/gradio_api/upload", "/upload"}
FILE_PREFIXES = ("/gradio_api/file=", "/file=")


class UploadHandleRoute:
    def __init__(self, app, handles: UploadHandles):
        self.app = app
        self.handles = handles

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        path = scope["path"]
        if scope["method"] == "POST" and path in UPLOAD_PATHS:
            return await self.app(scope, receive, _HandleWriter(scope, send, self.handles))
        prefix = next((p for p in FILE_PREFIXES if path.startswith(p)), None)
        if prefix is not None and unquote(path[len(prefix):]).startswith(HANDLE_PREFIX):
            return await self._preview(scope, receive, send, prefix, unquote(path[len(prefix):]))
        return await self.app(scope, receive, send)

    async def _preview(self, scope, receive, send, prefix: str, handle: str):
        stored = self.handles.preview_of(handle)
        if stored is None:
            return await _send_json(send, 404, "no such upload: upload the file again")
        real = prefix + str(stored)
        scope = {**scope, "path": real, "raw_path": (prefix + quote(str(stored))).encode()}
        return await self.app(scope, receive, send)


class _HandleWriter:
    """Buffers Gradio's (small) JSON list of stored paths and sends the uploader's handles instead."""

    def __init__(self, scope, send, handles: UploadHandles):
        self.scope, self.send, self.handles = scope, send, handles
        self.start: dict | None = None
        self.body = bytearray()

    async def __call__(self, message):
        if message["type"] == "http.response.start":
            self.start = message
            return None
        if message["type"] != "http.response.body":
            return await self.send(message)
        self.body += message.get("body", b"")
        if message.get("more_body"):
            return None
        return await self._flush()

    async def _flush(self):
        start, body = self.start, bytes(self.body)
        session = self.scope.get("state", {}).get("session_key")
        if start["status"] == 200 and session is not None:
            paths = json.loads(body)
            body = json.dumps([self.handles.issue(session, path) for path in paths]).encode()
        headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
        await self.send({**start, "headers": [*headers, (b"content-length", str(len(body)).encode())]})
        await self.send({"type": "http.response.body", "body": body})


async def _send_json(send, status: int, message: str) -> None:
    body = json.dumps({"error": message}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
