"""Admin views: site statistics and the audit log (ban/unban live in ``core.accounts.accounts``).

Deleting any model, file, comment or image goes through the normal delete
functions, which let admins through and write the audit log themselves.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from stat import S_ISREG
from typing import TYPE_CHECKING

from peewee import fn

from core.accounts.accounts import UserInfo, people, record_admin_action, require_admin, username_key
from core.paging import Page, paginate
from core.store import holds_text, iso
from core.tables import AiModel, AuditLog, Comment, Image, ModelFile, User

if TYPE_CHECKING:
    from core.context import AppContext
    from core.library.scanner import Progress, ScanReport


@dataclass(frozen=True)
class SiteStats:
    users: int
    banned_users: int
    models: int
    files: int
    images: int
    published_images: int
    comments: int
    models_bytes: int  # disk used under models_dir
    outputs_bytes: int  # disk used under outputs

    def as_dict(self) -> dict:
        return {"users": self.users, "bannedUsers": self.banned_users, "models": self.models, "files": self.files,
                "images": self.images, "publishedImages": self.published_images, "comments": self.comments,
                "disk": {"modelsBytes": self.models_bytes, "outputsBytes": self.outputs_bytes}}


@dataclass(frozen=True)
class AuditEntry:
    id: int
    actor: str
    action: str
    target: str
    created_at: str

    def as_dict(self) -> dict:
        return {"id": self.id, "actor": self.actor, "action": self.action, "target": self.target,
                "createdAt": self.created_at}


def disk_usage(folder: Path) -> int:
    """Bytes of the regular files under ``folder`` (symlinks not followed)."""
    total = 0
    for root, _, files in os.walk(folder):
        for name in files:
            try:
                stat = os.lstat(os.path.join(root, name))
            except OSError:
                continue
            total += stat.st_size if S_ISREG(stat.st_mode) else 0
    return total


@dataclass(frozen=True)
class Member:
    """A row of the admin's user list."""

    username: str
    is_admin: bool
    is_banned: bool
    created_at: str
    models: int
    images: int  # published
    is_moderator: bool = False

    def as_dict(self) -> dict:
        return {"username": self.username, "isAdmin": self.is_admin, "isModerator": self.is_moderator,
                "isBanned": self.is_banned, "createdAt": self.created_at, "modelCount": self.models,
                "publishedImageCount": self.images}


def list_users(actor: UserInfo | None, text: str = "", page: int = 1, limit: int = 25) -> Page:
    """The site's people (not its internal account), newest first, those whose name holds ``text``, with how
    many models and published images each has: a Page of Member (admins only)."""
    require_admin(actor)
    models = AiModel.select(fn.COUNT(AiModel.id)).where(AiModel.owner == User.id)
    images = Image.select(fn.COUNT(Image.id)).where(Image.owner == User.id, Image.published == True)  # noqa: E712
    query = people().select(User.username, User.is_admin, User.is_banned, User.created_at, models.alias("models"),
                            images.alias("images"), User.is_moderator)
    if text.strip():
        query = query.where(holds_text(User.username_key, username_key(text.strip())))
    order = query.order_by(User.created_at.desc(), User.id.desc()).tuples()
    return paginate(order, page, limit, lambda rows: [
        Member(name, bool(admin), bool(banned), iso(created), models, images, bool(moderator))
        for name, admin, banned, created, models, images, moderator in rows])


def site_stats(actor: UserInfo | None, models_dir: Path, outputs_dir: Path) -> SiteStats:
    """Counts of the site's content; users are people (not the site's internal account)."""
    require_admin(actor)
    return SiteStats(
        users=people().count(), banned_users=people().where(User.is_banned == True).count(),  # noqa: E712
        models=AiModel.select().count(), files=ModelFile.select().count(), images=Image.select().count(),
        published_images=Image.select().where(Image.published == True).count(),  # noqa: E712
        comments=Comment.select().count(), models_bytes=disk_usage(models_dir), outputs_bytes=disk_usage(outputs_dir))


def audit_log(actor: UserInfo | None, page: int = 1, limit: int = 50, cursor: str | None = None) -> Page:
    """Admin actions, newest first: a Page of AuditEntry."""
    require_admin(actor)
    query = AuditLog.select().order_by(AuditLog.created_at.desc(), AuditLog.id.desc())
    return paginate(query, page, limit, lambda rows: [
        AuditEntry(row.id, row.actor_name, row.action, row.target, iso(row.created_at)) for row in rows], cursor)


def rescan_models(context: AppContext, actor: UserInfo | None, progress: Progress | None = None) -> ScanReport:
    """Re-read models_dir (admins only, audit-logged): new files join the library, removed ones leave it."""
    require_admin(actor)
    report = context.rescan_models(progress)
    with context.store.write():
        record_admin_action(actor, "rescan", str(context.config.models_path))
    return report
