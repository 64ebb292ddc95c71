"""Account tab: register (with an invite code when ``--registration`` asks for one), log in, log out, edit the bio.

Logging in has to set an HttpOnly cookie, which a Gradio event cannot do, so
the buttons call the REST routes from the browser (same origin) and then a
server event re-reads the session from the request to refresh the page.
"""

from __future__ import annotations

import json

import gradio as gr

from community import notifications
from core.accounts import accounts
from core.context import AppContext
from core.errors import VisionaryError
from core.notifications import OPTIONAL_KINDS
from core.tables import CONTENT_VIEWS

from .event_guard import open_to_visitors
from .i18n import label, message, request_language, text
from .limits import counter
from .links import page_tab
from .session import request_user

# Posts the form's fields (named in order by ``fields``) to the REST route; hands them on to the server event with
# the password emptied and the route's error message (empty on success) last.
_POST_FORM_JS = """
async (...values) => {
  const fields = %(fields)s;
  const body = Object.fromEntries(fields.map((name, i) => [name, values[i]]));
  const response = await fetch("%(route)s", {
    method: "POST", credentials: "same-origin",
    headers: {"Content-Type": "application/json"},
    body: JSON.stringify(body),
  });
  let message = "";
  if (!response.ok) {
    try { message = (await response.json()).error || response.statusText; }
    catch (e) { message = response.statusText; }
  } else {
    // Earlier failures' toasts ("wrong username or password") no longer apply.
    document.querySelectorAll(".toast-close").forEach((close) => close.click());
  }
  return [...fields.map((name, i) => name === "password" ? "" : values[i]), message];
}
"""
LOGIN_JS = _POST_FORM_JS % {"route": "/api/v1/auth/login", "fields": json.dumps(["username", "password"])}
REGISTER_JS = _POST_FORM_JS % {"route": "/api/v1/auth/register",
                               "fields": json.dumps(["username", "password", "invite_code"])}
# What the register form says about invite codes, by --registration mode (an open site asks for none).
INVITE_INFO = {"invite": "account.invite_info_invite", "closed": "account.invite_info_closed"}

_LOGOUT_JS = """
async (_message) => {
  await fetch("/api/v1/auth/logout", {method: "POST", credentials: "same-origin"});
  return ["logged out"];
}
"""


def whoami_text(user: accounts.UserInfo | None, lang: str) -> str:
    if user is None:
        return text("header.not_logged_in", lang)
    return text("header.logged_in_as_admin" if user.is_admin else "header.logged_in_as", lang, name=user.username)


def account_view(user: accounts.UserInfo | None) -> tuple:
    """What the tab shows for who is here: the forms for a visitor; the profile fields and notification settings
    (filled with the saved values) and Log out for a member."""
    told = [kind for kind in OPTIONAL_KINDS if kind not in notifications.muted_kinds(user)] if user else []
    view = user.content_view if user else "blur"
    return gr.Row(visible=user is None), gr.Column(visible=user is not None), (user.bio if user else ""), told, view


