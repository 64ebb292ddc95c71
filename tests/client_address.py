"""HTTP clients at other loopback addresses: the server listens on 127.0.0.1, and Linux routes all of 127/8
locally, so a client bound to 127.0.0.2 is another client address to the server."""

from __future__ import annotations

import requests
from requests.adapters import HTTPAdapter


class _FromAddress(HTTPAdapter):
    """Connections from one local source address."""

    def __init__(self, address: str):
        self.address = address
        super().__init__()

    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, source_address=(self.address, 0), **kwargs)


def client_at(address: str) -> requests.Session:
    """A session whose connections come from ``address`` (e.g. ``127.0.0.2``)."""
    session = requests.Session()
    session.mount("http://", _FromAddress(address))
    return session
