"""Moderation tab (shown to moderators and admins): the queue of reports, most reported first, each with its item
in context (a link to its page), who reported it and why, and Dismiss / Hide / Delete / Ban behind a second click.

Hiding the tab is only for looks: ``community.moderation`` re-checks the role on every event (the decision is the
public API event ``moderate``), so anyone else calling it is refused.
"""

from __future__ import annotations

from dataclasses import dataclass

import gradio as gr

from community import moderation
from community.moderation import ReportRecord
from core.accounts.accounts import require_moderator
from core.context import AppContext
from core.errors import VisionaryError
from core.paging import Page
from core.reports import OPEN

from . import render
from .i18n import label, message, plural, request_language, text
from .links import Links, event_value, link, page_tab
from .pager import Pager, build_pager, pager_values
from .session import request_user

QUEUE_PAGE = 20

# A decision asks once more before the row sends ``submit``.
DECIDE_JS = """
element.addEventListener('click', (event) => {
  const button = event.target.closest('[data-decide]');
  if (!button || !element.contains(button)) return;
  if (button.dataset.armed !== '1') {
    button.dataset.armed = '1';
    button.textContent = button.dataset.confirm;
    return;
  }
  trigger('submit', {report_id: Number(button.dataset.report), action: button.dataset.decide});
});
"""

QUEUE_CSS = """
.va-reports { list-style: none; margin: 0; padding: 0; display: flex; flex-direction: column; gap: 10px; }
.va-report { border: 1px solid var(--border-color-primary); border-radius: 10px; padding: 8px 14px; }
.va-report-head { display: flex; flex-wrap: wrap; gap: 4px 10px; align-items: baseline; }
.va-report-entries { margin: 6px 0; padding-left: 18px; color: var(--body-text-color-subdued); }
.va-decide { cursor: pointer; border-radius: 6px; padding: 1px 10px; font: inherit; font-size: .9em; margin-right: 6px;
  border: 1px solid var(--border-color-primary); background: transparent; color: var(--body-text-color); }
.va-decide[data-decide="delete"], .va-decide[data-decide="ban"] { color: #dc2626; border-color: #dc2626; }
.va-decide[data-armed="1"] { background: #dc2626; color: white; }
.va-empty { padding: 16px; text-align: center; color: var(--body-text-color-subdued); }
"""


def _item(report: ReportRecord, lang: str) -> str:
    kind = text(f"moderation.kind.{report.kind}", lang)
    name = render.text(report.subject_name) or f"#{report.subject_id}"
    if report.shown_at is None:
        return f"{kind} · {name} <span class='va-muted'>({text('moderation.gone', lang)})</span>"
    return f"{kind} · {link(report.shown_at[0], report.shown_at[1], report.subject_name or report.subject_id)}"


def _buttons(report: ReportRecord, lang: str) -> str:
    if report.status != OPEN:
        who = render.text(report.decided_by or "")
        return (f'<div class="va-muted">{text(f"moderation.decided.{report.decision}", lang)} · {who}'
                f'{" · " + render.text(report.note) if report.note else ""}</div>')
    return "<div>" + "".join(
        f'<button type="button" class="va-decide" data-decide="{action}" data-report="{report.id}" '
        f'data-confirm="{render.text(text(f"moderation.confirm.{action}", lang))}">'
        f'{text(f"moderation.action.{action}", lang)}</button>' for action in moderation.ACTIONS[report.kind]) + "</div>"


