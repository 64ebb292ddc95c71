"""Reports (any member) and the moderation queue (moderators and admins; the role is checked by the service)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from community import moderation
from community.moderation import Places
from core.accounts.accounts import UserInfo
from core.errors import InvalidInput
from core.reports import OPEN

from .deps import get_context, require_user
from .shapes import PathId, page_json

router = APIRouter(prefix="/api/v1", tags=["moderation"])


class ReportBody(BaseModel):
    type: str = Field(max_length=16)  # model, version, image, comment or user
    id: int | None = Field(None, ge=1, le=2**63 - 1)
    username: str | None = Field(None, max_length=64)  # a user may be named instead of numbered
    reason: str = Field(max_length=32)
    details: str = Field("", max_length=10_000)


class DecisionBody(BaseModel):
    action: str = Field(max_length=16)  # dismiss, hide, delete or ban
    note: str = Field("", max_length=10_000)  # the reason the owner and reporters are told


@router.post("/reports", status_code=201)
def file_report(body: ReportBody, request: Request, user: UserInfo = Depends(require_user)) -> dict:
    """Report something; repeat reports of one item merge (``reporterCount`` is for moderators)."""
    subject_id = body.id
    if subject_id is None and body.type == "user" and body.username:
        subject_id = moderation.find_reported_user(body.username)
    if subject_id is None:
        raise InvalidInput("name what you report: id (or username for a user)")
    filed = moderation.report(get_context(request).store, user, body.type, subject_id, body.reason, body.details)
    return filed.as_dict(with_reporters=False)


@router.get("/moderation/reports")
def queue(request: Request, status: str = OPEN, page: int = Query(1, ge=1, le=100_000),
          limit: int = Query(20, ge=1, le=100), cursor: str | None = None,
          user: UserInfo = Depends(require_user)) -> dict:
    result = moderation.moderation_queue(user, status, page, limit, cursor)
    return page_json(request, result, [record.as_dict() for record in result.items])


@router.post("/moderation/reports/{report_id}/decision")
def decide(report_id: PathId, body: DecisionBody, request: Request, user: UserInfo = Depends(require_user)) -> dict:
    context = get_context(request)
    places = Places(context.config.models_path, context.config.outputs_path)
    return moderation.decide(context.store, places, user, report_id, body.action, body.note).as_dict()
