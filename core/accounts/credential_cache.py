"""Username/password checks for API clients that send them with every request (HTTP Basic).

A1111 clients authenticate with HTTP Basic, so each of their requests carries
the password. A bcrypt check costs ~250 ms, so a successful check is
remembered for ``TTL_S`` seconds under the SHA-256 of ``username:password``
(never the password itself). A remembered user is re-read on every request,
so a ban takes effect at once; failures are never remembered and count
towards the login throttle like failed logins.
"""

from __future__ import annotations

import hashlib
import threading
import time
from dataclasses import dataclass

from core.errors import Forbidden
from core.tables import User

from .accounts import BANNED_MESSAGE, UserInfo, authenticate, user_info
from .throttle import LoginThrottle

TTL_S = 60.0
MAX_ENTRIES = 4096


@dataclass(frozen=True)
class _Entry:
    user_id: int
    expires: float


class CredentialCache:
    """Recently verified ``username:password`` pairs (as SHA-256 digests) -> user id."""

    def __init__(self, ttl_s: float = TTL_S, max_entries: int = MAX_ENTRIES, clock=time.monotonic):
        self._ttl_s = ttl_s
        self._max_entries = max_entries
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: dict[str, _Entry] = {}

    @staticmethod
    def _key(username: str, password: str) -> str:
        return hashlib.sha256(f"{username}:{password}".encode("utf-8")).hexdigest()

    def get(self, username: str, password: str) -> int | None:
        key, now = self._key(username, password), self._clock()
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and entry.expires <= now:
                del self._entries[key]
                entry = None
        return None if entry is None else entry.user_id

    def put(self, username: str, password: str, user_id: int) -> None:
        now = self._clock()
        with self._lock:
            if len(self._entries) >= self._max_entries:
                self._entries = {k: e for k, e in self._entries.items() if e.expires > now}
            while len(self._entries) >= self._max_entries:
                del self._entries[next(iter(self._entries))]
            self._entries[self._key(username, password)] = _Entry(user_id, now + self._ttl_s)

    def forget(self, username: str, password: str) -> None:
        with self._lock:
            self._entries.pop(self._key(username, password), None)


def authenticate_cached(throttle: LoginThrottle, cache: CredentialCache, username: str, password: str,
                        client: str) -> UserInfo:
    """The user these credentials belong to; bcrypt only when they were not verified in the last minute."""
    user_id = cache.get(username, password)
    row = User.get_or_none(User.id == user_id) if user_id is not None else None
    if row is None:
        user = authenticate(throttle, username, password, client)
        cache.put(username, password, user.id)
        return user
    if row.is_banned:
        cache.forget(username, password)
        raise Forbidden(BANNED_MESSAGE)
    return user_info(row)
