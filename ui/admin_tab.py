"""Admin tab (shown to admins only): site stats, the generation pool, rescan of the models folder, invite codes,
ban/unban, removing any content, and the audit log.

Hiding the tab is only for looks: every event here re-checks on the server that the user behind the
request is an admin (core.accounts.accounts.require_admin), so calling them through the API as anyone
else is refused.  The actions are public API events (``site_stats``, ``rescan_models``, ``make_invite``,
``list_invites``, ``ban_user``, ``unban_user``, ``remove_content``, ``audit_log``, ``generation_pool``).
"""

from __future__ import annotations

import gradio as gr

from community import admin, moderation
from community.admin import SiteStats
from community.moderation import Places
from core.accounts import accounts, invites
from core.accounts.accounts import require_admin
from core.context import AppContext
from core.errors import InvalidInput, VisionaryError
from core.generation.pool_view import generation_pool
from core.library.scanner import ScanReport
from core.paging import Page

from . import render
from .admin_users import build_user_list
from .i18n import label, message, request_language, text
from .links import Links, page_tab
from .pager import build_pager, pager_values
from .session import request_user

AUDIT_PAGE = 25
INVITE_PAGE = 20
INVITE_LIFETIMES = (0, 1, 7, 30)  # days; 0: never expires
CONTENT_KINDS = ("model", "image", "comment")
ADMIN_CSS = """
.va-stats { display: grid; grid-template-columns: repeat(auto-fill, minmax(150px, 1fr)); gap: 10px; }
.va-stat { border: 1px solid var(--border-color-primary); border-radius: 10px; padding: 10px 14px; }
.va-stat strong { display: block; font-size: 1.5em; }
.va-empty { padding: 16px; text-align: center; color: var(--body-text-color-subdued); }
"""


def stats_html(stats: SiteStats, lang: str) -> str:
    on_disk = text("admin.on_disk", lang)
    cells = [("users", stats.users, text("admin.banned_count", lang, count=stats.banned_users)),
             ("models", stats.models, ""), ("files", stats.files, ""),
             ("images", stats.images, text("admin.published_count", lang, count=stats.published_images)),
             ("comments", stats.comments, ""), ("models_folder", render.human_size(stats.models_bytes, lang), on_disk),
             ("outputs_folder", render.human_size(stats.outputs_bytes, lang), on_disk)]
    return '<div class="va-stats">' + "".join(
        f'<div class="va-stat" data-stat="{name}"><span class="va-muted">{render.text(text(f"admin.{name}", lang))}'
        f'</span><strong>{render.text(value)}</strong><span class="va-muted">{render.text(note)}</span></div>'
        for name, value, note in cells) + "</div>"


def report_html(report: ScanReport, lang: str) -> str:
    skipped = "".join(f"<li><code>{render.text(path)}</code>: {render.text(why)}</li>" for path, why in report.skipped)
    skipped = f"<p>{text('admin.skipped', lang)}</p><ul>{skipped}</ul>" if skipped else ""
    done = text("admin.rescan_done", lang, found=report.found, added=report.added, removed=report.removed,
                unchanged=report.unchanged, hashed=report.hashed)
    return f'<div class="va-ok">{done}</div>{skipped}'


def audit_html(page: Page, lang: str) -> str:
    if not page.items:
        return f'<p class="va-empty">{text("admin.no_actions", lang)}</p>'
    rows = "".join(f"<tr><td>{render.text(e.created_at[:19].replace('T', ' '))}</td><td>{render.text(e.actor)}</td>"
                   f"<td>{render.text(e.action)}</td><td>{render.text(e.target)}</td></tr>" for e in page.items)
    columns = "".join(f"<th>{text(f'admin.col_{c}', lang)}</th>" for c in ("when", "who", "action", "target"))
    return f'<table class="va-table" id="audit-table"><thead><tr>{columns}</tr></thead><tbody>{rows}</tbody></table>'


def pool_html(view: dict, lang: str) -> str:
    """The generation backend's replicas and the queue per user."""
    where = text(f"admin.pool_backend_{view['backend']}", lang, address=view.get("address") or "")
    error = f'<p class="va-error">{render.text(view["error"])}</p>' if view.get("error") else ""
    rows = "".join(
        f"<tr><td><code>{render.text(r['id'])}</code></td><td>{render.text(r['node'])}</td>"
        f"<td>{render.text(', '.join(r['models']) or '—')}</td><td>{r['loads']}</td>"
        f"<td>{r.get('downloads', 0)}</td><td>{r['running']}</td></tr>" for r in view["replicas"])
    columns = "".join(f"<th>{text(f'admin.col_{c}', lang)}</th>"
                      for c in ("replica", "node", "checkpoints", "loads", "downloads", "running"))
    replicas = (f'<table class="va-table" id="pool-replicas"><thead><tr>{columns}</tr></thead><tbody>{rows}</tbody>'
                f"</table>" if rows else f'<p class="va-empty">{text("admin.no_replicas", lang)}</p>')
    queue = "".join(f"<tr><td>{render.text(q['user'])}</td><td>{q['running']}</td><td>{q['waiting']}</td></tr>"
                    for q in view["queue"])
    columns = "".join(f"<th>{text(f'admin.col_{c}', lang)}</th>" for c in ("who", "running", "waiting"))
    queue = (f'<table class="va-table" id="pool-queue"><thead><tr>{columns}</tr></thead><tbody>{queue}</tbody></table>'
             if queue else f'<p class="va-empty">{text("admin.queue_empty", lang)}</p>')
    return f"<p>{render.text(where)}</p>{error}{replicas}{queue}"


