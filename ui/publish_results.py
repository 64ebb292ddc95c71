"""Publish where the picture is: under the Generate result, Publish (the picture shown) or Publish all (every
picture of the run, one post), with the post's optional title, description and tags; then a link to its page.

The pictures are the caller's own, just made: their ids come back from the run into the page's session state,
which a caller cannot send, and ``community.gallery`` checks them again.
"""

from __future__ import annotations

import gradio as gr

from community import picture_posts
from core.context import AppContext
from core.errors import VisionaryError
from core.library.library_edit import require_login

from .i18n import label, message, request_language, text
from .links import Links, link
from .post_form import build_post_form, post_fields
from .session import request_user


def _chosen(event: gr.SelectData) -> int:
    return event.index if isinstance(event.index, int) else 0


def _ready(made: list[int]):
    """For each run's pictures: Publish usable once there is one (Publish all once there are several), the last
    run's "published" line cleared, the first picture the one shown."""
    return gr.Button(interactive=bool(made)), gr.Button(interactive=len(made or ()) > 1), "", 0


class ResultPublisher:
    def __init__(self, context: AppContext):
        self.context = context

    def _publish(self, image_ids: list[int], title, description, tags, request: gr.Request):
        lang = request_language(request)
        try:
            images = picture_posts.publish_images(self.context.store, self._member(request), image_ids,
                                            post_fields(title, description, tags))
        except VisionaryError as exc:
            raise gr.Error(message(exc.message, lang)) from None
        gr.Info(text("gallery.published", lang))
        opened = link("image", images[0].id, text("publish.open_page", lang))
        done = text("publish.published_single" if len(images) == 1 else "publish.published_post", lang, count=len(images))
        return f'<div class="va-ok">{done} {opened}</div>', "", "", ""

    def _member(self, request: gr.Request):
        try:
            return require_login(request_user(self.context, request))
        except VisionaryError as exc:
            raise gr.Error(message(exc.message, request_language(request))) from None

    def publish_shown(self, made: list[int], chosen: int, title, description, tags, request: gr.Request):
        """Publish the picture shown in the result (the first until another is picked)."""
        self._member(request)
        if not made:
            raise gr.Error(text("publish.nothing_yet", request_language(request)))
        index = chosen if isinstance(chosen, int) and 0 <= chosen < len(made) else 0
        return self._publish([made[index]], title, description, tags, request)

    def publish_all(self, made: list[int], title, description, tags, request: gr.Request):
        """Publish every picture of the run together, as one post."""
        self._member(request)
        if not made:
            raise gr.Error(text("publish.nothing_yet", request_language(request)))
        return self._publish(list(made), title, description, tags, request)


def build_result_publisher(context: AppContext, links: Links, result: gr.Gallery, made: gr.State) -> None:
    """The Publish row under ``result`` (in the current layout); ``made`` holds the ids of the run's pictures."""
    chosen = gr.State(0)
    with gr.Row():
        publish = gr.Button(label("publish.this"), size="sm", interactive=False, elem_id="generate-publish")
        publish_every = gr.Button(label("publish.all"), size="sm", interactive=False, elem_id="generate-publish-all")
    form = build_post_form("generate-post")
    status = links.html(elem_id="generate-published")
    publisher = ResultPublisher(context)
    result.select(_chosen, None, chosen, api_visibility="private", show_progress="hidden")
    made.change(_ready, made, [publish, publish_every, status, chosen], api_visibility="private",
                show_progress="hidden")
    outputs = [status, *form.inputs()]
    publish.click(publisher.publish_shown, [made, chosen, *form.inputs()], outputs, api_visibility="private")
    publish_every.click(publisher.publish_all, [made, *form.inputs()], outputs, api_visibility="private")
