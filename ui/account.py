"""Account tab: register, log in, log out, edit the bio.

Logging in has to set an HttpOnly cookie, which a Gradio event cannot do, so
the buttons call the REST routes from the browser (same origin) and then a
server event re-reads the session from the request to refresh the page.
"""

from __future__ import annotations

import gradio as gr

from community import accounts
from core.context import AppContext
from core.errors import VisionaryError

from .i18n import label, message, request_language, text
from .session import request_user

# Posts the form to the REST route; hands (username, "", message) on to the server event.
_AUTH_JS = """
async (username, password, _message) => {
  const response = await fetch("%s", {
    method: "POST", credentials: "same-origin",
    headers: {"Content-Type": "application/json"},
    body: JSON.stringify({username: username, password: password}),
  });
  let message = "";
  if (!response.ok) {
    try { message = (await response.json()).error || response.statusText; }
    catch (e) { message = response.statusText; }
  }
  return [username, "", message];
}
"""

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


def build_account_tab(context: AppContext, on_session_change) -> None:
    """The Account tab.  ``on_session_change`` lists the (fn, outputs) that refresh the page."""
    refresh_fn, refresh_outputs = on_session_change
    with gr.Tab(label("tab.account"), id="account"):
        status = gr.Markdown(elem_id="account-status")
        with gr.Row():
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
                reg_btn = gr.Button(label("account.register"), elem_id="register-button")
        with gr.Row():
            bio = gr.Textbox(label=label("account.bio"), lines=3, max_length=2000, elem_id="bio")
        with gr.Row():
            save_bio_btn = gr.Button(label("account.save_bio"), elem_id="save-bio-button")
            logout_btn = gr.Button(label("account.log_out"), variant="stop", elem_id="logout-button")
        auth_error = gr.Textbox(visible=False)

    def after_auth(username: str, password: str, error: str, request: gr.Request):
        lang = request_language(request)
        shown_error = message(error, lang) if error else ""
        if shown_error:
            gr.Warning(shown_error)
        user = request_user(context, request)
        status = whoami_text(user, lang) if user else (f"⚠️ {shown_error}" if shown_error else "")
        return (status, "", "", *refresh_fn(request))

    def after_logout(_msg: str, request: gr.Request):
        return (text("account.logged_out", request_language(request)), *refresh_fn(request))

    def save_bio(bio_text: str, request: gr.Request):
        lang = request_language(request)
        try:
            accounts.update_bio(context.store, request_user(context, request), bio_text)
        except VisionaryError as exc:
            raise gr.Error(message(exc.message, lang)) from None
        gr.Info(text("account.bio_saved", lang))

    auth_outputs = [status, login_pw, reg_pw, *refresh_outputs]
    login_btn.click(after_auth, [login_name, login_pw, auth_error], auth_outputs,
                    js=_AUTH_JS % "/api/v1/auth/login", api_visibility="private")
    reg_btn.click(after_auth, [reg_name, reg_pw, auth_error], auth_outputs,
                  js=_AUTH_JS % "/api/v1/auth/register", api_visibility="private")
    logout_btn.click(after_logout, [auth_error], [status, *refresh_outputs], js=_LOGOUT_JS,
                     api_visibility="private")
    save_bio_btn.click(save_bio, [bio], [], api_visibility="private")
    for box in (login_pw,):
        box.submit(after_auth, [login_name, login_pw, auth_error], auth_outputs,
                   js=_AUTH_JS % "/api/v1/auth/login", api_visibility="private")
