"""Admin tab (shown to admins only): site stats, rescan of the models folder, ban/unban, removing any
content, and the audit log.

Hiding the tab is only for looks: every event here re-checks on the server that the user behind the
request is an admin (community.accounts.require_admin), so calling them through the API as anyone
else is refused.  The actions are public API events (``site_stats``, ``rescan_models``, ``ban_user``,
``unban_user``, ``remove_content``, ``audit_log``).
"""

from __future__ import annotations

import gradio as gr

from community import accounts, admin, comments, gallery
from community.accounts import require_admin
from community.admin import SiteStats
from core import library_edit
from core.context import AppContext
from core.errors import InvalidInput, VisionaryError
from core.library import Page
from core.scanner import ScanReport

from . import render
from .pager import build_pager, pager_values
from .session import request_user

AUDIT_PAGE = 25
CONTENT_KINDS = [("Model (with all its files)", "model"), ("Image", "image"), ("Comment", "comment")]
ADMIN_CSS = """
.va-stats { display: grid; grid-template-columns: repeat(auto-fill, minmax(150px, 1fr)); gap: 10px; }
.va-stat { border: 1px solid var(--border-color-primary); border-radius: 10px; padding: 10px 14px; }
.va-stat strong { display: block; font-size: 1.5em; }
.va-empty { padding: 16px; text-align: center; color: var(--body-text-color-subdued); }
"""


def stats_html(stats: SiteStats) -> str:
    cells = [("Users", stats.users, f"{stats.banned_users} banned"), ("Models", stats.models, ""),
             ("Files", stats.files, ""), ("Images", stats.images, f"{stats.published_images} published"),
             ("Comments", stats.comments, ""), ("Models folder", render.human_size(stats.models_bytes), "on disk"),
             ("Outputs folder", render.human_size(stats.outputs_bytes), "on disk")]
    return '<div class="va-stats">' + "".join(
        f'<div class="va-stat" data-stat="{render.text(name)}"><span class="va-muted">{render.text(name)}</span>'
        f'<strong>{render.text(value)}</strong><span class="va-muted">{render.text(note)}</span></div>'
        for name, value, note in cells) + "</div>"


def report_html(report: ScanReport) -> str:
    skipped = "".join(f"<li><code>{render.text(path)}</code>: {render.text(why)}</li>" for path, why in report.skipped)
    skipped = f"<p>Skipped:</p><ul>{skipped}</ul>" if skipped else ""
    return (f'<div class="va-ok">Rescan done: {report.found} found, {report.added} added, {report.removed} removed, '
            f'{report.unchanged} unchanged ({report.hashed} hashed).</div>{skipped}')


def audit_html(page: Page) -> str:
    if not page.items:
        return '<p class="va-empty">No admin actions yet. Bans, unbans, rescans and removals show up here.</p>'
    rows = "".join(f"<tr><td>{render.text(e.created_at[:19].replace('T', ' '))}</td><td>{render.text(e.actor)}</td>"
                   f"<td>{render.text(e.action)}</td><td>{render.text(e.target)}</td></tr>" for e in page.items)
    return (f'<table class="va-table" id="audit-table"><thead><tr><th>When (UTC)</th><th>Who</th><th>Action</th>'
            f'<th>Target</th></tr></thead><tbody>{rows}</tbody></table>')


