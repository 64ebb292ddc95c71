"""The Report form of a page: what is reported, a reason from the list, optional details, Send and Cancel.

A page builds one (``build_report_form``) and opens it from its own Report button (``open_with``) or from a
comment's (``ui.comments_section``); ``community.moderation`` files the report, merging it with others on the
same item, and says no to one's own content or too many reports an hour.
"""

from __future__ import annotations

from dataclasses import dataclass

import gradio as gr

from community import moderation
from core.context import AppContext
from core.errors import VisionaryError
from core.reports import REASONS

from .i18n import label, message, request_language, text
from .session import request_user


@dataclass(frozen=True)
class ReportForm:
    context: AppContext
    panel: gr.Group
    heading: gr.Markdown
    target: gr.Textbox  # "kind:id" of what is reported
    reason: gr.Dropdown
    details: gr.Textbox
    send: gr.Button
    cancel: gr.Button

    def opened(self, kind: str, subject_id, lang: str) -> tuple:
        """The form shown for ``kind`` number ``subject_id``: its heading, target and emptied fields."""
        try:
            if kind == "user" and not str(subject_id).isdigit():  # a profile names its person
                subject_id = moderation.find_reported_user(str(subject_id or ""))
            target = f"{kind}:{int(subject_id)}"
        except (TypeError, ValueError):
            raise gr.Error(text("report.nothing_to_report", lang)) from None
        except VisionaryError as exc:
            raise gr.Error(message(exc.message, lang)) from None
        return (gr.Group(visible=True), text(f"report.heading_{kind}", lang), target, None, "")

    def outputs(self) -> list:
        return [self.panel, self.heading, self.target, self.reason, self.details]

    def report_item(self, target, reason, details, request: gr.Request):
        lang = request_language(request)
        kind, _, subject = str(target or "").partition(":")
        if not subject.isdigit():
            raise gr.Error(text("report.nothing_to_report", lang))
        if not reason:
            raise gr.Error(text("report.choose_reason", lang))
        try:
            moderation.report(self.context.store, request_user(self.context, request), kind, int(subject), reason,
                              details or "")
        except VisionaryError as exc:
            raise gr.Error(message(exc.message, lang)) from None
        gr.Info(text("report.thanks", lang))
        return gr.Group(visible=False)


def build_report_form(context: AppContext, prefix: str) -> ReportForm:
    """The (hidden) form in the current layout; its parts' ids start with ``prefix``."""
    with gr.Group(visible=False, elem_id=f"{prefix}-report") as panel:
        heading = gr.Markdown(elem_id=f"{prefix}-report-heading")
        target = gr.Textbox(visible=False, elem_id=f"{prefix}-report-target")
        reason = gr.Dropdown([(label(f"report.reason.{reason}"), reason) for reason in REASONS], value=None,
                             label=label("report.reason"), elem_id=f"{prefix}-report-reason")
        details = gr.Textbox(label=label("report.details"), lines=2, max_length=moderation.MAX_DETAILS_CHARS,
                             elem_id=f"{prefix}-report-details")
        with gr.Row():
            send = gr.Button(label("report.send"), variant="stop", scale=0, min_width=140,
                             elem_id=f"{prefix}-report-send")
            cancel = gr.Button(label("report.cancel"), scale=0, min_width=100, elem_id=f"{prefix}-report-cancel")
    form = ReportForm(context, panel, heading, target, reason, details, send, cancel)
    send.click(form.report_item, [target, reason, details], panel, api_name="report_item")
    cancel.click(lambda: gr.Group(visible=False), None, panel, api_visibility="private")
    return form


def open_with(form: ReportForm, button: gr.Button, kind: str, subject_id: gr.components.Component) -> None:
    """``button`` opens the form on the ``kind`` whose id ``subject_id`` holds."""

    def open_report_form(value, request: gr.Request):
        return form.opened(kind, value, request_language(request))

    button.click(open_report_form, subject_id, form.outputs(), api_visibility="private")
