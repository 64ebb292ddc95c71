"""Creating an account: who may (``--registration``), invite codes, and the per-client allowance.

Modes: ``open`` (anyone), ``invite`` (only with an invite code made by an admin), ``closed`` (nobody on their
own).  An admin's invite code lets its holder in in every mode, ``closed`` included: an admin inviting someone
is how a closed site grows.  The first account of an empty site (it becomes the admin) needs no code.

Every check that costs nothing (the form, the mode, the code, the name) comes before the per-client allowance
(``--registrations-per-hour``) and the bcrypt hash, so a refused request changes nothing: no row, no count.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from core.errors import Forbidden

from . import invites
from .accounts import (
    UserInfo,
    check_password,
    check_username,
    create_account,
    ensure_name_free,
    has_accounts,
    hash_password,
)

if TYPE_CHECKING:
    from core.context import AppContext

REGISTRATION_CLOSED = "registration is closed on this site: ask an admin for an invite code"
INVITE_NEEDED = "this site is invitation-only: enter the invite code an admin gave you"


def register(context: AppContext, username: str, password: str, client: str,
             invite_code: str | None = None) -> UserInfo:
    """Create an account for a person at the address ``client``; the first one on an empty site is the admin."""
    mode = context.config.registration_mode
    name = check_username(username)
    check_password(password)
    code = (invite_code or "").strip() or None
    admit(mode, code, is_first=not has_accounts())
    ensure_name_free(name)
    context.registrations.acquire(client, context.config.registrations_per_hour)
    password_hash = hash_password(password)
    with context.store.write():  # checked again: another registration may have come in meanwhile
        invite_id = admit(mode, code, is_first=not has_accounts())
        user = create_account(name, password_hash)
        if invite_id is not None:
            invites.redeem(invite_id, user.id)
    return user


def admit(mode: str, code: str | None, is_first: bool) -> int | None:
    """The id of the invite that lets this registration in (None when it needs none), or Forbidden.

    A code that is given must be valid, in every mode; without one, the first account and open sites pass."""
    if code is not None:
        return invites.usable_invite_id(code)
    if is_first or mode == "open":
        return None
    raise Forbidden(REGISTRATION_CLOSED if mode == "closed" else INVITE_NEEDED)