class AdminEvents:
    """Each event resolves the user from the request and checks the admin role before anything else."""

    def __init__(self, context: AppContext):
        self.context = context

    def _admin(self, request: gr.Request):
        try:
            return require_admin(request_user(self.context, request))
        except VisionaryError as exc:
            raise gr.Error(exc.message) from None

    def site_stats(self, request: gr.Request):
        config = self.context.config
        return stats_html(admin.site_stats(self._admin(request), config.models_path, config.outputs_path))

    def audit_log(self, page, request: gr.Request):
        result = admin.audit_log(self._admin(request), max(int(page or 1), 1), AUDIT_PAGE)
        return audit_html(result), *pager_values(result, "entry", "entries")

    def first_audit(self, request: gr.Request):
        return self.audit_log(1, request)

    def previous_audit(self, page, request: gr.Request):
        return self.audit_log(int(page) - 1, request)

    def next_audit(self, page, request: gr.Request):
        return self.audit_log(int(page) + 1, request)

    def rescan_models(self, request: gr.Request, progress=gr.Progress()):
        actor = self._admin(request)
        progress(0, desc="Looking for files")

        def step(done: int, total: int, name: str) -> None:
            progress((done, max(total, 1)), desc=f"Checking {name}" if name else "Finishing", unit="files")

        try:
            return report_html(admin.rescan_models(self.context, actor, step))
        except VisionaryError as exc:
            raise gr.Error(exc.message) from None

    def _set_banned(self, username, banned: bool, request: gr.Request):
        try:
            user = accounts.set_banned(self.context.store, self._admin(request), (username or "").strip(), banned)
        except VisionaryError as exc:
            raise gr.Error(exc.message) from None
        what = "banned: their sessions are revoked" if banned else "unbanned"
        return f'<div class="va-ok">{render.text(user.username)} is {what}.</div>'

    def ban_user(self, username, request: gr.Request):
        return self._set_banned(username, True, request)

    def unban_user(self, username, request: gr.Request):
        return self._set_banned(username, False, request)

    def remove_content(self, kind, item_id, confirmed: bool, request: gr.Request):
        actor = self._admin(request)
        store, config = self.context.store, self.context.config
        removers = {
            "model": lambda i: library_edit.delete_model(store, config.models_path, actor, i),
            "image": lambda i: gallery.delete_image(store, config.outputs_path, actor, i),
            "comment": lambda i: comments.delete_comment(store, actor, i),
        }
        try:
            if kind not in removers or item_id is None:
                raise InvalidInput("choose what to remove and its id")
            if not confirmed:
                raise InvalidInput("tick “I am sure” to remove it")
            removers[kind](int(item_id))
        except VisionaryError as exc:
            raise gr.Error(exc.message) from None
        return f'<div class="va-ok">Removed the {render.text(kind)} #{int(item_id)}.</div>'


def build_admin_tab(context: AppContext) -> gr.Tab:
    """The Admin tab, hidden; the page shows it to admins (the returned tab)."""
    events = AdminEvents(context)
    with gr.Tab("Admin", id="admin", visible=False) as tab:
        with gr.Row(equal_height=True):
            gr.Markdown("### Site")
            refresh = gr.Button("Refresh", size="sm", scale=0, min_width=110, elem_id="admin-refresh")
        stats = gr.HTML(elem_id="admin-stats", css_template=render.BASE_CSS + ADMIN_CSS, js_on_load=None)
        gr.Markdown("### Models folder\nFind files dropped into the models folder by hand, and drop the ones "
                    "that were removed.")
        with gr.Row():
            rescan = gr.Button("Rescan the models folder", scale=0, min_width=260, elem_id="admin-rescan")
        rescan_report = gr.HTML(elem_id="admin-rescan-report", css_template=render.BASE_CSS, js_on_load=None)
        gr.Markdown("### Users\nA ban ends the user's sessions at once; their public content stays.")
        with gr.Row(equal_height=True):
            username = gr.Textbox(show_label=False, placeholder="Username", max_length=64, scale=3,
                                  elem_id="admin-username")
            ban = gr.Button("Ban", variant="stop", scale=0, min_width=100, elem_id="admin-ban")
            unban = gr.Button("Unban", scale=0, min_width=100, elem_id="admin-unban")
        gr.Markdown("### Remove content")
        with gr.Row(equal_height=True):
            kind = gr.Dropdown(CONTENT_KINDS, value="model", label="What", elem_id="admin-remove-kind")
            item_id = gr.Number(None, label="Id", precision=0, elem_id="admin-remove-id")
            confirm = gr.Checkbox(False, label="I am sure", elem_id="admin-remove-confirm")
            remove = gr.Button("Remove", variant="stop", scale=0, min_width=110, elem_id="admin-remove")
        status = gr.HTML(elem_id="admin-status", css_template=render.BASE_CSS, js_on_load=None)
        gr.Markdown("### Audit log")
        audit = gr.HTML(elem_id="admin-audit", css_template=render.BASE_CSS + ADMIN_CSS, js_on_load=None)
        pager = build_pager("audit")
    audit_outputs = [audit, *pager.outputs()]

    gr.on([tab.select, refresh.click], events.site_stats, None, stats, api_name="site_stats")
    gr.on([tab.select, refresh.click], events.first_audit, None, audit_outputs, api_name="audit_log")
    pager.previous.click(events.previous_audit, pager.number, audit_outputs, api_visibility="private")
    pager.next.click(events.next_audit, pager.number, audit_outputs, api_visibility="private")
    for done in (rescan.click(events.rescan_models, None, rescan_report, api_name="rescan_models"),
                 ban.click(events.ban_user, username, status, api_name="ban_user"),
                 unban.click(events.unban_user, username, status, api_name="unban_user"),
                 remove.click(events.remove_content, [kind, item_id, confirm], status, api_name="remove_content")
                 .success(lambda: False, None, confirm, api_visibility="private")):
        done.success(events.site_stats, None, stats, api_visibility="private")
        done.success(events.first_audit, None, audit_outputs, api_visibility="private")
    return tab
