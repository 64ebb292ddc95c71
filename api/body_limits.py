"""Request body sizes, enforced before a body is read; and Gradio's upload temp files on a disconnect.

A pure ASGI middleware in front of every route (it never buffers a body):
- a body is at most ``JSON_LIMIT`` (1 MB), or ``BASE64_IMAGE_LIMIT`` on the routes that take base64 images.
  A larger ``Content-Length`` is answered 413 before the app runs; a body without one (chunked) is counted
  as the app reads it and cut at the limit: the app sees the client disconnect, its answer is dropped and
  the client gets the 413. The connection then closes, so the rest of the body is never read.
- multipart uploads to the upload routes keep their own limit (``--max-upload-gb``): they stream to disk.
- Gradio's upload route removes its temp file on a parse error but not when the client goes away (gradio
  6.31, ``route_utils.GradioMultiPartParser.parse``), so there a disconnect is reported as a parse error.
Clients that send a body too slowly are the HTTP protocol's concern (api/http_protocol.py).
"""

from __future__ import annotations

import json
import re

from starlette.formparsers import MultiPartException

from .base64_images import MAX_IMAGE_BASE64

MB = 1024 * 1024
JSON_LIMIT = 1 * MB
BASE64_IMAGE_LIMIT = MAX_IMAGE_BASE64 + JSON_LIMIT
BASE64_IMAGE_ROUTES = frozenset({"/sdapi/v1/png-info", "/sdapi/v1/img2img", "/api/v1/img2img",
                                 "/sdapi/v1/extra-single-image", "/sdapi/v1/extra-batch-images", "/api/v1/upscale"})
STREAMED_UPLOAD_ROUTES = re.compile(r"/api/v1/models(/\d+/versions)?|/api/v1/images|/gradio_api/upload|/upload")
GRADIO_UPLOAD_PATHS = frozenset({"/gradio_api/upload", "/upload"})
DISCONNECT = {"type": "http.disconnect"}


def body_limit(path: str, content_type: bytes) -> int | None:
    """The most bytes a request body to ``path`` may have; None where the route enforces its own limit."""
    if content_type.startswith(b"multipart/form-data") and STREAMED_UPLOAD_ROUTES.fullmatch(path):
        return None
    return BASE64_IMAGE_LIMIT if path in BASE64_IMAGE_ROUTES else JSON_LIMIT


class BodyLimits:
    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        content_type, length, chunked = _body_headers(scope["headers"])
        limit = body_limit(scope["path"], content_type)
        if limit is None:
            if scope["method"] == "POST" and scope["path"] in GRADIO_UPLOAD_PATHS:
                receive = _disconnect_as_parse_error(receive)
            return await self.app(scope, receive, send)
        if length is not None and length > limit:
            return await _too_large(send, limit)
        if not chunked:  # no body, or one the HTTP parser ends at its Content-Length (at most the limit)
            return await self.app(scope, receive, send)
        return await _CountedBody(self.app, limit)(scope, receive, send)


class _CountedBody:
    """One chunked request: its body counted as the app reads it, and cut at the limit."""

    def __init__(self, app, limit: int):
        self.app, self.limit = app, limit
        self.received = 0
        self.cut = False
        self.app_answered = False  # the app's response began before the cut: it goes out as it is

    async def __call__(self, scope, receive, send):
        async def counted_receive():
            if self.cut:
                return DISCONNECT
            message = await receive()
            if message["type"] == "http.request":
                self.received += len(message.get("body", b""))
                if self.received > self.limit:
                    self.cut = True
                    return DISCONNECT
            return message

        async def send_unless_cut(message):
            if message["type"] == "http.response.start" and not self.cut:
                self.app_answered = True
            if self.app_answered:
                await send(message)

        try:
            await self.app(scope, counted_receive, send_unless_cut)
        except Exception:
            if not self.cut or self.app_answered:
                raise  # not caused by the cut: the usual error handling applies
        if self.cut and not self.app_answered:
            await _too_large(send, self.limit)


def _body_headers(headers) -> tuple[bytes, int | None, bool]:
    """Content type (lower case), Content-Length (None if absent or malformed) and whether the body is chunked."""
    content_type, length, chunked = b"", None, False
    for name, value in headers:
        if name == b"content-type":
            content_type = value.lower()
        elif name == b"content-length" and value.strip().isdigit():
            length = int(value)
        elif name == b"transfer-encoding":
            chunked = b"chunked" in value.lower()
    return content_type, length, chunked


def _disconnect_as_parse_error(receive):
    body_complete = False

    async def receive_or_raise():
        nonlocal body_complete
        message = await receive()
        if message["type"] == "http.disconnect" and not body_complete:
            raise MultiPartException("the client went away before the upload was complete")
        body_complete = body_complete or not message.get("more_body", False)
        return message

    return receive_or_raise


async def _too_large(send, limit: int) -> None:
    body = json.dumps({"error": f"the request body is larger than this route's limit of {limit // MB} MB"}).encode()
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})
