"""Reports and the moderation queue.

Any member reports a model, a version, a picture, a comment or a person with a
reason; reports of the same item merge into one entry of the queue while it is
open (a partial unique index keeps it one, whichever process files them), each
reporter counted once.  Moderators (and admins) decide: dismiss, hide (its
owner and the moderators still see it; a visitor gets 404), delete, or ban its
owner.  Every decision goes to the audit log and is told to the reporters and,
for hide and delete, to the owner, with the moderator's reason.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path

from peewee import fn

from community import comments, gallery
from core import notifications
from core.accounts.accounts import UserInfo, record_admin_action, require_moderator, user_row
from core.errors import Conflict, Forbidden, InvalidInput, NotFound, Throttled
from core.library import library, library_edit
from core.library.library_edit import require_login
from core.paging import Page, paginate
from core.reports import ACTIONED, DISMISSED, OPEN, REASONS, REPORT_KINDS, Report, ReportEntry
from core.store import Store, iso, utcnow
from core.tables import HIDDEN, AiModel, Comment, Image, ModelVersion, User

MAX_REPORTS_PER_HOUR = 20  # per reporter: enough for a real problem, too few to flood the queue
MAX_DETAILS_CHARS = 1000
MAX_NOTE_CHARS = 1000
ACTIONS = {"model": ("dismiss", "hide", "delete", "ban"), "version": ("dismiss", "hide", "delete", "ban"),
           "image": ("dismiss", "hide", "delete", "ban"), "comment": ("dismiss", "hide", "delete", "ban"),
           "user": ("dismiss", "ban")}
STATUSES = (OPEN, DISMISSED, ACTIONED)


@dataclass(frozen=True)
class Places:
    """Where deleted content's files are (a model's bytes, a picture's PNG)."""

    models_dir: Path
    outputs_dir: Path


@dataclass(frozen=True)
class ReportEntryRecord:
    reporter: str
    reason: str
    details: str
    created_at: str


@dataclass(frozen=True)
class ReportRecord:
    id: int
    kind: str
    subject_id: int
    subject_name: str
    owner: str | None
    status: str
    reporter_count: int
    created_at: str
    reasons: tuple[tuple[str, int], ...] = ()  # (reason, how many reporters gave it), most given first
    entries: tuple[ReportEntryRecord, ...] = ()  # for moderators only
    decision: str = ""
    note: str = ""
    decided_by: str | None = None
    decided_at: str | None = None
    shown_at: tuple[str, str] | None = None  # where a moderator sees it in context: ("model", id), ("user", name)…

    def as_dict(self, with_reporters: bool = True) -> dict:
        shown = {"id": self.id, "type": self.kind, "subjectId": self.subject_id, "status": self.status,
                 "createdAt": self.created_at}
        if not with_reporters:
            return shown
        return {**shown, "subjectName": self.subject_name, "owner": self.owner, "reporterCount": self.reporter_count,
                "reasons": dict(self.reasons), "decision": self.decision or None, "note": self.note,
                "decidedBy": self.decided_by, "decidedAt": self.decided_at,
                "reports": [{"reporter": e.reporter, "reason": e.reason, "details": e.details,
                             "createdAt": e.created_at} for e in self.entries]}


# --------------------------------------------------------------------------- what is reported
@dataclass(frozen=True)
class _Subject:
    owner_id: int | None
    name: str


def _describe(actor: UserInfo | None, kind: str, subject_id: int) -> _Subject:
    """Who owns the item and what it is called; NotFound for what the actor may not see."""
    if kind == "model":
        model = library.get_model_row(actor, subject_id)
        return _Subject(model.owner_id, model.name)
    if kind == "version":
        version = ModelVersion.get_or_none(ModelVersion.id == subject_id)
        if version is None:
            raise NotFound(f"no model version with id {subject_id}")
        model = library.get_model_row(actor, version.model_id)
        return _Subject(model.owner_id, f"{model.name} · {version.name}")
    if kind == "image":
        image = gallery.get_image_row(actor, subject_id)
        return _Subject(image.owner_id, f"#{image.id} {image.prompt}"[:200])
    if kind == "comment":
        comment = comments.visible_comment(actor, subject_id)
        return _Subject(comment.user_id, comment.body[:200])
    user = User.get_or_none(User.id == subject_id)
    if user is None:
        raise NotFound(f"no user with id {subject_id}")
    return _Subject(user.id, user.username)


def _check_report(kind: str, reason: str, details: str) -> str:
    if kind not in REPORT_KINDS:
        raise InvalidInput(f"cannot report a {kind!r}: report one of {', '.join(REPORT_KINDS)}")
    if reason not in REASONS:
        raise InvalidInput(f"no reason {reason!r}: choose from {', '.join(REASONS)}")
    text = (details or "").strip()
    if len(text) > MAX_DETAILS_CHARS:
        raise InvalidInput(f"the details can be at most {MAX_DETAILS_CHARS} characters")
    return text


