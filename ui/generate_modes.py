"""The Generate tab's two modes, as A1111's txt2img and img2img tabs: one prompt and one set of settings, and
above them a mode switch showing the "txt2img" panel (with the hires fix) or the "img2img" panel (the init
picture, denoising strength and resize mode). The mode shown is the mode the Generate button runs, and the
switch's value is that mode (no hidden state to keep in step).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import gradio as gr
from gradio.processing_utils import save_file_to_cache

from community import gallery
from core.context import AppContext
from core.errors import InvalidInput, VisionaryError
from core.generation.hires import BUILT_IN_UPSCALERS, HiresFix
from core.generation.img2img import RESIZE_MODES
from core.generation.inpaint import MASKED_CONTENT, Inpaint, mask_png
from core.pictures import decode_picture, read_image_file

from .i18n import label, message, request_language
from .session import request_user

TXT2IMG, IMG2IMG = "txt2img", "img2img"
# The panel not shown is folded to no height rather than hidden: Gradio's image editor, drawn while hidden, keeps a
# canvas of no size when shown.
FOLDED = "va-folded"
MODE_CSS = f".{FOLDED} {{ height: 0 !important; min-height: 0 !important; overflow: hidden !important; " \
           "padding: 0 !important; margin: 0 !important; border: 0 !important; visibility: hidden; }"


@dataclass(frozen=True)
class HiresPanel:
    enable: gr.Checkbox
    upscaler: gr.Dropdown
    scale: gr.Number
    steps: gr.Number
    denoising: gr.Number

    @property
    def inputs(self) -> list:
        return [self.enable, self.upscaler, self.scale, self.steps, self.denoising]


@dataclass(frozen=True)
class InpaintPanel:
    mask_blur: gr.Number
    masked_content: gr.Radio
    only_masked: gr.Radio
    padding: gr.Number
    invert: gr.Checkbox

    @property
    def inputs(self) -> list:
        return [self.mask_blur, self.masked_content, self.only_masked, self.padding, self.invert]


@dataclass(frozen=True)
class Img2ImgPanel:
    """``init_image`` is the picture to start from (uploaded, pasted, or sent by "Send to img2img", which hands its
    file to the session: ``core.upload_handles``); strokes painted on it are the inpainting mask."""

    init_image: gr.ImageEditor
    denoising: gr.Number
    resize_mode: gr.Radio
    inpaint: InpaintPanel

    @property
    def inputs(self) -> list:
        return [self.init_image, self.denoising, self.resize_mode, *self.inpaint.inputs]


@dataclass(frozen=True)
class ModeTabs:
    mode: gr.Radio  # TXT2IMG or IMG2IMG: the panel shown
    txt2img_panel: gr.Column
    img2img_panel: gr.Column
    hires: HiresPanel
    img2img: Img2ImgPanel

    @property
    def panels(self) -> list:
        return [self.txt2img_panel, self.img2img_panel]

    @property
    def inputs(self) -> list:
        """What the Generate button reads, in ``mode_fields``'s order."""
        return [self.mode, *self.hires.inputs, *self.img2img.inputs]


def _hires_panel() -> HiresPanel:
    with gr.Accordion(label("generate.hires"), open=False, elem_id="generate-hires"):
        enable = gr.Checkbox(False, label=label("generate.hires_enable"), elem_id="generate-hires-enable")
        with gr.Row():
            upscaler = gr.Dropdown(list(BUILT_IN_UPSCALERS), value="Latent", label=label("generate.hires_upscaler"),
                                   elem_id="generate-hires-upscaler")
            scale = gr.Number(2, step=0.25, label=label("generate.hires_scale"), info=label("generate.hires_scale_info"),
                              elem_id="generate-hires-scale")
            steps = gr.Number(0, precision=0, step=1, label=label("generate.hires_steps"),
                              info=label("generate.hires_steps_info"), elem_id="generate-hires-steps")
            denoising = gr.Number(0.7, step=0.05, label=label("generate.denoising"), info=label("generate.hires_denoising_info"),
                                  elem_id="generate-hires-denoising")
    return HiresPanel(enable, upscaler, scale, steps, denoising)


def _img2img_panel() -> Img2ImgPanel:
    with gr.Row():
        init_image = gr.ImageEditor(label=label("generate.init_image"), type="filepath", format="png",
                                    sources=["upload", "clipboard"], transforms=(), layers=False,
                                    brush=gr.Brush(colors=["#ffffff"], color_mode="fixed"), height=360, scale=2,
                                    elem_id="generate-init-image")
        with gr.Column(scale=1):
            denoising = gr.Number(0.75, step=0.05, label=label("generate.denoising"),
                                  info=label("generate.denoising_info"), elem_id="generate-denoising")
            resize_mode = gr.Radio([(label(f"generate.resize_mode.{i}"), i) for i in range(len(RESIZE_MODES))],
                                   value=0, label=label("generate.resize_mode"), elem_id="generate-resize-mode")
    return Img2ImgPanel(init_image, denoising, resize_mode, _inpaint_panel())


