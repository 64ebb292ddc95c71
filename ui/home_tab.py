"""Home tab: what to do first on this instance, and a one-click import of starter models."""

from __future__ import annotations

import ipaddress
import json
from pathlib import Path

import gradio as gr

from core.context import AppContext
from core.errors import VisionaryError
from core.generation.demo_model import demo_available
from core.library.hf_import import hub_online
from core.library.library_edit import ModelFields, import_from_hub

from . import render
from .i18n import DEFAULT_LANGUAGE, label, message, request_language, table, text
from .links import page_tab
from .session import request_user

STARTERS_FILE = Path(__file__).resolve().parent / "starter_models.json"


def load_starters(path: Path = STARTERS_FILE) -> list[dict]:
    """The starter list (an editable JSON file: repo_id, filename, size_gb, what)."""
    try:
        entries = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    return [e for e in entries if isinstance(e, dict) and e.get("repo_id")]


def welcome_text(context: AppContext, lang: str, shows_paths: bool) -> str:
    """The first steps; the server's models folder named only to whom may use it (``shows_paths``)."""
    first = text("home.step_generate" if demo_available() else "home.step_no_demo", lang)
    drop = text("home.add_drop", lang, models_dir=context.config.models_path) if shows_paths else \
        text("home.add_drop_ask", lang)
    hub = text("home.add_hub" if hub_online() else "home.add_hub_offline", lang)
    return (f"## {text('home.start_here', lang)}\n1. {first}\n2. {text('home.step_add', lang)}\n"
            f"   - {drop}\n   - {text('home.add_upload', lang)}\n   - {hub}\n"
            f"3. {text('home.step_join', lang)}\n")


def shows_server_paths(context: AppContext, request: gr.Request) -> bool:
    """The server's folders are named to its admins and to someone at the server itself (a loopback client, as a
    hobbyist running ``make run`` is); a visitor from elsewhere learns nothing of the server's disk."""
    user = request_user(context, request)
    if user is not None and user.is_admin:
        return True
    client = getattr(getattr(request, "request", None), "client", None)
    try:
        return client is not None and ipaddress.ip_address(client.host).is_loopback
    except ValueError:
        return False


def starter_what(entry: dict, lang: str) -> str:
    """A starter's description: the table's, for the starters the site ships; the file's, for added ones."""
    key = f"home.starter.{entry['repo_id']}"
    return text(key, lang) if key in table(DEFAULT_LANGUAGE) else entry.get("what", "")


def starters_table(starters: list[dict], lang: str) -> gr.Dataframe:
    """The starter list with headers in ``lang`` (Gradio's frontend does not translate table headers)."""
    rows = [[s["repo_id"], s.get("filename", ""), f"{s.get('size_gb', 0):.2f} GB", starter_what(s, lang)]
            for s in starters]
    headers = [text(f"home.col_{column}", lang) for column in ("repo", "file", "size", "what")]
    return gr.Dataframe(value=rows, headers=headers)


def build_home_tab(context: AppContext) -> None:
    starters = load_starters()
    with page_tab("home"):
        welcome = gr.Markdown(elem_id="home-welcome")
        gr.Markdown(label("home.starters"))
        listing = gr.Dataframe(interactive=False, elem_id="starter-models")
        with gr.Row(visible=hub_online()) as import_row:  # offline, nothing can be imported: no button offers it
            choice = gr.Dropdown([s["repo_id"] for s in starters], label=label("home.import_choice"),
                                 elem_id="starter-choice")
            import_btn = gr.Button(label("home.import_button"), elem_id="starter-import")
        result = gr.Markdown(elem_id="starter-result")

    def page_load(request: gr.Request):
        lang = request_language(request)
        return (welcome_text(context, lang, shows_server_paths(context, request)), starters_table(starters, lang),
                gr.Row(visible=hub_online()))

    def start_import(repo_id: str | None, request: gr.Request, progress=gr.Progress()):
        lang = request_language(request)
        entry = next((s for s in starters if s["repo_id"] == repo_id), None)
        if entry is None:
            raise gr.Error(text("home.choose_first", lang))

        def report(done: int, total: int):
            if total:
                progress(done / total, desc=f"{done / 1e9:.2f} / {total / 1e9:.2f} GB")

        try:
            model = import_from_hub(context.store, context.config.models_path, request_user(context, request),
                                    entry["repo_id"], entry.get("filename"), None, ModelFields(),
                                    max_bytes=context.config.max_upload_bytes, progress=report)
        except VisionaryError as exc:
            raise gr.Error(message(exc.message, lang)) from None
        return text("home.imported", lang, name=model.name, type=render.type_label(model.type, lang),
                    base=render.base_label(model.base_model, lang))

    gr.on(None, page_load, None, [welcome, listing, import_row], api_visibility="private")
    import_btn.click(start_import, [choice], [result], api_name="import_starter_model")
