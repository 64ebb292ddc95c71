"""``X-Forwarded-*`` headers, believed only from the reverse proxies named in ``--forwarded-allow-ips``.

A pure ASGI middleware in front of every route. uvicorn's own proxy handling is
off (it trusts loopback by default, and then anyone on the machine could claim
any client address); instead:
- from a trusted proxy, ``X-Forwarded-For`` becomes the request's client address
  (the right-most hop that is not itself a trusted proxy) and ``X-Forwarded-Proto``
  its scheme, and ``X-Forwarded-Host`` is kept for the origin check (api/cross_origin.py);
- from anyone else these headers are removed, so nothing behind this middleware,
  Gradio's URL building included, ever reads a value the client made up.
"""

from __future__ import annotations

from ipaddress import IPv4Network, IPv6Network, ip_address

FORWARDED_HEADERS = frozenset({b"forwarded", b"x-forwarded-for", b"x-forwarded-host", b"x-forwarded-proto",
                               b"x-forwarded-port", b"x-forwarded-prefix", b"x-real-ip"})
SCHEMES = {"http", "https"}


class ForwardedHeaders:
    def __init__(self, app, trusted: tuple[IPv4Network | IPv6Network, ...]):
        self.app = app
        self.trusted = trusted

    def is_trusted(self, host: str | None) -> bool:
        if not self.trusted or not host:
            return False
        try:
            address = ip_address(host)
        except ValueError:
            return False
        return any(address in network for network in self.trusted)

    async def __call__(self, scope, receive, send):
        if scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        peer = scope.get("client")
        if self.is_trusted(peer[0] if peer else None):
            scope = self._from_proxy(scope)
        elif any(name in FORWARDED_HEADERS for name, _ in scope["headers"]):
            scope = {**scope, "headers": [(n, v) for n, v in scope["headers"] if n not in FORWARDED_HEADERS]}
        return await self.app(scope, receive, send)

    def _from_proxy(self, scope) -> dict:
        """The client and scheme the trusted proxy reports (each header's last value is the proxy's own)."""
        scope = dict(scope)
        hops = [_without_port(hop.strip()) for name, value in scope["headers"] if name == b"x-forwarded-for"
                for hop in value.decode("latin-1").split(",") if hop.strip()]
        if hops:
            client = next((hop for hop in reversed(hops) if not self.is_trusted(hop)), hops[0])
            scope["client"] = (client, 0)
        protos = [value.decode("latin-1").split(",")[-1].strip().lower()
                  for name, value in scope["headers"] if name == b"x-forwarded-proto"]
        if protos and protos[-1] in SCHEMES:
            scheme = protos[-1]
            scope["scheme"] = scheme.replace("http", "ws") if scope["type"] == "websocket" else scheme
        return scope


def _without_port(hop: str) -> str:
    """``203.0.113.7:4711`` and ``[2001:db8::1]:443`` (as some proxies write them) without the port."""
    if hop.startswith("["):
        return hop[1:].partition("]")[0]
    return hop.partition(":")[0] if hop.count(":") == 1 else hop
