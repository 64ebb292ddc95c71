"""The bell in the header (the unread count, refreshed every few seconds without a reload) and the Notifications
tab: newest first, grouped ("3 people liked …"), each entry linking to who and what, Mark read and Mark all read.

``community.notifications`` decides what the caller sees; every event resolves the user from the request.
"""

from __future__ import annotations

from dataclasses import dataclass

import gradio as gr

from community import notifications
from community.notifications import NotificationRecord
from core.accounts.accounts import UserInfo
from core.context import AppContext
from core.errors import VisionaryError
from core.notifications import REMOVED, REPORT_HANDLED
from core.paging import Page

from . import render
from .event_guard import open_to_visitors
from .i18n import label, message, request_language, text
from .links import Links, event_value, link, page_tab, user_link
from .pager import Pager, build_pager, pager_values
from .session import request_user

BELL_REFRESH_S = 5  # how often an open page asks for the unread count
PAGE_SIZE = 20

# An entry's "Mark read" sends its id with ``submit``.
MARK_READ_JS = """
element.addEventListener('click', (event) => {
  const button = event.target.closest('[data-mark-read]');
  if (!button || !element.contains(button)) return;
  trigger('submit', {notification_id: Number(button.dataset.markRead)});
});
"""

NOTIFICATIONS_CSS = """
.va-notes { list-style: none; margin: 0; padding: 0; display: flex; flex-direction: column; gap: 8px; }
.va-note { border: 1px solid var(--border-color-primary); border-radius: 10px; padding: 8px 14px;
  display: flex; flex-wrap: wrap; gap: 4px 10px; align-items: baseline; }
.va-note[data-unread="1"] { border-left: 4px solid var(--color-accent); background: var(--background-fill-secondary); }
.va-note-excerpt { flex-basis: 100%; color: var(--body-text-color-subdued); overflow-wrap: anywhere; }
.va-note-read { margin-left: auto; font-size: .85em; cursor: pointer; border-radius: 6px; padding: 1px 8px;
  border: 1px solid var(--border-color-primary); background: transparent; color: var(--body-text-color-subdued); }
.va-empty { padding: 16px; text-align: center; color: var(--body-text-color-subdued); }
"""


def bell_button(user: UserInfo | None, lang: str) -> gr.Button:
    """The bell for who is here: hidden for a visitor, the unread count beside it for a member."""
    if user is None:
        return gr.Button(visible=False)
    count = notifications.unread_count(user)
    return gr.Button(value=f"🔔 {count}" if count else "🔔", visible=True, variant="primary" if count else "secondary")


def _subject(note: NotificationRecord, lang: str) -> str:
    if note.model_id is not None:
        return link("model", note.model_id, note.model_name or text("notifications.a_model", lang))
    if note.image_id is not None:
        return link("image", note.image_id, text("notifications.a_picture", lang))
    return ""


def _who(note: NotificationRecord, lang: str) -> str:
    if note.actor is None:
        return render.text(text("notifications.moderators", lang))
    who = user_link(note.actor)
    return text("notifications.and_others", lang, name=who, count=note.count - 1) if note.count > 1 else who


def _decision(detail: dict | str, lang: str) -> tuple[str, str]:
    """A moderator's decision as (the item, what was decided and why), in words (user text escaped)."""
    if not isinstance(detail, dict):
        return "", render.text(detail)
    kind = text(f"moderation.kind.{detail.get('type')}", lang)
    item = f'{kind} “{render.text(detail.get("name", ""))}”'
    decided = text(f"moderation.decided.{detail.get('action')}", lang)
    return item, decided + (f": {render.text(detail['note'])}" if detail.get("note") else "")


def note_text(note: NotificationRecord, lang: str) -> str:
    """What happened, in words, with links to who and what (user text escaped)."""
    if note.kind in (REPORT_HANDLED, REMOVED):
        item, detail = _decision(note.detail, lang)
    else:
        item, detail = _subject(note, lang), ""
    return text(f"notifications.kind.{note.kind}", lang, who=_who(note, lang), item=item, detail=detail)


def note_html(note: NotificationRecord, lang: str) -> str:
    mark = (f'<button type="button" class="va-note-read" data-mark-read="{note.id}">'
            f'{text("notifications.mark_read", lang)}</button>' if note.unread else "")
    excerpt = f'<div class="va-note-excerpt">“{render.text(note.excerpt)}”</div>' if note.excerpt else ""
    return (f'<li class="va-note" data-note-id="{note.id}" data-kind="{note.kind}" '
            f'data-unread="{int(note.unread)}"><span>{note_text(note, lang)}</span>'
            f'<span class="va-muted">{render.short_date(note.created_at)}</span>{mark}{excerpt}</li>')


