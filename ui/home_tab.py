"""Home tab: what to do first on this instance, and a one-click import of starter models."""

from __future__ import annotations

import json
from pathlib import Path

import gradio as gr

from core.context import AppContext
from core.demo_model import demo_available
from core.errors import VisionaryError
from core.library_edit import ModelFields, import_from_hub

from .session import request_user

STARTERS_FILE = Path(__file__).resolve().parent / "starter_models.json"


def load_starters(path: Path = STARTERS_FILE) -> list[dict]:
    """The starter list (an editable JSON file: repo_id, filename, size_gb, what)."""
    try:
        entries = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    return [e for e in entries if isinstance(e, dict) and e.get("repo_id")]


def welcome_text(context: AppContext) -> str:
    models_dir = context.config.models_path
    first = ("1. **Generate right away**: the demo model *Visionary Shapes* is ready. Open **Generate** and try "
             "`a red circle on a blue background` (64×64, about a second on a CPU).\n"
             if demo_available() else "1. **Add a checkpoint first**: this instance has no demo model.\n")
    return (
        "## Start here\n" + first +
        "2. **Add your own checkpoints and LoRAs**, any of three ways:\n"
        f"   - drop `.safetensors` files into `{models_dir}` (any depth; an AUTOMATIC1111 `models/` folder "
        "works as it is: start with `--models-dir /path/to/stable-diffusion-webui/models`), then restart or "
        "press *Rescan* in **Admin**;\n"
        "   - upload them in the **Upload** tab;\n"
        "   - import one of the starter models below from the Hugging Face Hub "
        "(needs network: start the app with `HF_HUB_OFFLINE=0`).\n"
        "3. **Join in**: register in **Account** to generate, upload, publish images, comment and follow.\n")


def build_home_tab(context: AppContext) -> None:
    starters = load_starters()
    with gr.Tab("Home", id="home"):
        gr.Markdown(welcome_text(context), elem_id="home-welcome")
        gr.Markdown("### Starter models from the Hugging Face Hub")
        gr.Dataframe(value=[[s["repo_id"], s.get("filename", ""), f"{s.get('size_gb', 0):.2f} GB", s.get("what", "")]
                            for s in starters],
                     headers=["repository", "file", "download", "what it is"], interactive=False,
                     elem_id="starter-models")
        with gr.Row():
            choice = gr.Dropdown([s["repo_id"] for s in starters], label="Import", elem_id="starter-choice")
            import_btn = gr.Button("Import from Hugging Face", elem_id="starter-import")
        result = gr.Markdown(elem_id="starter-result")

    def start_import(repo_id: str | None, request: gr.Request, progress=gr.Progress()):
        entry = next((s for s in starters if s["repo_id"] == repo_id), None)
        if entry is None:
            raise gr.Error("choose a starter model first")

        def report(done: int, total: int):
            if total:
                progress(done / total, desc=f"{done / 1e9:.2f} / {total / 1e9:.2f} GB")

        try:
            model = import_from_hub(context.store, context.config.models_path, request_user(context, request),
                                    entry["repo_id"], entry.get("filename"), None, ModelFields(),
                                    max_bytes=context.config.max_upload_bytes, progress=report)
        except VisionaryError as exc:
            raise gr.Error(exc.message) from None
        return f"Imported **{model.name}** ({model.type}, {model.base_model}). Find it in **Models**."

    import_btn.click(start_import, [choice], [result], api_name="import_starter_model")
