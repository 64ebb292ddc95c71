"""Extras tab: upscale a picture as A1111's Extras does — scale by a factor or to a size, an upscaler (built in or
an ESRGAN-family model from the library), optionally blended with a second one. It waits in the generation queue
like an image, with its progress, and the result keeps the picture's generation parameters."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import gradio as gr
from gradio.processing_utils import save_bytes_to_cache

from core.context import AppContext
from core.errors import VisionaryError
from core.generation.extras import ExtrasParams, run_extras, upscaler_choices
from core.generation.queue import JobCancelled
from core.generation.upscaling import NONE
from core.pictures import read_image_file

from .generate_form import progress_reporter, refusal
from .i18n import label, request_language, text
from .links import page_tab
from .session import request_session_key, request_user

SCALE_BY, SCALE_TO = "by", "to"


class ExtrasEvents:
    def __init__(self, context: AppContext, result: gr.Image):
        self.context, self.result = context, result

    def upscaler_choices(self, first, second, request: gr.Request):
        """Fresh upscaler choices for the caller, keeping the selections that still exist."""
        names = upscaler_choices(request_user(self.context, request))
        choices = [(text("extras.none", request_language(request)) if name == NONE else name, name) for name in names]
        return (gr.Dropdown(choices=choices, value=first if first in names else NONE),
                gr.Dropdown(choices=choices, value=second if second in names else NONE))

    def upscale(self, picture, how, scale, width, height, crop, first, second, visibility,
                request: gr.Request = None, progress=gr.Progress()):
        """The Upscale button; also ``/upscale`` of Gradio's API."""
        lang = request_language(request)
        if not picture:
            raise gr.Error(text("extras.no_picture", lang))
        by_size = how == SCALE_TO
        try:
            params = ExtrasParams(read_image_file(Path(picture)), upscaler=first or NONE, scale=float(scale or 0),
                                  width=int(width or 0) if by_size else 0, height=int(height or 0) if by_size else 0,
                                  crop=by_size and bool(crop), upscaler_2=second or NONE,
                                  upscaler_2_visibility=float(visibility or 0))
            result = run_extras(self.context, request_user(self.context, request), params,
                                on_update=progress_reporter(progress, lang))
        except VisionaryError as exc:
            raise gr.Error(refusal(exc, lang)) from None
        except JobCancelled:
            gr.Warning(text("generate.cancelled", lang))
            return None, ""
        path = save_bytes_to_cache(result.png, "upscaled.png", self.result.GRADIO_CACHE)
        return path, text("extras.done", lang, width=result.width, height=result.height, info=result.info)


@dataclass(frozen=True)
class ExtrasTab:
    """What other tabs need to send a picture here (A1111's "Send to extras")."""

    context: AppContext
    tabs: gr.Tabs
    picture: gr.Image

    def receive_picture(self, trigger, picture: gr.components.Component) -> None:
        """Wire ``trigger`` to put the picture (a file path held by ``picture``) in this tab and switch to it."""
        trigger(self.fill, [picture], [self.picture, self.tabs], api_visibility="private")

    def fill(self, picture: str | None, request: gr.Request):
        if not picture:
            raise gr.Error(text("generate.no_picture", request_language(request)))
        session = request_session_key(request)
        if session is not None:  # the page may send this file back as the picture to upscale
            self.context.uploads.hand_out(session, picture)
        return picture, gr.Tabs(selected="extras")


def build_extras_tab(context: AppContext, tabs: gr.Tabs) -> ExtrasTab:
    """The Extras tab (inside ``tabs``, which ``ExtrasTab.receive_picture`` switches to)."""
    with page_tab("extras") as tab:
        with gr.Row():
            with gr.Column():
                picture = gr.Image(label=label("extras.image"), type="filepath", sources=["upload", "clipboard"],
                                   height=360, elem_id="extras-image")
                how = gr.Radio([(label("extras.scale_by"), SCALE_BY), (label("extras.scale_to"), SCALE_TO)],
                               value=SCALE_BY, label=label("extras.resize"), elem_id="extras-how")
                scale = gr.Slider(1, 8, value=2, step=0.05, label=label("extras.scale"), elem_id="extras-scale")
                with gr.Row():
                    width = gr.Number(512, precision=0, minimum=1, label=label("extras.width"), elem_id="extras-width")
                    height = gr.Number(512, precision=0, minimum=1, label=label("extras.height"),
                                       elem_id="extras-height")
                    crop = gr.Checkbox(True, label=label("extras.crop"), elem_id="extras-crop")
                nothing = [(label("extras.none"), NONE)]
                first = gr.Dropdown(nothing, value=NONE, label=label("extras.upscaler_1"), elem_id="extras-upscaler-1")
                second = gr.Dropdown(nothing, value=NONE, label=label("extras.upscaler_2"),
                                     elem_id="extras-upscaler-2")
                visibility = gr.Slider(0, 1, value=0, step=0.05, label=label("extras.upscaler_2_visibility"),
                                       elem_id="extras-visibility")
                go = gr.Button(label("extras.upscale"), variant="primary", elem_id="extras-upscale")
            with gr.Column():
                result = gr.Image(label=label("extras.result"), type="filepath", format="png", interactive=False,
                                  height=480, elem_id="extras-result")
                info = gr.Markdown(elem_id="extras-info")
    events = ExtrasEvents(context, result)
    tab.select(events.upscaler_choices, [first, second], [first, second], api_visibility="private")
    go.click(events.upscale, [picture, how, scale, width, height, crop, first, second, visibility], [result, info],
             api_name="upscale", show_progress_on=[result])
    return ExtrasTab(context, tabs, picture)
