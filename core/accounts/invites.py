"""Invite codes: an admin makes one, and it lets one person register, whatever ``--registration`` says.

The code is shown once, to the admin who makes it; only its SHA-256 is stored (as for session tokens), so a
copy of the database lets nobody in.  A code may expire; it is used up by the account it created, and the
list shows who used each one and when.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

from core.errors import Forbidden, InvalidInput
from core.paging import Page, paginate
from core.store import Store, iso, utcnow
from core.tables import Invite, User

from .accounts import UserInfo, hash_token, record_admin_action, require_admin

CODE_BYTES = 16
MAX_LIFETIME_DAYS = 365
INVALID_INVITE = "this invite code is not valid: it was mistyped, is used or has expired (ask an admin for a new one)"


@dataclass(frozen=True)
class InviteInfo:
    id: int
    created_by: str | None
    created_at: str
    expires_at: str | None
    used_by: str | None
    used_at: str | None
    status: str  # unused, used or expired

    def as_dict(self) -> dict:
        return {"id": self.id, "createdBy": self.created_by, "createdAt": self.created_at,
                "expiresAt": self.expires_at, "usedBy": self.used_by, "usedAt": self.used_at, "status": self.status}


@dataclass(frozen=True)
class NewInvite:
    """A fresh invite with its code: the only time the code is known to the server."""

    invite: InviteInfo
    code: str

    def as_dict(self) -> dict:
        return {**self.invite.as_dict(), "code": self.code}


def _status(row: Invite) -> str:
    if row.used_at is not None:
        return "used"
    return "expired" if row.expires_at is not None and row.expires_at <= utcnow() else "unused"


def _infos(rows: list[Invite]) -> list[InviteInfo]:
    """The rows with their makers' and users' names (one query for the whole page)."""
    ids = {user_id for row in rows for user_id in (row.created_by_id, row.used_by_id) if user_id is not None}
    names = dict(User.select(User.id, User.username).where(User.id.in_(ids)).tuples()) if ids else {}
    return [InviteInfo(row.id, names.get(row.created_by_id), iso(row.created_at), iso(row.expires_at),
                       names.get(row.used_by_id), iso(row.used_at), _status(row)) for row in rows]


def create_invite(store: Store, actor: UserInfo | None, expires_in_days: int | None = None) -> NewInvite:
    """A new single-use code (admins only, audit-logged); ``expires_in_days`` None: it never expires."""
    require_admin(actor)
    if expires_in_days is not None and not 1 <= expires_in_days <= MAX_LIFETIME_DAYS:
        raise InvalidInput(f"an invite can last 1-{MAX_LIFETIME_DAYS} days, or forever (no expiry)")
    code = secrets.token_urlsafe(CODE_BYTES)
    expires_at = utcnow() + timedelta(days=expires_in_days) if expires_in_days is not None else None
    with store.write():
        row = Invite.create(code_hash=hash_token(code), created_by=actor.id, expires_at=expires_at)
        record_admin_action(actor, "invite", f"invite:{row.id}")
    return NewInvite(_infos([row])[0], code)


def list_invites(actor: UserInfo | None, page: int = 1, limit: int = 50, cursor: str | None = None) -> Page:
    """Every invite, newest first, without its code: a Page of InviteInfo (admins only)."""
    require_admin(actor)
    query = Invite.select().order_by(Invite.id.desc())
    return paginate(query, page, limit, _infos, cursor)


def usable_invite_id(code: str) -> int:
    """The id of the unused, unexpired invite with this code, or Forbidden."""
    row = Invite.get_or_none(Invite.code_hash == hash_token(code))
    if row is None or _status(row) != "unused":
        raise Forbidden(INVALID_INVITE)
    return row.id


def redeem(invite_id: int, user_id: int) -> None:
    """Mark the invite used by this new account (inside its write transaction), or Forbidden when another
    registration used it first or it has just expired."""
    now = utcnow()
    updated = (Invite.update(used_by=user_id, used_at=now)
               .where(Invite.id == invite_id, Invite.used_at.is_null(),
                      Invite.expires_at.is_null() | (Invite.expires_at > now))
               .execute())
    if not updated:
        raise Forbidden(INVALID_INVITE)