def notes_html(page: Page, lang: str) -> str:
    return render.item_list(page.items, "va-notes", lambda note: note_html(note, lang), text("notifications.none", lang))


@dataclass(frozen=True)
class NotificationsTab:
    context: AppContext
    listing: gr.HTML
    pager: Pager
    bell: gr.Button
    picked: gr.Number

    def outputs(self) -> list:
        return [self.listing, *self.pager.outputs(), self.bell]

    def values(self, page: int, request: gr.Request) -> tuple:
        user, lang = request_user(self.context, request), request_language(request)
        if user is None:
            return (f'<p class="va-empty">{text("notifications.log_in", lang)}</p>', "", 1,
                    gr.Button(interactive=False), gr.Button(interactive=False), bell_button(None, lang))
        result = notifications.notifications_of(user, max(page, 1), PAGE_SIZE)
        return notes_html(result, lang), *pager_values(result, lang, "notifications"), bell_button(user, lang)

    # ------------------------------------------------------------------ events
    def first_notifications(self, request: gr.Request):
        return self.values(1, request)

    def previous_notifications(self, page, request: gr.Request):
        return self.values(int(page or 1) - 1, request)

    def next_notifications(self, page, request: gr.Request):
        return self.values(int(page or 1) + 1, request)

    def show_notifications(self, page, request: gr.Request):
        return self.values(int(page or 1), request)

    def mark_notification_read(self, notification_id, request: gr.Request):
        lang = request_language(request)
        try:
            notifications.mark_read(self.context.store, request_user(self.context, request), int(notification_id))
        except (TypeError, ValueError):
            raise gr.Error(text("error.choose_notification", lang)) from None
        except VisionaryError as exc:
            raise gr.Error(message(exc.message, lang)) from None

    def mark_all_notifications_read(self, request: gr.Request):
        try:
            notifications.mark_all_read(self.context.store, request_user(self.context, request))
        except VisionaryError as exc:
            raise gr.Error(message(exc.message, request_language(request))) from None


def _picked_notification(event: gr.EventData):
    return event_value(event, "notification_id")


@dataclass(frozen=True)
class Bell:
    """The bell and the timer that refreshes it, made in the header's row (outside the tabs, so the timer ticks
    whichever tab is open); ``build_notifications_tab`` wires them."""

    button: gr.Button
    timer: gr.Timer


def build_bell() -> Bell:
    return Bell(gr.Button(label("notifications.bell"), visible=False, size="sm", scale=0, min_width=64, elem_id="notification-bell"),
                gr.Timer(BELL_REFRESH_S))


def build_notifications_tab(context: AppContext, links: Links, tabs: gr.Tabs, bell_parts: Bell) -> None:
    bell = bell_parts.button
    with page_tab("notifications") as tab:
        with gr.Row(equal_height=True):
            gr.Markdown(label("notifications.intro"))
            refresh = gr.Button(label("notifications.refresh"), size="sm", scale=0, min_width=110,
                                elem_id="notifications-refresh")
            all_read = gr.Button(label("notifications.mark_all_read"), size="sm", scale=0, min_width=150,
                                 elem_id="notifications-all-read")
        listing = links.html(css=NOTIFICATIONS_CSS, js=MARK_READ_JS, elem_id="notifications-list")
        pager = build_pager("notifications")
        picked = gr.Number(visible=False, precision=0, elem_id="notification-target")
    section = NotificationsTab(context, listing, pager, bell, picked)
    outputs = section.outputs()

    @open_to_visitors
    def ring_bell(request: gr.Request):
        return bell_button(request_user(context, request), request_language(request))

    bell_parts.timer.tick(ring_bell, None, bell, api_visibility="private", show_progress="hidden")
    gr.on([tab.select, refresh.click], section.first_notifications, None, outputs, api_visibility="private")
    bell.click(lambda: gr.Tabs(selected="notifications"), None, tabs, api_visibility="private").then(
        section.first_notifications, None, outputs, api_visibility="private")
    chosen = listing.submit(_picked_notification, None, picked, api_visibility="private")
    chosen.success(section.mark_notification_read, picked, None, api_name="mark_notification_read").success(
        section.show_notifications, pager.number, outputs, api_visibility="private")
    all_read.click(section.mark_all_notifications_read, None, None, api_name="mark_all_notifications_read").success(
        section.first_notifications, None, outputs, api_visibility="private")
    pager.previous.click(section.previous_notifications, pager.number, outputs, api_visibility="private")
    pager.next.click(section.next_notifications, pager.number, outputs, api_visibility="private")
