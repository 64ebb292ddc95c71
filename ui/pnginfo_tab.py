"""PNG Info tab: drop an image (ours or A1111's), read its generation parameters, send them to Generate (or the
picture with them to img2img, or the picture to Extras)."""

from __future__ import annotations

import gradio as gr

from core.errors import VisionaryError
from core.generation.pnginfo import read_file_parameters

from .extras_tab import ExtrasTab
from .generate_tab import GenerateTab
from .i18n import label, message, request_language, text
from .links import page_tab


def read_image(path: str | None, request: gr.Request):
    """The parameters text of the dropped image and whether there is something to send (parameters to Generate,
    the picture to img2img and Extras)."""
    if not path:
        return "", gr.Button(interactive=False), gr.Button(interactive=False), gr.Button(interactive=False)
    lang = request_language(request)
    try:
        parameters = read_file_parameters(path)
    except VisionaryError as exc:
        raise gr.Error(message(exc.message, lang)) from None
    if not parameters:
        gr.Info(text("pnginfo.no_parameters", lang))
    return (parameters or "", gr.Button(interactive=bool(parameters)), gr.Button(interactive=True),
            gr.Button(interactive=True))


def build_pnginfo_tab(generate: GenerateTab, extras: ExtrasTab) -> None:
    with page_tab("pnginfo"):
        with gr.Row():
            with gr.Column():
                image = gr.Image(label=label("pnginfo.image"), type="filepath",
                                 sources=["upload", "clipboard"], height=420, elem_id="pnginfo-image")
            with gr.Column():
                parameters = gr.Textbox(label=label("pnginfo.parameters"), lines=10, interactive=False,
                                        buttons=["copy"], placeholder=label("pnginfo.placeholder"),
                                        elem_id="pnginfo-parameters")
                with gr.Row():
                    send = gr.Button(label("pnginfo.send"), variant="primary", interactive=False,
                                     elem_id="pnginfo-send")
                    send_img2img = gr.Button(label("pnginfo.send_img2img"), interactive=False,
                                             elem_id="pnginfo-send-img2img")
                    send_extras = gr.Button(label("pnginfo.send_extras"), interactive=False,
                                            elem_id="pnginfo-send-extras")
    image.change(read_image, [image], [parameters, send, send_img2img, send_extras], api_visibility="private")
    extras.receive_picture(send_extras.click, image)
    generate.receive(send.click, parameters)
    generate.receive_picture(send_img2img.click, parameters, image)