def _minutes(moment: str) -> str:
    """``2025-01-31T12:34:56.789Z`` as ``2025-01-31 12:34`` (UTC)."""
    return moment[:16].replace("T", " ")


def invites_html(page: Page, lang: str) -> str:
    """The newest invites: who made them, until when they work, and who used them (never the codes)."""
    if not page.items:
        return f'<p class="va-empty">{text("admin.no_invites", lang)}</p>'
    never = text("admin.invite_never", lang)
    rows = "".join(
        f"<tr><td>#{i.id}</td><td>{render.text(i.created_by or '')}</td><td>{render.text(_minutes(i.created_at))}</td>"
        f"<td>{render.text(_minutes(i.expires_at) if i.expires_at else never)}</td>"
        f"<td>{text(f'admin.invite_{i.status}', lang)}</td><td>{render.text(i.used_by or '')}</td></tr>"
        for i in page.items)
    columns = "".join(f"<th>{text(f'admin.col_{c}', lang)}</th>"
                      for c in ("invite", "made_by", "made", "expires", "status", "used_by"))
    return f'<table class="va-table" id="invites-table"><thead><tr>{columns}</tr></thead><tbody>{rows}</tbody></table>'


class AdminEvents:
    """Each event resolves the user from the request and checks the admin role before anything else."""

    def __init__(self, context: AppContext):
        self.context = context

    def _admin(self, request: gr.Request):
        try:
            return require_admin(request_user(self.context, request))
        except VisionaryError as exc:
            raise gr.Error(message(exc.message, request_language(request))) from None

    def site_stats(self, request: gr.Request):
        config = self.context.config
        stats = admin.site_stats(self._admin(request), config.models_path, config.outputs_path)
        return stats_html(stats, request_language(request))

    def generation_pool(self, request: gr.Request):
        return pool_html(generation_pool(self.context, self._admin(request)), request_language(request))

    def audit_log(self, page, request: gr.Request):
        result = admin.audit_log(self._admin(request), max(int(page or 1), 1), AUDIT_PAGE)
        lang = request_language(request)
        return audit_html(result, lang), *pager_values(result, lang, "entries")

    def first_audit(self, request: gr.Request):
        return self.audit_log(1, request)

    def previous_audit(self, page, request: gr.Request):
        return self.audit_log(int(page) - 1, request)

    def next_audit(self, page, request: gr.Request):
        return self.audit_log(int(page) + 1, request)

    def rescan_models(self, request: gr.Request, progress=gr.Progress()):
        actor = self._admin(request)
        lang = request_language(request)
        progress(0, desc=text("admin.looking", lang))

        def step(done: int, total: int, name: str) -> None:
            desc = text("admin.checking", lang, name=name) if name else text("admin.finishing", lang)
            progress((done, max(total, 1)), desc=desc, unit=text("admin.files_unit", lang))

        try:
            return report_html(admin.rescan_models(self.context, actor, step), lang)
        except VisionaryError as exc:
            raise gr.Error(message(exc.message, lang)) from None

    def list_invites(self, request: gr.Request):
        result = invites.list_invites(self._admin(request), 1, INVITE_PAGE)
        return invites_html(result, request_language(request))

    def make_invite(self, lifetime_days, request: gr.Request):
        """A new invite code, shown once (and the list with it)."""
        actor = self._admin(request)
        lang = request_language(request)
        try:
            new = invites.create_invite(self.context.store, actor, int(lifetime_days or 0) or None)
        except VisionaryError as exc:
            raise gr.Error(message(exc.message, lang)) from None
        return new.code, invites_html(invites.list_invites(actor, 1, INVITE_PAGE), lang)

    def _set_banned(self, username, banned: bool, request: gr.Request):
        lang = request_language(request)
        try:
            user = accounts.set_banned(self.context.store, self._admin(request), (username or "").strip(), banned)
        except VisionaryError as exc:
            raise gr.Error(message(exc.message, lang)) from None
        done = text("admin.banned" if banned else "admin.unbanned", lang, name=render.text(user.username))
        return f'<div class="va-ok">{done}</div>'

    def ban_user(self, username, request: gr.Request):
        return self._set_banned(username, True, request)

    def unban_user(self, username, request: gr.Request):
        return self._set_banned(username, False, request)

    def remove_content(self, kind, item_id, confirmed: bool, request: gr.Request):
        actor = self._admin(request)
        lang = request_language(request)
        config = self.context.config
        try:
            if kind not in CONTENT_KINDS or item_id is None:
                raise InvalidInput("choose what to remove and its id")
            if not confirmed:
                raise InvalidInput("tick “I am sure” to remove it")
            moderation.remove(self.context.store, Places(config.models_path, config.outputs_path), actor, kind,
                              int(item_id))
        except VisionaryError as exc:
            raise gr.Error(message(exc.message, lang)) from None
        return f'<div class="va-ok">{text(f"admin.removed_{kind}", lang, id=int(item_id))}</div>'


