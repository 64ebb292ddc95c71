"""Slows down password guessing and mass registration, per client address.

Login failures are counted under two keys: the username *from* that client
address, and the client address alone.  Never under the username alone: then
an attacker's failures would lock the owner out from everywhere, while with
these keys the owner's right password from another address always gets in.
The first failures of a key cost nothing (5 per username and address; 20 per
address, which may be a NAT shared by many people); after that each new
attempt has to wait ``2 ** (extra failures)`` seconds (capped), until
``WINDOW_S`` passes without a failure.

Registrations are counted per client address over the last hour: each costs a
bcrypt hash, and each is an account that could spam.

The client address is the TCP peer, or the proxy's ``X-Forwarded-For`` only
when uvicorn trusts that proxy (``--forwarded-allow-ips``); an IPv6 address
counts as its /64 network, which one subscriber usually holds whole.  State is
in memory: one process serves one instance, and a restart forgetting it is harmless.
"""

from __future__ import annotations

import collections
import ipaddress
import threading
import time
from dataclasses import dataclass

from core.errors import Throttled

FREE_FAILURES = {"account": 5, "client": 20}
MAX_DELAY_S = 300
WINDOW_S = 15 * 60
MAX_TRACKED = 100_000
REGISTRATION_WINDOW_S = 60 * 60
TOO_MANY_REGISTRATIONS = "too many new accounts from your address: try again later"


@dataclass
class _Failures:
    count: int
    last: float


def client_key(address: str) -> str:
    """The address as one client: an IPv6 address's /64 network (its holder has all of it), else the address."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:  # not an address ("unknown", a test client's name): itself
        return address
    if ip.version == 4:
        return str(ip)
    if ip.ipv4_mapped is not None:
        return str(ip.ipv4_mapped)
    return str(ipaddress.ip_network(f"{ip}/64", strict=False))


def _keys(username_key: str, client: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The keys one login attempt counts under: (username, client) and (client)."""
    client = client_key(client)
    return ("account", username_key, client), ("client", client)


class TooManyLogins(Throttled):
    """Too many failed logins: wait ``retry_after`` seconds (the UI says it in the user's language)."""

    def __init__(self, wait: float):
        seconds = int(wait) + 1
        super().__init__(f"too many failed logins; try again in {seconds} seconds", seconds)


class LoginThrottle:
    def __init__(self, clock=time.monotonic):
        self._clock = clock
        self._lock = threading.Lock()
        self._failures: dict[tuple[str, ...], _Failures] = {}

    def _wait_for(self, key: tuple[str, ...], now: float) -> float:
        entry = self._failures.get(key)
        free = FREE_FAILURES[key[0]]
        if entry is None or now - entry.last > WINDOW_S or entry.count < free:
            return 0.0
        delay = min(2 ** (entry.count - free + 1), MAX_DELAY_S)
        return max(0.0, entry.last + delay - now)

    def check(self, username_key: str, client: str) -> None:
        """Raise ``Throttled`` while this username from this client, or this client, has to wait."""
        now = self._clock()
        with self._lock:
            wait = max(self._wait_for(key, now) for key in _keys(username_key, client))
        if wait > 0:
            raise TooManyLogins(wait)

    def record_failure(self, username_key: str, client: str) -> None:
        now = self._clock()
        with self._lock:
            if len(self._failures) >= MAX_TRACKED:
                self._forget_old(now)
            for key in _keys(username_key, client):
                entry = self._failures.get(key)
                if entry is None or now - entry.last > WINDOW_S:
                    entry = self._failures[key] = _Failures(0, now)
                entry.count += 1
                entry.last = now

    def record_success(self, username_key: str, client: str) -> None:
        """The owner got in from this client: their slate there is clean (the client's own count stays, so an
        attacker cannot reset it by logging into an account of their own)."""
        account_key, _ = _keys(username_key, client)
        with self._lock:
            self._failures.pop(account_key, None)

    def _forget_old(self, now: float) -> None:
        for key in [k for k, v in self._failures.items() if now - v.last > WINDOW_S]:
            del self._failures[key]


class RegistrationThrottle:
    """At most ``allowance`` new accounts per client address in any hour (a sliding window)."""

    def __init__(self, clock=time.monotonic):
        self._clock = clock
        self._lock = threading.Lock()
        self._recent: dict[str, collections.deque[float]] = {}

    def acquire(self, client: str, allowance: int) -> None:
        """Count one registration from ``client``, or raise ``Throttled`` (counting nothing) when its allowance
        for the hour is spent.  Called once every other check has passed, right before the bcrypt hash."""
        now = self._clock()
        with self._lock:
            if len(self._recent) >= MAX_TRACKED:
                self._forget_old(now)
            times = self._recent.setdefault(client_key(client), collections.deque())
            while times and now - times[0] >= REGISTRATION_WINDOW_S:
                times.popleft()
            if len(times) >= allowance:
                raise Throttled(TOO_MANY_REGISTRATIONS, int(times[-allowance] + REGISTRATION_WINDOW_S - now) + 1)
            times.append(now)

    def _forget_old(self, now: float) -> None:
        for client in [c for c, times in self._recent.items() if not times or now - times[-1] >= REGISTRATION_WINDOW_S]:
            del self._recent[client]
