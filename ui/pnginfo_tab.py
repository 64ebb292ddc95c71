"""PNG Info tab: drop an image (ours or A1111's), read its generation parameters, send them to Generate."""

from __future__ import annotations

import gradio as gr

from core.errors import VisionaryError
from core.pnginfo import read_file_parameters

from .generate_tab import GenerateTab

NO_PARAMETERS = "This image has no generation parameters."


def read_image(path: str | None):
    """The parameters text of the dropped image and whether there is something to send."""
    if not path:
        return "", gr.Button(interactive=False)
    try:
        text = read_file_parameters(path)
    except VisionaryError as exc:
        raise gr.Error(exc.message) from None
    if not text:
        gr.Info(NO_PARAMETERS)
    return text or "", gr.Button(interactive=bool(text))


def build_pnginfo_tab(generate: GenerateTab) -> None:
    with gr.Tab("PNG Info", id="pnginfo"):
        with gr.Row():
            with gr.Column():
                image = gr.Image(label="Image (PNG, JPEG or WebP with A1111 parameters)", type="filepath",
                                 sources=["upload", "clipboard"], height=420, elem_id="pnginfo-image")
            with gr.Column():
                parameters = gr.Textbox(label="Parameters", lines=10, interactive=False, buttons=["copy"],
                                        placeholder="Drop an image on the left (log in first: uploads need an account).",
                                        elem_id="pnginfo-parameters")
                send = gr.Button("Send to Generate", variant="primary", interactive=False, elem_id="pnginfo-send")
    image.change(read_image, [image], [parameters, send], api_visibility="private")
    generate.receive(send.click, parameters)