def build_admin_tab(context: AppContext, links: Links) -> gr.Tab:
    """The Admin tab, hidden; the page shows it to admins (the returned tab)."""
    events = AdminEvents(context)
    with page_tab("admin", visible=False) as tab:
        with gr.Row(equal_height=True):
            gr.Markdown(label("admin.site_heading"))
            refresh = gr.Button(label("admin.refresh"), size="sm", scale=0, min_width=110, elem_id="admin-refresh")
        stats = gr.HTML(elem_id="admin-stats", css_template=render.BASE_CSS + ADMIN_CSS, js_on_load=None)
        gr.Markdown(label("admin.pool_heading"))
        pool = gr.HTML(elem_id="admin-pool", css_template=render.BASE_CSS + ADMIN_CSS, js_on_load=None)
        gr.Markdown(label("admin.folder_heading"))
        with gr.Row():
            rescan = gr.Button(label("admin.rescan"), scale=0, min_width=260, elem_id="admin-rescan")
        rescan_report = gr.HTML(elem_id="admin-rescan-report", css_template=render.BASE_CSS, js_on_load=None)
        gr.Markdown(label("admin.invites_heading"))
        with gr.Row(equal_height=True):
            lifetime = gr.Dropdown([(label(f"admin.invite_lasts_{days}"), days) for days in INVITE_LIFETIMES], value=7,
                                   label=label("admin.invite_lasts"), elem_id="admin-invite-lifetime")
            make_invite = gr.Button(label("admin.make_invite"), scale=0, min_width=200, elem_id="admin-make-invite")
            invite_code = gr.Textbox(label=label("admin.invite_code"), interactive=False, buttons=["copy"],
                                     elem_id="admin-invite-code")
        invite_list = gr.HTML(elem_id="admin-invites", css_template=render.BASE_CSS + ADMIN_CSS, js_on_load=None)
        gr.Markdown(label("admin.users_heading"))
        users, acted = build_user_list(context, links)
        with gr.Row(equal_height=True):
            username = gr.Textbox(show_label=False, placeholder=label("admin.username_placeholder"), max_length=64,
                                  scale=3, elem_id="admin-username")
            ban = gr.Button(label("admin.ban"), variant="stop", scale=0, min_width=100, elem_id="admin-ban")
            unban = gr.Button(label("admin.unban"), scale=0, min_width=100, elem_id="admin-unban")
        gr.Markdown(label("admin.remove_heading"))
        with gr.Row(equal_height=True):
            kind = gr.Dropdown([(label(f"admin.kind_{k}"), k) for k in CONTENT_KINDS], value="model",
                               label=label("admin.what"), elem_id="admin-remove-kind")
            item_id = gr.Number(None, label=label("admin.id"), precision=0, elem_id="admin-remove-id")
            confirm = gr.Checkbox(False, label=label("admin.sure"), elem_id="admin-remove-confirm")
            remove = gr.Button(label("admin.remove"), variant="stop", scale=0, min_width=110, elem_id="admin-remove")
        status = gr.HTML(elem_id="admin-status", css_template=render.BASE_CSS, js_on_load=None)
        gr.Markdown(label("admin.audit_heading"))
        audit = gr.HTML(elem_id="admin-audit", css_template=render.BASE_CSS + ADMIN_CSS, js_on_load=None)
        pager = build_pager("audit")
    audit_outputs = [audit, *pager.outputs()]

    gr.on([tab.select, refresh.click], events.site_stats, None, stats, api_name="site_stats")
    gr.on([tab.select, refresh.click], events.generation_pool, None, pool, api_name="generation_pool")
    gr.on([tab.select, refresh.click], events.first_audit, None, audit_outputs, api_name="audit_log")
    gr.on([tab.select, refresh.click], events.list_invites, None, invite_list, api_name="list_invites")
    gr.on([tab.select, refresh.click], users.first_users, users.query, users.outputs(), api_visibility="private")
    make_invite.click(events.make_invite, lifetime, [invite_code, invite_list], api_name="make_invite").success(
        events.first_audit, None, audit_outputs, api_visibility="private")
    pager.previous.click(events.previous_audit, pager.number, audit_outputs, api_visibility="private")
    pager.next.click(events.next_audit, pager.number, audit_outputs, api_visibility="private")
    for done in (rescan.click(events.rescan_models, None, rescan_report, api_name="rescan_models"),
                 ban.click(events.ban_user, username, status, api_name="ban_user"),
                 unban.click(events.unban_user, username, status, api_name="unban_user"),
                 remove.click(events.remove_content, [kind, item_id, confirm], status, api_name="remove_content")
                 .success(lambda: False, None, confirm, api_visibility="private"), *acted):
        done.success(events.site_stats, None, stats, api_visibility="private")
        done.success(events.first_audit, None, audit_outputs, api_visibility="private")
    return tab
