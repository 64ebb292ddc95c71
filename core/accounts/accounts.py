"""Accounts and sessions: create, log in, resolve a session, log out, ban, promote.

Passwords: bcrypt (cost 12) over a SHA-256 pre-hash, so long passwords are
neither truncated at bcrypt's 72 bytes nor rejected by bcrypt 5.
Sessions: a random 32-byte token given to the client once; only its SHA-256
is stored.  Sessions last 30 days, sliding.  A ban ends them: a banned account's
session is refused as banned (403, so its holder learns why) until it expires,
and an unban deletes them, so none comes back to life.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import re
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import timedelta

import bcrypt

from core.errors import Conflict, Forbidden, InvalidInput, NotAuthenticated, NotFound
from core.store import Store, iso_stored, utcnow
from core.tables import CONTENT_VIEWS, AuditLog, Session, User

from .throttle import LoginThrottle

BCRYPT_ROUNDS = 12
SESSION_LIFETIME = timedelta(days=30)
SESSION_REFRESH_AFTER = timedelta(hours=1)
USERNAME_PATTERN = re.compile(r"^[A-Za-z0-9_-]{3,32}$")
PASSWORD_MIN, PASSWORD_MAX = 8, 256
BANNED_MESSAGE = "this account is banned"
# Characters that pass for one another in a username ("Admin" vs "AdmIn" vs "adm1n").
_CONFUSABLES = str.maketrans({"0": "o", "1": "l", "i": "l", "|": "l", "5": "s", "-": "_", "3": "e", "4": "a"})


MAX_BIO_CHARS = 2000

@dataclass(frozen=True)
class UserInfo:
    id: int
    username: str
    bio: str
    is_admin: bool
    is_banned: bool
    created_at: str
    is_moderator: bool = False
    content_view: str = "blur"  # what they do with mature and explicit content: hide, blur or show

    @property
    def can_moderate(self) -> bool:
        """Works the moderation queue: a moderator, or an admin."""
        return self.is_admin or self.is_moderator

    def as_dict(self) -> dict:
        return {"id": self.id, "username": self.username, "bio": self.bio, "isAdmin": self.is_admin,
                "isModerator": self.is_moderator, "isBanned": self.is_banned, "createdAt": self.created_at,
                "matureContent": self.content_view}


@dataclass(frozen=True)
class LoginResult:
    user: UserInfo
    token: str


USER_INFO_COLUMNS = (User.id, User.username, User.bio, User.is_admin, User.is_banned, User.created_at,
                     User.is_moderator, User.content_view)


def user_info(row: User) -> UserInfo:
    return user_info_of([getattr(row, column.name) for column in USER_INFO_COLUMNS])


def user_info_of(values) -> UserInfo:
    """A UserInfo from the values of ``USER_INFO_COLUMNS``, raw from the database or read from a row."""
    user_id, username, bio, is_admin, is_banned, created, is_moderator, content_view = values
    return UserInfo(user_id, username, bio, bool(is_admin), bool(is_banned), iso_stored(created), bool(is_moderator),
                    content_view or "blur")


def normalize_username(name: str) -> str:
    """NFKC form, so full-width and compatibility characters become plain ones."""
    return unicodedata.normalize("NFKC", name or "").strip()


def username_key(name: str) -> str:
    return normalize_username(name).casefold()


def username_skeleton(name: str) -> str:
    key = username_key(name).translate(_CONFUSABLES)
    return key.replace("rn", "m").replace("vv", "w")


def check_username(name: str) -> str:
    normalized = normalize_username(name)
    if not USERNAME_PATTERN.fullmatch(normalized):
        raise InvalidInput("username must be 3-32 characters: letters, digits, '_' or '-'")
    return normalized


def check_password(password: str) -> str:
    if not isinstance(password, str) or not PASSWORD_MIN <= len(password) <= PASSWORD_MAX:
        raise InvalidInput(f"password must be {PASSWORD_MIN}-{PASSWORD_MAX} characters")
    return password


def _prehash(password: str) -> bytes:
    """base64(SHA-256(password)): 44 bytes, under bcrypt's 72-byte limit, no NUL bytes."""
    return base64.b64encode(hashlib.sha256(password.encode("utf-8")).digest())


