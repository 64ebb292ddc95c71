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
counts as its /64 network, which one subscriber usually holds whole.  The counts
are kept in the database (``FailureCount``, ``RecentRegistration``), so every app
process serving the site counts the same guesses, and a restart keeps them.
"""

from __future__ import annotations

import ipaddress
import time

from peewee import Case

from core.errors import Throttled
from core.store import Store
from core.tables import FailureCount, RecentRegistration

FREE_FAILURES = {"account": 5, "client": 20}
MAX_DELAY_S = 300
WINDOW_S = 15 * 60
REGISTRATION_WINDOW_S = 60 * 60
TOO_MANY_REGISTRATIONS = "too many new accounts from your address: try again later"


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


def _keys(username_key: str, client: str) -> tuple[str, str]:
    """The keys one login attempt counts under: (username, client) and (client), as the table stores them."""
    client = client_key(client)
    return f"account\n{username_key}\n{client}", f"client\n{client}"


class TooManyLogins(Throttled):
    """Too many failed logins: wait ``retry_after`` seconds (the UI says it in the user's language)."""

    def __init__(self, wait: float):
        seconds = int(wait) + 1
        super().__init__(f"too many failed logins; try again in {seconds} seconds", seconds)


class LoginThrottle:
    """Failed logins per key in the database; ``clock`` is wall time (shared by every process)."""

    def __init__(self, store: Store, clock=time.time):
        self._store = store
        self._clock = clock

    @staticmethod
    def _wait_for(key: str, row: FailureCount | None, now: float) -> float:
        free = FREE_FAILURES[key.split("\n", 1)[0]]
        if row is None or now - row.last > WINDOW_S or row.count < free:
            return 0.0
        delay = min(2 ** (row.count - free + 1), MAX_DELAY_S)
        return max(0.0, row.last + delay - now)

    def check(self, username_key: str, client: str) -> None:
        """Raise ``Throttled`` while this username from this client, or this client, has to wait."""
        now, keys = self._clock(), _keys(username_key, client)
        rows = {row.key: row for row in FailureCount.select().where(FailureCount.key.in_(keys))}
        wait = max(self._wait_for(key, rows.get(key), now) for key in keys)
        if wait > 0:
            raise TooManyLogins(wait)

    def record_failure(self, username_key: str, client: str) -> None:
        """One more failure under both keys (a count older than the window starts again at one)."""
        now = self._clock()
        stale = FailureCount.last < now - WINDOW_S
        with self._store.write():
            FailureCount.delete().where(stale).execute()
            for key in _keys(username_key, client):
                FailureCount.insert(key=key, count=1, last=now).on_conflict(
                    conflict_target=[FailureCount.key],
                    update={FailureCount.count: Case(None, [(stale, 1)], FailureCount.count + 1),
                            FailureCount.last: now}).execute()

    def record_success(self, username_key: str, client: str) -> None:
        """The owner got in from this client: their slate there is clean (the client's own count stays, so an
        attacker cannot reset it by logging into an account of their own)."""
        account_key, _ = _keys(username_key, client)
        with self._store.write():
            FailureCount.delete().where(FailureCount.key == account_key).execute()


class RegistrationThrottle:
    """At most ``allowance`` new accounts per client address in any hour (a sliding window), in the database."""

    def __init__(self, store: Store, clock=time.time):
        self._store = store
        self._clock = clock

    def acquire(self, client: str, allowance: int) -> None:
        """Count one registration from ``client``, or raise ``Throttled`` (counting nothing) when its allowance
        for the hour is spent.  Called once every other check has passed, right before the bcrypt hash."""
        now, key = self._clock(), client_key(client)
        with self._store.write():
            RecentRegistration.delete().where(RecentRegistration.at <= now - REGISTRATION_WINDOW_S).execute()
            times = [row.at for row in RecentRegistration.select(RecentRegistration.at)
                     .where(RecentRegistration.client == key).order_by(RecentRegistration.at)]
            if len(times) >= allowance:
                raise Throttled(TOO_MANY_REGISTRATIONS, int(times[-allowance] + REGISTRATION_WINDOW_S - now) + 1)
            RecentRegistration.create(client=key, at=now)
