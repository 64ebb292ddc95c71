"""Home tab: what to do first on this instance, and a one-click import of starter models."""

from __future__ import annotations

import json
from pathlib import Path

import gradio as gr

from core.context import AppContext
from core.errors import VisionaryError
from core.generation.demo_model import demo_available
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


def welcome_text(context: AppContext, lang: str) -> str:
    first = text("home.step_generate" if demo_available() else "home.step_no_demo", lang)
    models_dir = text("home.add_drop", lang, models_dir=context.config.models_path)
    return (f"## {text('home.start_here', lang)}\n1. {first}\n2. {text('home.step_add', lang)}\n"
            f"   - {models_dir}\n   - {text('home.add_upload', lang)}\n   - {text('home.add_hub', lang)}\n"
            f"3. {text('home.step_join', lang)}\n")


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
        with gr.Row():
            choice = gr.Dropdown([s["repo_id"] for s in starters], label=label("home.import_choice"),
                                 elem_id="starter-choice")
            import_btn = gr.Button(label("home.import_button"), elem_id="starter-import")
        result = gr.Markdown(elem_id="starter-result")

    def page_load(request: gr.Request):
        lang = request_language(request)
        return welcome_text(context, lang), starters_table(starters, lang)

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

    gr.on(None, page_load, None, [welcome, listing], api_visibility="private")
    import_btn.click(start_import, [choice], [result], api_name="import_starter_model")