def hash_password(password: str) -> str:
    return bcrypt.hashpw(_prehash(password), bcrypt.gensalt(BCRYPT_ROUNDS)).decode("ascii")


def verify_password(password: str, password_hash: str) -> bool:
    try:
        return bcrypt.checkpw(_prehash(password), password_hash.encode("ascii"))
    except ValueError:  # not a bcrypt hash: an account that cannot log in (the site account)
        return False


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def ensure_name_free(name: str) -> None:
    """Conflict when the name, or one that passes for it, is taken."""
    if User.select().where(User.username_key == username_key(name)).exists():
        raise Conflict(f"the username {name!r} is taken")
    if User.select().where(User.username_skeleton == username_skeleton(name)).exists():
        raise Conflict(f"the username {name!r} is too similar to an existing one")


def has_accounts() -> bool:
    """Whether anyone has registered yet (the site's own account aside)."""
    return User.select().where(User.username_key != SITE_ACCOUNT).exists()


def create_account(name: str, password_hash: str) -> UserInfo:
    """Insert a checked account, inside the caller's write transaction; the first on an empty site is the admin.

    Who may register is ``core.accounts.registration``'s business."""
    ensure_name_free(name)
    row = User.create(username=name, username_key=username_key(name), username_skeleton=username_skeleton(name),
                      password_hash=password_hash, is_admin=not has_accounts())
    return user_info(row)


def find_user(username: str) -> User | None:
    return User.get_or_none(User.username_key == username_key(username))


def user_row(username: str) -> User:
    """The user named ``username``, or NotFound."""
    row = find_user(username)
    if row is None:
        raise NotFound(f"no user named {username!r}")
    return row


def get_user(username: str) -> UserInfo:
    return user_info(user_row(username))


def create_session(store: Store, user_id: int) -> str:
    token = secrets.token_urlsafe(32)
    with store.write():
        Session.create(token_hash=hash_token(token), user=user_id, expires_at=utcnow() + SESSION_LIFETIME)
    return token


@functools.cache
def unknown_user_hash() -> str:
    """A real bcrypt hash to check unknown usernames against (the same cost as a real one), made once."""
    return hash_password("not-a-real-password")


def authenticate(throttle: LoginThrottle, username: str, password: str, client: str) -> UserInfo:
    """Check the password; opens no session.

    Repeated failures slow down this username from this ``client`` and this client, never the username from
    everywhere: an attacker cannot lock the owner out (``core.accounts.throttle``)."""
    throttle.check(username_key(username), client)
    row = find_user(username) if isinstance(username, str) else None
    # Run bcrypt even for unknown names, so response time does not reveal which names exist.
    valid = verify_password(password or "", row.password_hash if row else unknown_user_hash())
    if row is None or not valid:
        throttle.record_failure(username_key(username or ""), client)
        raise NotAuthenticated("wrong username or password")
    if row.is_banned:
        raise Forbidden(BANNED_MESSAGE)
    throttle.record_success(username_key(username), client)
    return user_info(row)


def login(store: Store, throttle: LoginThrottle, username: str, password: str, client: str) -> LoginResult:
    """Check the password (slowed down after repeated failures) and open a session."""
    user = authenticate(throttle, username, password, client)
    return LoginResult(user, create_session(store, user.id))


def resolve_session(store: Store, token: str | None) -> tuple[UserInfo | None, bool]:
    """The user behind a token, and whether its expiry was just extended (sliding); ``Forbidden`` for a session
    of a banned account (see the module's docstring)."""
    if not token:
        return None, False
    session = (Session.select(Session, User).join(User)
               .where(Session.token_hash == hash_token(token)).first())
    now = utcnow()
    if session is None or session.expires_at <= now:
        return None, False
    if session.user.is_banned:
        raise Forbidden(BANNED_MESSAGE)
    refreshed = False
    if session.expires_at - now < SESSION_LIFETIME - SESSION_REFRESH_AFTER:
        with store.write():
            Session.update(expires_at=now + SESSION_LIFETIME).where(Session.id == session.id).execute()
        refreshed = True
    return user_info(session.user), refreshed


def logout(store: Store, token: str | None) -> None:
    if token:
        with store.write():
            Session.delete().where(Session.token_hash == hash_token(token)).execute()


