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


def whoami_text(user: accounts.UserInfo | None) -> str:
    if user is None:
        return "Not logged in — open the **Account** tab to register or log in."
    role = " (admin)" if user.is_admin else ""
    return f"Logged in as **{user.username}**{role}"


def build_account_tab(context: AppContext, on_session_change) -> None:
    """The Account tab.  ``on_session_change`` lists the (fn, outputs) that refresh the page."""
    refresh_fn, refresh_outputs = on_session_change
    with gr.Tab("Account", id="account"):
        status = gr.Markdown(elem_id="account-status")
        with gr.Row():
            with gr.Column():
                gr.Markdown("### Log in")
                login_name = gr.Textbox(label="Username", elem_id="login-username", max_length=32)
                login_pw = gr.Textbox(label="Password", type="password", elem_id="login-password")
                login_btn = gr.Button("Log in", variant="primary", elem_id="login-button")
            with gr.Column():
                gr.Markdown("### Register")
                reg_name = gr.Textbox(label="Username", elem_id="register-username", max_length=32,
                                      info="3-32 letters, digits, _ or -")
                reg_pw = gr.Textbox(label="Password", type="password", elem_id="register-password",
                                    info="8-256 characters")
                reg_btn = gr.Button("Register", elem_id="register-button")
        with gr.Row():
            bio = gr.Textbox(label="Bio", lines=3, max_length=2000, elem_id="bio")
        with gr.Row():
            save_bio_btn = gr.Button("Save bio", elem_id="save-bio-button")
            logout_btn = gr.Button("Log out", variant="stop", elem_id="logout-button")
        message = gr.Textbox(visible=False)

    def after_auth(username: str, password: str, error: str, request: gr.Request):
        if error:
            gr.Warning(error)
        user = request_user(context, request)
        text = whoami_text(user) if user else (f"⚠️ {error}" if error else "")
        return (text, "", "", *refresh_fn(request))

    def after_logout(_msg: str, request: gr.Request):
        return ("Logged out.", *refresh_fn(request))

    def save_bio(text: str, request: gr.Request):
        try:
            accounts.update_bio(context.store, request_user(context, request), text)
        except VisionaryError as exc:
            raise gr.Error(exc.message) from None
        gr.Info("Bio saved")

    auth_outputs = [status, login_pw, reg_pw, *refresh_outputs]
    login_btn.click(after_auth, [login_name, login_pw, message], auth_outputs,
                    js=_AUTH_JS % "/api/v1/auth/login", api_visibility="private")
    reg_btn.click(after_auth, [reg_name, reg_pw, message], auth_outputs,
                  js=_AUTH_JS % "/api/v1/auth/register", api_visibility="private")
    logout_btn.click(after_logout, [message], [status, *refresh_outputs], js=_LOGOUT_JS,
                     api_visibility="private")
    save_bio_btn.click(save_bio, [bio], [], api_visibility="private")
    for box in (login_pw,):
        box.submit(after_auth, [login_name, login_pw, message], auth_outputs,
                   js=_AUTH_JS % "/api/v1/auth/login", api_visibility="private")