def _check_rate(actor: UserInfo) -> None:
    since = utcnow() - dt.timedelta(hours=1)
    recent = list(ReportEntry.select(ReportEntry.created_at).where(
        ReportEntry.reporter == actor.id, ReportEntry.created_at >= since).order_by(ReportEntry.created_at))
    if len(recent) >= MAX_REPORTS_PER_HOUR:
        wait = (recent[0].created_at + dt.timedelta(hours=1) - utcnow()).total_seconds()
        raise Throttled(f"you can file at most {MAX_REPORTS_PER_HOUR} reports an hour: try again later", wait)


def report(store: Store, actor: UserInfo | None, kind: str, subject_id: int, reason: str,
           details: str = "") -> ReportRecord:
    """Report an item the actor can see (once per person and item while it waits for a moderator)."""
    actor = require_login(actor)
    text = _check_report(kind, reason, details)
    subject = _describe(actor, kind, subject_id)
    if subject.owner_id == actor.id:
        raise InvalidInput("you cannot report your own content")
    with store.write():
        _check_rate(actor)
        Report.insert(kind=kind, subject_id=subject_id, subject_name=subject.name[:255], owner=subject.owner_id,
                      status=OPEN).on_conflict_ignore().execute()
        row = Report.get(Report.kind == kind, Report.subject_id == subject_id, Report.status == OPEN)
        ReportEntry.insert(report=row.id, reporter=actor.id, reason=reason, details=text).on_conflict_ignore() \
            .execute()
        count = ReportEntry.select(fn.COUNT(ReportEntry.id)).where(ReportEntry.report == row.id).scalar()
        Report.update(reporter_count=count).where(Report.id == row.id).execute()
    return _records([Report.get_by_id(row.id)])[0]


# --------------------------------------------------------------------------- the queue
def _shown_at(row: Report) -> tuple[str, str] | None:
    """The page that shows the reported item (a comment's: its model's or picture's); None once it is gone."""
    if row.kind in ("model", "image"):
        exists = (AiModel if row.kind == "model" else Image).select().where(
            (AiModel.id if row.kind == "model" else Image.id) == row.subject_id).exists()
        return (row.kind, str(row.subject_id)) if exists else None
    if row.kind == "version":
        version = ModelVersion.get_or_none(ModelVersion.id == row.subject_id)
        return ("model", str(version.model_id)) if version else None
    if row.kind == "comment":
        comment = Comment.get_or_none(Comment.id == row.subject_id)
        if comment is None:
            return None
        return ("model", str(comment.model_id)) if comment.model_id is not None else ("image", str(comment.image_id))
    return ("user", row.subject_name)


def _records(rows: list[Report], with_entries: bool = False) -> list[ReportRecord]:
    ids = [row.id for row in rows]
    entries: dict[int, list[ReportEntryRecord]] = {}
    if ids:
        query = (ReportEntry.select(ReportEntry, User.username).join(User)
                 .where(ReportEntry.report.in_(ids)).order_by(ReportEntry.created_at, ReportEntry.id))
        for entry in query:
            entries.setdefault(entry.report_id, []).append(
                ReportEntryRecord(entry.reporter.username, entry.reason, entry.details, iso(entry.created_at)))
    names = {user.id: user.username for user in User.select(User.id, User.username).where(
        User.id.in_([r.owner_id for r in rows if r.owner_id] + [r.decided_by_id for r in rows if r.decided_by_id]))}
    records = []
    for row in rows:
        given = [entry.reason for entry in entries.get(row.id, [])]
        reasons = tuple(sorted(((reason, given.count(reason)) for reason in set(given)), key=lambda r: (-r[1], r[0])))
        records.append(ReportRecord(
            row.id, row.kind, row.subject_id, row.subject_name, names.get(row.owner_id), row.status,
            row.reporter_count, iso(row.created_at), reasons,
            tuple(entries.get(row.id, ())) if with_entries else (), row.decision, row.note,
            names.get(row.decided_by_id), iso(row.decided_at), _shown_at(row) if with_entries else None))
    return records


def moderation_queue(actor: UserInfo | None, status: str = OPEN, page: int = 1, limit: int = 20,
                     cursor: str | None = None) -> Page:
    """Reports with ``status`` (open: most reporters first; handled ones: latest decision first)."""
    require_moderator(actor)
    if status not in STATUSES:
        raise InvalidInput(f"no report status {status!r}: choose from {', '.join(STATUSES)}")
    order = ((Report.reporter_count.desc(), Report.id) if status == OPEN
             else (Report.decided_at.desc(), Report.id.desc()))
    query = Report.select().where(Report.status == status).order_by(*order)
    return paginate(query, page, limit, lambda rows: _records(rows, with_entries=True), cursor)


def open_report_count(actor: UserInfo | None) -> int:
    return Report.select().where(Report.status == OPEN).count() if actor and actor.can_moderate else 0


