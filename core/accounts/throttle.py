"""Slows down password guessing, per username and per client address.

The first failures of a key cost nothing (5 per username; 20 per address,
which may be a NAT shared by many people); after that each new
attempt has to wait ``2 ** (extra failures)`` seconds (capped), until
``WINDOW`` passes without a failure.  State is in memory: one process serves
one instance, and a restart forgetting it is harmless.
"""

from __future__ import annotations

import functools
import threading
import time
from dataclasses import dataclass

from core.errors import Throttled

FREE_FAILURES = {"u": 5, "c": 20}
MAX_DELAY_S = 300
WINDOW_S = 15 * 60
MAX_TRACKED = 100_000


@dataclass
class _Failures:
    count: int
    last: float


class LoginThrottle:
    def __init__(self, clock=time.monotonic):
        self._clock = clock
        self._lock = threading.Lock()
        self._failures: dict[str, _Failures] = {}

    @functools.cached_property
    def dummy_hash(self) -> str:
        """A real bcrypt hash to check unknown usernames against (same cost as a real one)."""
        from .accounts import hash_password

        return hash_password("not-a-real-password")

    def _wait_for(self, key: str, now: float) -> float:
        entry = self._failures.get(key)
        free = FREE_FAILURES[key[0]]
        if entry is None or now - entry.last > WINDOW_S or entry.count < free:
            return 0.0
        delay = min(2 ** (entry.count - free + 1), MAX_DELAY_S)
        return max(0.0, entry.last + delay - now)

    def check(self, username_key: str, client: str) -> None:
        now = self._clock()
        with self._lock:
            wait = max(self._wait_for("u:" + username_key, now), self._wait_for("c:" + client, now))
        if wait > 0:
            raise Throttled(f"too many failed logins; try again in {int(wait) + 1} seconds", int(wait) + 1)

    def record_failure(self, username_key: str, client: str) -> None:
        now = self._clock()
        with self._lock:
            if len(self._failures) >= MAX_TRACKED:
                self._forget_old(now)
            for key in ("u:" + username_key, "c:" + client):
                entry = self._failures.get(key)
                if entry is None or now - entry.last > WINDOW_S:
                    entry = self._failures[key] = _Failures(0, now)
                entry.count += 1
                entry.last = now

    def record_success(self, username_key: str, client: str) -> None:
        with self._lock:
            self._failures.pop("u:" + username_key, None)

    def _forget_old(self, now: float) -> None:
        for key in [k for k, v in self._failures.items() if now - v.last > WINDOW_S]:
            del self._failures[key]