def report_html(report: ReportRecord, lang: str) -> str:
    reasons = ", ".join(f"{text(f'report.reason.{reason}', lang)} ×{count}" for reason, count in report.reasons)
    entries = "".join(f"<li>{render.text(e.reporter)}: {text(f'report.reason.{e.reason}', lang)}"
                      f"{' — ' + render.text(e.details) if e.details else ''}</li>" for e in report.entries)
    owner = text("moderation.by", lang, name=render.text(report.owner)) if report.owner else ""
    count = plural("moderation.reporters", report.reporter_count, lang)
    return (f'<li class="va-report" data-report-id="{report.id}" data-kind="{report.kind}" '
            f'data-reporters="{report.reporter_count}"><div class="va-report-head"><span>{_item(report, lang)}</span>'
            f'<span class="va-muted">{owner}</span><strong>{count}</strong><span class="va-muted">{reasons}</span></div>'
            f'<ul class="va-report-entries">{entries}</ul>{_buttons(report, lang)}</li>')


def queue_html(page: Page, lang: str) -> str:
    return render.item_list(page.items, "va-reports", lambda report: report_html(report, lang),
                            text("moderation.empty", lang))


@dataclass(frozen=True)
class ModerationQueue:
    context: AppContext
    status: gr.Radio
    note: gr.Textbox
    listing: gr.HTML
    pager: Pager

    def outputs(self) -> list:
        return [self.listing, *self.pager.outputs()]

    def show_reports(self, status, page, request: gr.Request):
        lang = request_language(request)
        try:
            result = moderation.moderation_queue(request_user(self.context, request), status or OPEN,
                                                 max(int(page or 1), 1), QUEUE_PAGE)
        except VisionaryError as exc:
            raise gr.Error(message(exc.message, lang)) from None
        return queue_html(result, lang), *pager_values(result, lang, "reports")

    def first_reports(self, status, request: gr.Request):
        return self.show_reports(status, 1, request)

    def previous_reports(self, status, page, request: gr.Request):
        return self.show_reports(status, int(page) - 1, request)

    def next_reports(self, status, page, request: gr.Request):
        return self.show_reports(status, int(page) + 1, request)

    def moderate(self, note, event: gr.EventData, request: gr.Request):
        """A row's confirmed decision, with the reason typed above the queue."""
        lang = request_language(request)
        try:
            actor = require_moderator(request_user(self.context, request))
            report_id, action = event_value(event, "report_id"), str(event_value(event, "action") or "")
            places = moderation.Places(self.context.config.models_path, self.context.config.outputs_path)
            moderation.decide(self.context.store, places, actor, int(report_id or 0), action, note or "")
        except VisionaryError as exc:
            raise gr.Error(message(exc.message, lang)) from None
        gr.Info(text(f"moderation.decided.{action}", lang))
        return ""


def build_moderation_tab(context: AppContext, links: Links) -> gr.Tab:
    """The tab (hidden until the header sees a moderator); returns it for the header to show."""
    with page_tab("moderation", visible=False) as tab:
        gr.Markdown(label("moderation.intro"))
        with gr.Row(equal_height=True):
            status = gr.Radio([(label(f"moderation.status.{s}"), s) for s in moderation.STATUSES], value=OPEN,
                              show_label=False, scale=2, elem_id="moderation-status")
            refresh = gr.Button(label("moderation.refresh"), size="sm", scale=0, min_width=110,
                                elem_id="moderation-refresh")
        note = gr.Textbox(label=label("moderation.note"), max_length=moderation.MAX_NOTE_CHARS,
                          elem_id="moderation-note")
        listing = links.html(css=QUEUE_CSS, js=DECIDE_JS, elem_id="moderation-queue")
        pager = build_pager("moderation")
    queue = ModerationQueue(context, status, note, listing, pager)
    outputs = queue.outputs()
    gr.on([tab.select, refresh.click, status.change], queue.first_reports, status, outputs,
          api_visibility="private")
    decided = listing.submit(queue.moderate, note, note, api_name="moderate")
    decided.success(queue.show_reports, [status, pager.number], outputs, api_visibility="private")
    pager.previous.click(queue.previous_reports, [status, pager.number], outputs, api_visibility="private")
    pager.next.click(queue.next_reports, [status, pager.number], outputs, api_visibility="private")
    return tab
