"""The Admin tab's user list: every person on the site (the internal account left out), searchable by name, each
with a link to their profile (their models, pictures and comments), their counts, and Ban / Unban behind a second
click that names who is about to be banned.

Its events re-check the admin role on the server, like every admin event.
"""

from __future__ import annotations

from dataclasses import dataclass

import gradio as gr

from community import admin
from core.accounts import accounts
from core.accounts.accounts import require_admin
from core.context import AppContext
from core.errors import VisionaryError
from core.paging import Page

from . import render
from .i18n import label, message, request_language, text
from .links import Links, event_value, link, user_link
from .pager import Pager, build_pager, pager_values
from .session import request_user

USERS_PAGE = 25

# Ban / Unban ask once more, naming the person, before the row sends ``submit``.
ACT_JS = """
element.addEventListener('click', (event) => {
  const button = event.target.closest('[data-user-action]');
  if (!button || !element.contains(button)) return;
  if (button.dataset.armed !== '1') {
    button.dataset.armed = '1';
    button.textContent = button.dataset.confirm;
    return;
  }
  trigger('submit', {username: button.dataset.username, action: button.dataset.userAction});
});
"""

USERS_CSS = """
.va-user-action { cursor: pointer; border-radius: 6px; padding: 1px 10px; font: inherit; font-size: .9em;
  border: 1px solid var(--border-color-primary); background: transparent; color: var(--body-text-color); }
.va-user-action[data-user-action="ban"] { color: #dc2626; border-color: #dc2626; }
.va-user-action[data-armed="1"] { background: #dc2626; color: white; }
"""


def _button(member: admin.Member, action: str, lang: str) -> str:
    name = render.text(member.username)
    confirm = render.text(text(f"admin.confirm_{action}", lang, name=member.username))
    return (f'<button type="button" class="va-user-action" data-user-action="{action}" data-username="{name}" '
            f'data-confirm="{confirm}">{text(f"admin.{action}", lang)}</button>')


def _action(member: admin.Member, lang: str) -> str:
    if member.is_admin:
        return ""
    role = "revoke_moderator" if member.is_moderator else "grant_moderator"
    return _button(member, "unban" if member.is_banned else "ban", lang) + " " + _button(member, role, lang)


def users_html(page: Page, lang: str) -> str:
    if not page.items:
        return f'<p class="va-empty">{text("admin.no_users", lang)}</p>'
    rows = []
    for member in page.items:
        badges = "".join(f'<span class="va-badge">{text(f"admin.badge_{b}", lang)}</span>'
                         for b, on in (("admin", member.is_admin), ("moderator", member.is_moderator),
                                       ("banned", member.is_banned)) if on)
        rows.append(f'<tr data-username="{render.text(member.username)}"><td>{user_link(member.username)} {badges}</td>'
                    f'<td>{render.short_date(member.created_at)}</td>'
                    f'<td>{link("user", member.username, member.models)}</td>'
                    f'<td>{link("user", member.username, member.images)}</td><td>{_action(member, lang)}</td></tr>')
    columns = "".join(f"<th>{text(f'admin.col_{c}', lang)}</th>" for c in ("user", "joined", "models", "images", "act"))
    return (f'<table class="va-table" id="users-table"><thead><tr>{columns}</tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table>')


@dataclass(frozen=True)
class UserList:
    context: AppContext
    query: gr.Textbox
    listing: gr.HTML
    pager: Pager

    def outputs(self) -> list:
        return [self.listing, *self.pager.outputs()]

    def show_users(self, query, page, request: gr.Request):
        lang = request_language(request)
        try:
            result = admin.list_users(request_user(self.context, request), query or "", max(int(page or 1), 1),
                                      USERS_PAGE)
        except VisionaryError as exc:
            raise gr.Error(message(exc.message, lang)) from None
        return users_html(result, lang), *pager_values(result, lang, "users")

    def first_users(self, query, request: gr.Request):
        return self.show_users(query, 1, request)

    def previous_users(self, query, page, request: gr.Request):
        return self.show_users(query, int(page) - 1, request)

    def next_users(self, query, page, request: gr.Request):
        return self.show_users(query, int(page) + 1, request)

    def act_on_user(self, event: gr.EventData, request: gr.Request):
        """A row's confirmed Ban, Unban, Make moderator or Remove moderator."""
        lang = request_language(request)
        action, username = event_value(event, "action"), str(event_value(event, "username") or "")
        try:
            actor = require_admin(request_user(self.context, request))
            if action in ("grant_moderator", "revoke_moderator"):
                user = accounts.set_moderator(self.context.store, actor, username, action == "grant_moderator")
            else:
                user = accounts.set_banned(self.context.store, actor, username, action == "ban")
        except VisionaryError as exc:
            raise gr.Error(message(exc.message, lang)) from None
        done = {"ban": "admin.banned", "unban": "admin.unbanned", "grant_moderator": "admin.granted_moderator",
                "revoke_moderator": "admin.revoked_moderator"}.get(action, "admin.unbanned")
        gr.Info(text(done, lang, name=render.text(user.username)))


def build_user_list(context: AppContext, links: Links) -> tuple[UserList, list]:
    """The list in the current layout; returns it and the events after which the site's counts changed."""
    with gr.Row(equal_height=True):
        query = gr.Textbox(show_label=False, placeholder=label("admin.find_user"), max_length=64, scale=3,
                           elem_id="admin-user-query")
    listing = links.html(css=USERS_CSS, js=ACT_JS, elem_id="admin-users")
    pager = build_pager("admin-users")
    users = UserList(context, query, listing, pager)
    outputs = users.outputs()
    query.submit(users.first_users, query, outputs, api_visibility="private")
    pager.previous.click(users.previous_users, [query, pager.number], outputs, api_visibility="private")
    pager.next.click(users.next_users, [query, pager.number], outputs, api_visibility="private")
    acted = listing.submit(users.act_on_user, None, None, api_name="act_on_user")
    acted.success(users.show_users, [query, pager.number], outputs, api_visibility="private")
    return users, [acted]
