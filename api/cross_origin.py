"""Which requests come from another origin, for the guard's CSRF and CORS rules.

The site's own origin is ``--public-origin`` when set. Otherwise it is the host
the request was sent to: its ``Host`` header, or ``X-Forwarded-Host`` when that
came from a trusted proxy (api/forwarded.py removes it from anyone else, so a
page on another origin cannot claim to be this site by sending it).
"""

from __future__ import annotations

from typing import Mapping
from urllib.parse import urlsplit

DEFAULT_PORTS = {"http": 80, "https": 443}
CORS_PREFIX = b"access-control-"


def normalize_origin(url: str) -> str | None:
    """``scheme://host[:port]`` in lower case without a default port; None when ``url`` is no origin."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
        return None
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return f"{parts.scheme}://{host}" + (f":{port}" if port and port != DEFAULT_PORTS[parts.scheme] else "")


class SiteOrigin:
    def __init__(self, public_origin: str | None):
        self.public = normalize_origin(public_origin) if public_origin else None

    def is_foreign(self, headers: Mapping[str, str]) -> bool:
        """The request names an ``Origin`` that is not this site's (``null``, from sandboxed pages, included)."""
        origin = headers.get("origin")
        if origin is None:
            return False
        if self.public is not None:
            return normalize_origin(origin) != self.public
        try:
            netloc = urlsplit(origin).netloc
        except ValueError:
            return True
        host = headers.get("x-forwarded-host") or headers.get("host", "")
        return not netloc or netloc.lower() != host.split(",")[-1].strip().lower()

    def is_cross_site(self, headers: Mapping[str, str]) -> bool:
        return headers.get("sec-fetch-site") == "cross-site" or self.is_foreign(headers)


def is_preflight(method: str, headers: Mapping[str, str]) -> bool:
    return method == "OPTIONS" and "access-control-request-method" in headers


def without_cors_headers(send):
    """``send`` that drops every ``Access-Control-*`` response header (Gradio adds some for localhost pages)."""

    async def send_without_cors(message):
        if message["type"] == "http.response.start":
            headers = [(k, v) for k, v in message.get("headers", []) if not k.lower().startswith(CORS_PREFIX)]
            message = {**message, "headers": headers}
        await send(message)

    return send_without_cors