def build_account_tab(context: AppContext, on_session_change) -> None:
    """The Account tab.  ``on_session_change`` lists the (fn, outputs) that refresh the page."""
    refresh_fn, refresh_outputs = on_session_change
    with page_tab("account"):
        status = gr.Markdown(elem_id="account-status")
        with gr.Row(visible=True, elem_id="account-forms") as forms:
            with gr.Column():
                gr.Markdown(label("account.log_in_heading"))
                login_name = gr.Textbox(label=label("account.username"), elem_id="login-username", max_length=32)
                login_pw = gr.Textbox(label=label("account.password"), type="password", elem_id="login-password")
                login_btn = gr.Button(label("account.log_in"), variant="primary", elem_id="login-button")
            with gr.Column():
                gr.Markdown(label("account.register_heading"))
                reg_name = gr.Textbox(label=label("account.username"), elem_id="register-username", max_length=32,
                                      info=label("account.username_info"))
                reg_pw = gr.Textbox(label=label("account.password"), type="password", elem_id="register-password",
                                    info=label("account.password_info"))
                invite_info = INVITE_INFO.get(context.config.registration_mode)
                reg_invite = gr.Textbox(label=label("account.invite_code"), elem_id="register-invite",
                                        max_length=128, visible=invite_info is not None,
                                        info=label(invite_info) if invite_info else None)
                reg_btn = gr.Button(label("account.register"), elem_id="register-button")
        with gr.Column(visible=False, elem_id="account-profile") as profile:
            bio = gr.Textbox(label=label("account.bio"), lines=3, elem_id="bio", info=label("account.bio_info"))
            counter(bio, accounts.MAX_BIO_CHARS, "bio-counter")
            with gr.Row():
                save_bio_btn = gr.Button(label("account.save_bio"), elem_id="save-bio-button")
                logout_btn = gr.Button(label("account.log_out"), variant="stop", elem_id="logout-button")
            told = gr.CheckboxGroup([(label(f"notifications.setting.{kind}"), kind) for kind in OPTIONAL_KINDS],
                                    label=label("account.notify_me"), elem_id="notification-settings")
            save_told_btn = gr.Button(label("account.save_notifications"), elem_id="save-notifications-button")
            content_view = gr.Radio([(label(f"account.content_view.{view}"), view) for view in CONTENT_VIEWS],
                                    label=label("account.content_view"), elem_id="content-view-setting")
            save_view_btn = gr.Button(label("account.save_content_view"), elem_id="save-content-view-button")
        auth_error = gr.Textbox(visible=False)
    view_outputs = [forms, profile, bio, told, content_view]

    @open_to_visitors
    def show_account(request: gr.Request):
        return account_view(request_user(context, request))

    @open_to_visitors
    def after_auth(username: str, password: str, error: str, request: gr.Request, welcome: bool = False):
        lang = request_language(request)
        shown_error = message(error, lang) if error else ""
        if shown_error:
            gr.Warning(shown_error)
        user = request_user(context, request)
        if user is None:
            status = f"⚠️ {shown_error}" if shown_error else ""
        elif welcome:
            status = text("account.welcome", lang, name=user.username)
        else:
            status = whoami_text(user, lang)
        return (status, "", "", *account_view(user), *refresh_fn(request))

    @open_to_visitors
    def after_register(username: str, password: str, _invite_code: str, error: str, request: gr.Request):
        return after_auth(username, password, error, request, welcome=not error)

    @open_to_visitors
    def after_logout(_msg: str, request: gr.Request):
        return (text("account.logged_out", request_language(request)), *account_view(None), *refresh_fn(request))

    def save_bio(bio_text: str, request: gr.Request):
        lang = request_language(request)
        try:
            user = accounts.update_bio(context.store, request_user(context, request), bio_text)
        except VisionaryError as exc:
            raise gr.Error(message(exc.message, lang)) from None
        gr.Info(text("account.bio_saved", lang))
        return user.bio

    def save_notification_settings(kinds: list[str], request: gr.Request):
        lang = request_language(request)
        try:
            muted = notifications.set_muted_kinds(context.store, request_user(context, request),
                                                  [kind for kind in OPTIONAL_KINDS if kind not in (kinds or [])])
        except VisionaryError as exc:
            raise gr.Error(message(exc.message, lang)) from None
        gr.Info(text("account.notifications_saved", lang))
        return [kind for kind in OPTIONAL_KINDS if kind not in muted]

    def save_content_view(view: str, request: gr.Request):
        lang = request_language(request)
        try:
            user = accounts.set_content_view(context.store, request_user(context, request), view or "")
        except VisionaryError as exc:
            raise gr.Error(message(exc.message, lang)) from None
        gr.Info(text("account.content_view_saved", lang))
        return user.content_view

    gr.on(None, show_account, None, view_outputs, api_visibility="private", show_progress="hidden")
    auth_outputs = [status, login_pw, reg_pw, *view_outputs, *refresh_outputs]
    login_btn.click(after_auth, [login_name, login_pw, auth_error], auth_outputs, js=LOGIN_JS,
                    api_visibility="private")
    reg_btn.click(after_register, [reg_name, reg_pw, reg_invite, auth_error], auth_outputs, js=REGISTER_JS,
                  api_visibility="private")
    logout_btn.click(after_logout, [auth_error], [status, *view_outputs, *refresh_outputs], js=_LOGOUT_JS,
                     api_visibility="private")
    save_bio_btn.click(save_bio, [bio], [bio], api_visibility="private")
    save_told_btn.click(save_notification_settings, [told], [told], api_visibility="private")
    saved_view = save_view_btn.click(save_content_view, [content_view], [content_view], api_visibility="private")
    saved_view.success(refresh_fn, None, refresh_outputs, api_visibility="private")
    for box in (login_pw,):
        box.submit(after_auth, [login_name, login_pw, auth_error], auth_outputs, js=LOGIN_JS,
                   api_visibility="private")