def record_admin_action(actor: UserInfo | None, action: str, target: str) -> None:
    AuditLog.create(actor=actor.id if actor else None, actor_name=actor.username if actor else "system",
                    action=action, target=target)


def require_admin(actor: UserInfo | None) -> UserInfo:
    if actor is None:
        raise NotAuthenticated("log in first")
    if not actor.is_admin:
        raise Forbidden("only admins can do this")
    return actor


def set_banned(store: Store, actor: UserInfo | None, username: str, banned: bool) -> UserInfo:
    """Ban (every session of the user refused at once) or unban a user (their old sessions deleted)."""
    require_admin(actor)
    row = find_user(username)
    if row is None:
        raise NotFound(f"no user named {username!r}")
    if row.id == actor.id:
        raise InvalidInput("admins cannot ban themselves")
    with store.write():
        User.update(is_banned=banned).where(User.id == row.id).execute()
        if not banned:
            Session.delete().where(Session.user == row.id).execute()
        record_admin_action(actor, "ban" if banned else "unban", f"user:{row.username}")
    return get_user(row.username)


def set_moderator(store: Store, actor: UserInfo | None, username: str, moderator: bool) -> UserInfo:
    """Grant (or take back) the moderator role: an admin's decision, audit-logged."""
    require_admin(actor)
    row = find_user(username)
    if row is None:
        raise NotFound(f"no user named {username!r}")
    with store.write():
        User.update(is_moderator=moderator).where(User.id == row.id).execute()
        record_admin_action(actor, "grant_moderator" if moderator else "revoke_moderator", f"user:{row.username}")
    return get_user(row.username)


def require_moderator(actor: UserInfo | None) -> UserInfo:
    if actor is None:
        raise NotAuthenticated("log in first")
    if not actor.can_moderate:
        raise Forbidden("only moderators can do this")
    return actor


def promote_admin(store: Store, username: str) -> UserInfo:
    """``--admin-user NAME``: make an existing account an admin."""
    row = find_user(username)
    if row is None:
        raise NotFound(f"--admin-user: no user named {username!r} (register it first)")
    if not row.is_admin:
        with store.write():
            User.update(is_admin=True).where(User.id == row.id).execute()
            record_admin_action(None, "promote", f"user:{row.username}")
    return get_user(row.username)


def update_bio(store: Store, actor: UserInfo | None, bio: str) -> UserInfo:
    if actor is None:
        raise NotAuthenticated("log in first")
    if len(bio) > MAX_BIO_CHARS:
        raise InvalidInput(f"the bio can be at most {MAX_BIO_CHARS} characters")
    with store.write():
        User.update(bio=bio).where(User.id == actor.id).execute()
    return get_user(actor.username)


def set_content_view(store: Store, actor: UserInfo | None, view: str) -> UserInfo:
    """How mature and explicit content is shown to the actor: ``hide`` (left out everywhere), ``blur`` or
    ``show``."""
    if actor is None:
        raise NotAuthenticated("log in first")
    if view not in CONTENT_VIEWS:
        raise InvalidInput(f"mature content: choose {', '.join(CONTENT_VIEWS)}")
    with store.write():
        User.update(content_view=view).where(User.id == actor.id).execute()
    return get_user(actor.username)


SITE_ACCOUNT = "site"


def people():
    """The accounts of people: every user but the site's own internal account."""
    return User.select().where(User.username_key != username_key(SITE_ACCOUNT))


def site_account(store: Store) -> UserInfo:
    """The account that owns what the site itself brings (the demo model); it cannot log in."""
    row = find_user(SITE_ACCOUNT)
    if row is None:
        with store.write():
            row = User.create(username=SITE_ACCOUNT, username_key=username_key(SITE_ACCOUNT),
                              username_skeleton=username_skeleton(SITE_ACCOUNT), password_hash="!",
                              bio="This instance's own models.")
    return user_info(row)


def local_owner(store: Store, name: str | None) -> UserInfo:
    """Owner of models found in models_dir: ``--local-owner``, else the first admin, else the site account."""
    if name:
        return get_user(name)
    admin = User.select().where(User.is_admin == True, User.is_banned == False).order_by(User.id).first()  # noqa: E712
    return user_info(admin) if admin else site_account(store)
