"""The Gradio Blocks UI: a header saying who is logged in, then one tab per module."""

from __future__ import annotations

import gradio as gr

from core.context import AppContext

from .account import build_account_tab, whoami_text
from .generate_tab import build_generate_tab
from .home_tab import build_home_tab
from .models_tab import build_models_tab
from .pnginfo_tab import build_pnginfo_tab
from .session import request_user
from .upload_tab import build_upload_tab

# Tabs whose modules land with later features: name -> one line about what comes there.
UPCOMING_TABS = {
    "Gallery": "Published images and their generation parameters.",
    "Feed": "New models and images from the people you follow.",
    "Search": "Find models, files, people and images.",
}


def build_ui(context: AppContext) -> gr.Blocks:
    with gr.Blocks(title="Visionary Art") as blocks:
        with gr.Row():
            gr.Markdown("# Visionary Art")
            whoami = gr.Markdown(elem_id="whoami")
        with gr.Tabs(elem_id="main-tabs") as tabs:
            build_home_tab(context)
            generate = build_generate_tab(context, tabs)
            build_models_tab(context)
            build_upload_tab(context)
            for name, blurb in UPCOMING_TABS.items():
                with gr.Tab(name, id=name.lower()):
                    gr.Markdown(blurb)
            build_pnginfo_tab(generate)
            with gr.Tab("Admin", id="admin", visible=False) as admin_tab:
                gr.Markdown("Site administration.")

            def refresh(request: gr.Request):
                user = request_user(context, request)
                return whoami_text(user), gr.Tab(visible=bool(user and user.is_admin))

            build_account_tab(context, (refresh, [whoami, admin_tab]))
        blocks.load(refresh, None, [whoami, admin_tab], api_visibility="private")
    return blocks