# --------------------------------------------------------------------------- decisions
def _hide(store: Store, kind: str, subject_id: int) -> None:
    if kind in ("model", "version"):
        model_id = subject_id if kind == "model" else ModelVersion.get_by_id(subject_id).model_id
        AiModel.update(visibility=HIDDEN).where(AiModel.id == model_id).execute()
    elif kind == "image":
        Image.update(hidden=True, published=False).where(Image.id == subject_id).execute()
    else:
        comment = Comment.get_by_id(subject_id)
        store.lock_row(AiModel if comment.model_id is not None else Image, comment.model_id or comment.image_id)
        Comment.update(hidden=True).where(Comment.id == subject_id).execute()
        comments.recount(comment)


def _delete(store: Store, places: Places, actor: UserInfo, kind: str, subject_id: int) -> None:
    """Delete the item (already gone: nothing to do)."""
    try:
        if kind == "model":
            library_edit.delete_model(store, places.models_dir, actor, subject_id)
        elif kind == "version":
            library_edit.delete_version(store, places.models_dir, actor, subject_id)
        elif kind == "image":
            gallery.delete_image(store, places.outputs_dir, actor, subject_id)
        else:
            comments.delete_comment(store, actor, subject_id)
    except NotFound:
        pass


def _ban(actor: UserInfo, user_id: int | None) -> None:
    user = User.get_or_none(User.id == user_id) if user_id is not None else None
    if user is None:
        raise NotFound("the account behind this report no longer exists")
    if user.id == actor.id:
        raise InvalidInput("you cannot ban yourself")
    if (user.is_admin or user.is_moderator) and not actor.is_admin:
        raise Forbidden("only admins can ban a moderator or an admin")
    User.update(is_banned=True).where(User.id == user.id).execute()


def decision_detail(kind: str, name: str, action: str, note: str) -> str:
    """What a decision's notifications carry (the item may be gone): JSON the UI words in the reader's language."""
    return json.dumps({"action": action, "type": kind, "name": name, "note": note}, ensure_ascii=False)


def _still_open(report_id: int) -> Report:
    row = Report.get_or_none(Report.id == report_id)
    if row is None:
        raise NotFound(f"no report with id {report_id}")
    if row.status != OPEN:
        raise Conflict(f"this report was already handled ({row.decision})")
    return row


def decide(store: Store, places: Places, actor: UserInfo | None, report_id: int, action: str,
           note: str = "") -> ReportRecord:
    """A moderator's decision on an open report: ``dismiss``, ``hide``, ``delete`` or ``ban`` (its owner)."""
    actor = require_moderator(actor)
    row = _still_open(report_id)
    if action not in ACTIONS[row.kind]:
        raise InvalidInput(f"cannot {action!r} a {row.kind}: choose from {', '.join(ACTIONS[row.kind])}")
    note = (note or "").strip()
    if len(note) > MAX_NOTE_CHARS:
        raise InvalidInput(f"the reason can be at most {MAX_NOTE_CHARS} characters")
    if action == "delete":
        _delete(store, places, actor, row.kind, row.subject_id)
    with store.write():
        row = _still_open(report_id)
        if action == "hide":
            _hide(store, row.kind, row.subject_id)
        elif action == "ban":
            _ban(actor, row.owner_id)
        Report.update(status=DISMISSED if action == "dismiss" else ACTIONED, decision=action, note=note,
                      decided_by=actor.id, decided_at=utcnow()).where(Report.id == row.id).execute()
        record_admin_action(actor, f"moderate_{action}", f"report:{row.id}:{row.kind}:{row.subject_id}")
        detail = decision_detail(row.kind, row.subject_name, action, note)
        reporters = [entry.reporter_id for entry in ReportEntry.select(ReportEntry.reporter)
                     .where(ReportEntry.report == row.id)]
        notifications.notify(reporters, notifications.REPORT_HANDLED, detail=detail)
        if action in ("hide", "delete") and row.owner_id is not None:
            notifications.notify([row.owner_id], notifications.REMOVED, detail=detail)
    return _records([Report.get_by_id(row.id)], with_entries=True)[0]


def remove(store: Store, places: Places, actor: UserInfo | None, kind: str, subject_id: int, note: str = "") -> None:
    """A moderator deletes a model, version, picture or comment without a report (the Admin tab): deleted as the
    queue's "delete" does (the deletion is audit-logged), and its owner told, with the reason."""
    actor = require_moderator(actor)
    if kind not in ("model", "version", "image", "comment"):
        raise InvalidInput(f"cannot remove a {kind!r}: choose a model, version, image or comment")
    subject = _describe(actor, kind, subject_id)
    _delete(store, places, actor, kind, subject_id)
    with store.write():
        if subject.owner_id != actor.id:  # as in the queue, the moderator is not named
            notifications.notify([subject.owner_id], notifications.REMOVED,
                                 detail=decision_detail(kind, subject.name, "delete", (note or "").strip()))


def find_reported_user(username: str) -> int:
    """A user's id, to report them by name."""
    return user_row(username).id