def _inpaint_panel() -> InpaintPanel:
    with gr.Accordion(label("generate.inpaint"), open=False, elem_id="generate-inpaint"):
        with gr.Row():
            blur = gr.Number(4, precision=0, label=label("generate.mask_blur"), info=label("generate.mask_blur_info"),
                             elem_id="generate-mask-blur")
            area = gr.Radio([(label("generate.inpaint_area.whole"), False),
                             (label("generate.inpaint_area.masked"), True)],
                            value=False, label=label("generate.inpaint_area"), elem_id="generate-inpaint-area")
            padding = gr.Number(32, precision=0, label=label("generate.masked_padding"),
                                info=label("generate.masked_padding_info"), elem_id="generate-masked-padding")
        content = gr.Radio([(label(f"generate.masked_content.{i}"), i) for i in range(len(MASKED_CONTENT))],
                           value=1, label=label("generate.masked_content"), elem_id="generate-masked-content")
        invert = gr.Checkbox(False, label=label("generate.invert_mask"), elem_id="generate-invert-mask")
    return InpaintPanel(blur, content, area, padding, invert)


def painted_mask(editor: dict | None) -> bytes | None:
    """The strokes painted on the picture as a mask (PNG), or None when nothing is painted."""
    layers = [layer for layer in (editor or {}).get("layers") or [] if layer]
    if not layers:
        return None
    strokes = decode_picture(read_image_file(Path(layers[0]))).convert("RGBA").getchannel("A")
    return mask_png(strokes) if strokes.getbbox() else None


def picture_file(context: AppContext, request: gr.Request, image_id, cache_dir: str) -> str:
    """A picture of the site the caller may see, copied into Gradio's cache (the outputs folder is not served to
    the page) to be shown and started from in img2img."""
    lang = request_language(request)
    try:
        row = gallery.get_image_row(request_user(context, request), int(image_id or 0))
    except VisionaryError as exc:
        raise gr.Error(message(exc.message, lang)) from None
    return save_file_to_cache(context.config.outputs_path / row.path, cache_dir)


def show_mode(mode: str) -> tuple[gr.Column, gr.Column]:
    return (gr.Column(elem_classes=[FOLDED] if mode == IMG2IMG else []),
            gr.Column(elem_classes=[] if mode == IMG2IMG else [FOLDED]))


def build_mode_tabs() -> ModeTabs:
    mode = gr.Radio([(label("generate.mode.txt2img"), TXT2IMG), (label("generate.mode.img2img"), IMG2IMG)],
                    value=TXT2IMG, show_label=False, elem_id="generate-mode")
    with gr.Column(elem_id="generate-txt2img-panel") as txt2img_panel:
        hires = _hires_panel()
    with gr.Column(elem_classes=[FOLDED], elem_id="generate-img2img-panel") as img2img_panel:
        img2img = _img2img_panel()
    mode.change(show_mode, mode, [txt2img_panel, img2img_panel], api_visibility="private")
    return ModeTabs(mode, txt2img_panel, img2img_panel, hires, img2img)


def _number(value, default):
    return default if value is None else value


def mode_fields(mode, hires_enable, hr_upscaler, hr_scale, hr_steps, hr_denoising, init_image, denoising,
                resize_mode, mask_blur, masked_content, only_masked, padding, invert) -> dict:
    """The ``GenerateParams`` fields of the mode shown: img2img's init picture (read from its file) and, when
    strokes are painted on it, the inpainting; or the hires fix when ticked. An img2img without a picture is
    refused before anything is queued."""
    if mode == IMG2IMG:
        background = (init_image or {}).get("background")
        if not background or not Path(background).is_file():
            raise InvalidInput("img2img starts from a picture: drop one into the img2img panel first")
        mask = painted_mask(init_image)
        inpaint = Inpaint(mask, mask_blur=int(_number(mask_blur, 4)), masked_content=int(_number(masked_content, 1)),
                          only_masked=bool(only_masked), only_masked_padding=int(_number(padding, 32)),
                          invert=bool(invert)) if mask else None
        return {"init_image": read_image_file(Path(background)), "denoising_strength": _number(denoising, 0.75),
                "resize_mode": int(_number(resize_mode, 0)), "inpaint": inpaint}
    if not hires_enable:
        return {}
    steps = _number(hr_steps, 0)
    return {"hires": HiresFix(scale=_number(hr_scale, 2.0), upscaler=hr_upscaler or "Latent",
                              steps=int(steps) if float(steps).is_integer() else steps,
                              denoising_strength=_number(hr_denoising, 0.7))}
