"""The tables of reports: one ``report`` per reported item while it waits for a moderator (repeat reports of the
same item merge into it), one ``report_entry`` per person who reported it.  ``community.moderation`` files and
decides them.
"""

from __future__ import annotations

from peewee import CharField, DateTimeField, ForeignKeyField, IntegerField, TextField

from core.store import BaseModel, utcnow
from core.tables import User

REPORT_KINDS = ("model", "version", "image", "comment", "user")
REASONS = ("spam", "harassment", "hateful", "unrated_mature", "illegal", "copyright", "impersonation", "other")
OPEN, DISMISSED, ACTIONED = "open", "dismissed", "actioned"


class Report(BaseModel):
    kind = CharField(max_length=16)
    subject_id = IntegerField()  # the model's, version's, image's, comment's or user's id
    subject_name = CharField(max_length=255, default="")  # what it was called when reported (kept after a delete)
    owner = ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL")  # whose content it is
    status = CharField(max_length=16, default=OPEN, index=True)
    reporter_count = IntegerField(default=0)
    created_at = DateTimeField(default=utcnow, index=True)
    decision = CharField(max_length=16, default="")  # dismiss | hide | delete | ban
    note = TextField(default="")  # the moderator's reason
    decided_by = ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL")
    decided_at = DateTimeField(null=True)

    class Meta:
        indexes = ((("kind", "subject_id", "status"), False),)


class ReportEntry(BaseModel):
    report = ForeignKeyField(Report, backref="entries", on_delete="CASCADE")
    reporter = ForeignKeyField(User, backref="+", on_delete="CASCADE")
    reason = CharField(max_length=32)
    details = TextField(default="")
    created_at = DateTimeField(default=utcnow, index=True)

    class Meta:
        indexes = ((("report", "reporter"), True), (("reporter", "created_at"), False))


REPORT_MODELS = [Report, ReportEntry]


def create_reports(db) -> None:
    """The tables, and one open report per item (a partial unique index: merging holds across processes)."""
    db.create_tables(REPORT_MODELS, safe=True)
    db.execute_sql('CREATE UNIQUE INDEX IF NOT EXISTS "report_open_item" ON "report" ("kind", "subject_id") '
                   "WHERE status = 'open'")
