"""The Gradio Blocks UI: a header saying who is logged in (and the language switch), then one tab per module."""

from __future__ import annotations

import gradio as gr

from core.context import AppContext

from .account import build_account_tab, whoami_text
from .admin_tab import build_admin_tab
from .event_guard import GuardedBlocks, open_to_visitors
from .extras_tab import build_extras_tab
from .feed_tab import build_feed_tab
from .gallery_tab import build_gallery_tab
from .generate_tab import build_generate_tab
from .home_tab import build_home_tab
from .i18n import label, language_switch, request_language, text
from .links import Links
from .models_tab import build_models_tab
from .moderation_tab import build_moderation_tab
from .notifications_tab import bell_button, build_bell, build_notifications_tab
from .pnginfo_tab import build_pnginfo_tab
from .profile_tab import build_profile_tab
from .search_tab import build_search_tab
from .session import request_user
from .tags_tab import build_tags_tab
from .toasts import HIDDEN_CLASS, SESSION_ENDED_ID
from .upload_tab import build_upload_tab

VISITOR_VIEW = "blur"  # a visitor sees mature and explicit pictures blurred
# Pictures rated mature or explicit are blurred (``ui.render.BASE_CSS``) unless the viewer chose to see them.
CONTENT_VIEW_JS = """
(view) => { document.documentElement.style.setProperty('--va-unsafe-filter', view === 'show' ? 'none' : 'blur(28px)'); }
"""

# The top-level tabs, in order (``ui.links.page_tab`` names each; ``?tab=<id>`` opens one).
TAB_IDS = ("home", "generate", "models", "upload", "gallery", "feed", "tags", "search", "extras", "pnginfo",
           "profile", "notifications", "moderation", "admin", "account")


def build_ui(context: AppContext) -> gr.Blocks:
    with GuardedBlocks(context, title="Visionary Art") as blocks:
        with gr.Row(equal_height=True):
            gr.Markdown("# Visionary Art")
            whoami = gr.Markdown(elem_id="whoami")
            bell = build_bell()
            content_view = gr.Textbox(visible=False, elem_id="content-view")
            switch = language_switch()
            session_ended = gr.Button(label("header.session_ended"), elem_id=SESSION_ENDED_ID, elem_classes=[HIDDEN_CLASS])
            links = Links(TAB_IDS)
        with gr.Tabs(elem_id="main-tabs") as tabs:
            build_home_tab(context)
            generate = build_generate_tab(context, tabs, links)
            build_models_tab(context, links)
            build_upload_tab(context, links)
            gallery_pictures = build_gallery_tab(context, links, generate)
            build_feed_tab(context, links)
            build_tags_tab(context, links)
            build_search_tab(context, links)
            extras = build_extras_tab(context, tabs)
            for trigger, picture in (*generate.pictures_for_extras, *gallery_pictures):
                extras.receive_picture(trigger, picture)
            build_pnginfo_tab(generate, extras)
            build_profile_tab(context, links)
            build_notifications_tab(context, links, tabs, bell)
            moderation_tab = build_moderation_tab(context, links)
            admin_tab = build_admin_tab(context, links)

            @open_to_visitors
            def show_who_is_here(request: gr.Request):
                user = request_user(context, request)
                lang = request_language(request)
                return (whoami_text(user, lang), gr.Tab(visible=bool(user and user.is_admin)), lang,
                        bell_button(user, lang), gr.Tab(visible=bool(user and user.can_moderate)),
                        user.content_view if user else VISITOR_VIEW)

            header_parts = [whoami, admin_tab, switch, bell.button, moderation_tab, content_view]
            build_account_tab(context, (show_who_is_here, header_parts))
        blocks.load(show_who_is_here, None, header_parts, api_visibility="private")

        @open_to_visitors
        def after_ban(request: gr.Request):
            """The header once ``ui.toasts`` has ended a banned account's session."""
            user = request_user(context, request)
            header = whoami_text(user, request_language(request)) if user else \
                text("header.banned_logged_out", request_language(request))
            return (header, gr.Tab(visible=bool(user and user.is_admin)), bell_button(user, request_language(request)),
                    gr.Tab(visible=bool(user and user.can_moderate)))

        session_ended.click(after_ban, None, [whoami, admin_tab, bell.button, moderation_tab],
                            api_visibility="private")
        content_view.change(None, content_view, None, js=CONTENT_VIEW_JS)
        links.wire(blocks, tabs)
    return blocks
