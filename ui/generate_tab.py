"""Generate tab: txt2img and img2img with the library's checkpoints, LoRAs, VAEs and embeddings (A1111's layout
and habits; the two modes and the hires fix are ``ui.generate_modes``, the form's plain parts ``ui.generate_form``).

The event runs ``core.generation.service.run_generation`` and maps the job's queue position
and step count onto ``gr.Progress``; the app's own generation queue does the
real limiting, so the Gradio event allows many at once (each waiting one shows
its position). Other tabs fill this one with ``GenerateTab.receive`` (PNG Info's
"Send to Generate", the gallery's "Use these settings").

Handlers are bound methods, not ``functools.partial`` objects: Gradio finds
the ``gr.Request``/``gr.Progress`` parameters through the type hints, which it
cannot read from a partial.
"""

from __future__ import annotations

from dataclasses import dataclass

import gradio as gr
from gradio.processing_utils import save_file_to_cache

from core.context import AppContext
from core.errors import VisionaryError
from core.generation.hires import BUILT_IN_UPSCALERS
from core.generation.queue import JobCancelled
from core.generation.resources import checkpoint_choices, fits, lora_tag, models_of_type, title_of
from core.generation.samplers import SCHEDULE_TYPES, sampler_names
from core.generation.service import (
    cancel_jobs_of,
    last_parameters,
    native_size,
    run_generation,
    settings_from_infotext,
)
from core.library.library import get_model

from .generate_form import (
    chosen_index,
    form_params,
    insert_lora,
    progress_reporter,
    refusal,
    seed_of,
    show_selected,
)
from .generate_modes import IMG2IMG, ModeTabs, build_mode_tabs, mode_fields, picture_file, show_mode
from .i18n import label, message, request_language, text
from .links import Links, page_tab
from .publish_results import build_result_publisher
from .session import request_session_key, request_user

# Waiting Gradio events only wait on the app's queue (which shows their position), so allow many.
GENERATION_EVENTS = 16
BUILT_IN_VAE = 0  # the VAE choice "built into the checkpoint"
DEFAULT_SIZE = 512
SETTING_KEYS = ("prompt", "negative_prompt", "model", "sampler", "scheduler", "steps", "width", "height",
                "cfg_scale", "seed", "clip_skip", "enable_hr", "hr_upscaler", "hr_scale", "hr_second_pass_steps",
                "denoising_strength")

# Ctrl+Enter (Cmd+Enter) in the prompts presses Generate, as in A1111; installed once per page.
CTRL_ENTER_JS = """
() => {
  if (window.__visionaryCtrlEnter) return;
  window.__visionaryCtrlEnter = true;
  document.addEventListener("keydown", (event) => {
    if (event.key !== "Enter" || !(event.ctrlKey || event.metaKey)) return;
    if (!event.target.closest || !event.target.closest("#generate-prompt, #generate-negative-prompt")) return;
    event.preventDefault();
    event.stopPropagation();
    document.querySelector("#generate-button")?.click();
  }, true);
}
"""


def checkpoint_dropdown(checkpoints, value, lang: str) -> gr.Dropdown:
    info = None if checkpoints else text("generate.no_checkpoint", lang)
    return gr.Dropdown(choices=[(title_of(m), m.id) for m in checkpoints], value=value, info=info)


def lora_dropdown(loras, checkpoint, lang: str) -> gr.Dropdown:
    """The LoRAs that fit ``checkpoint`` (its base model's family); those that do not are named in the info, with
    the base model they are made for."""
    if not loras:
        return gr.Dropdown(choices=[], value=None, info=text("generate.no_lora", lang))
    fitting = [m for m in loras if checkpoint is None or fits(m.base_model, checkpoint.base_model)]
    others = [m for m in loras if m not in fitting]
    info = text("generate.lora_info" if fitting else "generate.no_fitting_lora", lang)
    if others:
        names = ", ".join(f"{m.name} ({m.base_model})" for m in others)
        info += " " + text("generate.lora_not_fitting", lang, base=checkpoint.base_model, names=names)
    return gr.Dropdown(choices=[(m.name, lora_tag(m)) for m in fitting], value=None, info=info)


def schedule_choices() -> list:
    return [(label(f"generate.schedule.{s.name}"), s.name) for s in SCHEDULE_TYPES]


@dataclass(frozen=True)
class GenerateTab:
    """The Generate tab's components; ``receive`` lets other tabs send A1111 parameters here."""

    context: AppContext
    tabs: gr.Tabs
    prompt: gr.Textbox
    negative_prompt: gr.Textbox
    checkpoint: gr.Dropdown
    sampler: gr.Dropdown
    schedule_type: gr.Dropdown
    steps: gr.Number
    width: gr.Number
    height: gr.Number
    cfg_scale: gr.Number
    seed: gr.Number
    clip_skip: gr.Number
    modes: ModeTabs
    pictures_for_extras: list  # (trigger, picture) pairs for the Extras tab's receive_picture (built after this one)

    @property
    def settings(self) -> list:
        """The components parameters text fills, in ``SETTING_KEYS`` order."""
        hires = self.modes.hires
        return [self.prompt, self.negative_prompt, self.checkpoint, self.sampler, self.schedule_type, self.steps,
                self.width, self.height, self.cfg_scale, self.seed, self.clip_skip, hires.enable, hires.upscaler, hires.scale,
                hires.steps, hires.denoising]

    def receive(self, trigger, parameters: gr.components.Component) -> None:
        """Wire ``trigger`` (e.g. ``button.click``) to load the A1111 parameters text held by ``parameters``
        (a Textbox or State) into this tab and switch to it."""
        trigger(self.fill, [parameters], [*self.settings, self.tabs], api_visibility="private")

    def receive_picture(self, trigger, parameters: gr.components.Component, picture: gr.components.Component) \
            -> None:
        """A1111's "Send to img2img": wire ``trigger`` to put the picture (a file path held by ``picture``) in the
        img2img panel, with its parameters text (if any) in the settings, and switch there."""
        panel = self.modes.img2img
        outputs = [*self.settings, panel.init_image, self.modes.mode, *self.modes.panels, self.tabs]
        trigger(self.fill_img2img, [parameters, picture], outputs, api_visibility="private")

    def fill_img2img(self, parameters: str, picture: str | None, request: gr.Request):
        lang = request_language(request)
        if not picture:
            raise gr.Error(text("generate.no_picture", lang))
        settings = self._settings_from(parameters, request) if (parameters or "").strip() else \
            tuple(gr.skip() for _ in SETTING_KEYS)
        session = request_session_key(request)
        if session is not None:  # the page may send this file back as the picture to start from
            self.context.uploads.hand_out(session, picture)
        return (*settings, picture, IMG2IMG, *show_mode(IMG2IMG), gr.Tabs(selected="generate"))

    def restore_last(self, request: gr.Request):
        """On page load: the user's last used settings (a new random seed, as in A1111)."""
        actor = request_user(self.context, request)
        parameters = last_parameters(actor)
        if not parameters:
            return tuple(gr.skip() for _ in SETTING_KEYS)
        fields = settings_from_infotext(actor, parameters)
        fields.pop("seed", None)
        if "model" in fields:
            fields["model"] = checkpoint_dropdown(checkpoint_choices(actor), fields["model"].id,
                                                  request_language(request))
        return tuple(fields.get(key, gr.skip()) for key in SETTING_KEYS)

    def fill(self, parameters: str, request: gr.Request):
        """Updates for ``settings`` (unchanged where the text says nothing) and the tabs."""
        if not (parameters or "").strip():
            raise gr.Error(text("generate.no_parameters", request_language(request)))
        return (*self._settings_from(parameters, request), gr.Tabs(selected="generate"))

    def _settings_from(self, parameters: str, request: gr.Request) -> tuple:
        """``settings`` updates from A1111 parameters text; the hires fix is ticked only if the text has one."""
        lang = request_language(request)
        actor = request_user(self.context, request)
        fields = {"enable_hr": False} | settings_from_infotext(actor, parameters)
        if "missing_model" in fields:
            gr.Warning(text("generate.missing_checkpoint", lang, name=fields["missing_model"]))
        if "model" in fields:
            fields["model"] = checkpoint_dropdown(checkpoint_choices(actor), fields["model"].id, lang)
        return tuple(fields.get(key, gr.skip()) for key in SETTING_KEYS)


# --------------------------------------------------------------------------- events that need the app
class GenerateEvents:
    def __init__(self, context: AppContext, gallery: gr.Gallery):
        self.context = context
        self.gallery = gallery

    def _library(self, request: gr.Request, checkpoint=None, vae=0):
        """Fresh checkpoint, VAE and LoRA choices, keeping the selections that still exist; and the
        selected checkpoint's record (None when there is none)."""
        actor = request_user(self.context, request)
        lang = request_language(request)
        checkpoints = checkpoint_choices(actor)
        selected = next((m for m in checkpoints if m.id == checkpoint), checkpoints[0] if checkpoints else None)
        vaes = models_of_type(actor, "vae")
        built_in = (text("generate.vae_built_in", lang), BUILT_IN_VAE)
        return (checkpoint_dropdown(checkpoints, selected.id if selected else None, lang),
                gr.Dropdown(choices=[built_in, *((m.name, m.id) for m in vaes)],
                            value=vae if vae in {m.id for m in vaes} else BUILT_IN_VAE),
                lora_dropdown(models_of_type(actor, "lora"), selected, lang), selected)

    def page_load(self, request: gr.Request):
        checkpoint, vae, lora, selected = self._library(request)
        size = native_size(selected) if selected else DEFAULT_SIZE
        return checkpoint, vae, lora, size, size

    def hires_upscalers(self, chosen, request: gr.Request):
        """Hires fix's upscalers: the built-in ones, then the library's upscaler models the caller may use."""
        choices = [*BUILT_IN_UPSCALERS, *(m.name for m in models_of_type(request_user(self.context, request),
                                                                          "upscaler"))]
        return gr.Dropdown(choices=choices, value=chosen if chosen in choices else "Latent")

    def refresh(self, checkpoint, vae, request: gr.Request):
        return self._library(request, checkpoint, vae)[:3]

    def checkpoint_chosen(self, checkpoint, request: gr.Request):
        """Width and height follow the chosen checkpoint (its native size), the LoRA picker its base model."""
        actor = request_user(self.context, request)
        try:
            model = get_model(actor, int(checkpoint))
        except (VisionaryError, TypeError, ValueError):
            return gr.skip(), gr.skip(), gr.skip()
        size = native_size(model)
        return size, size, lora_dropdown(models_of_type(actor, "lora"), model, request_language(request))

    def _gallery_items(self, result, lang: str) -> list[tuple[str, str]]:
        """The saved PNGs copied byte for byte into the gallery's Gradio cache: the outputs folder needs no
        ``allowed_paths``, and a download keeps the file name and the parameters chunk."""
        outputs = self.context.config.outputs_path
        return [(save_file_to_cache(outputs / image.path, self.gallery.GRADIO_CACHE),
                 text("generate.image_caption", lang, seed=image.seed)) for image in result.images]

    def generate(self, prompt, negative_prompt, checkpoint, vae, sampler, schedule_type, steps, width, height,
                 cfg_scale, seed, batch_size, clip_skip, mode, hires_enable, hr_upscaler, hr_scale, hr_steps, hr_denoising,
                 init_image=None, denoising=0.75, resize_mode=0, mask_blur=4, masked_content=1, only_masked=False,
                 padding=32, invert=False, request: gr.Request = None, progress=gr.Progress()):
        """The Generate button; also ``/txt2img`` of Gradio's API, where the img2img fields may be left out."""
        lang = request_language(request)
        try:
            fields = mode_fields(mode, hires_enable, hr_upscaler, hr_scale, hr_steps, hr_denoising, init_image,
                                 denoising, resize_mode, mask_blur, masked_content, only_masked, padding, invert)
            params = form_params(prompt, negative_prompt, checkpoint, vae, sampler, schedule_type, steps, width,
                                 height, cfg_scale, seed, batch_size, clip_skip, **fields)
            result = run_generation(self.context, request_user(self.context, request), params,
                                 on_update=progress_reporter(progress, lang))
        except VisionaryError as exc:
            raise gr.Error(refusal(exc, lang)) from None
        except JobCancelled:
            gr.Warning(text("generate.cancelled", lang))
            return [], "", [], []
        texts = [image.parameters for image in result.images]
        if not texts:
            gr.Warning(text("generate.interrupted", lang))
        return self._gallery_items(result, lang), (texts[0] if texts else ""), texts, [i.id for i in result.images]

    def picked(self, made: list[int], chosen: int, texts: list[str], request: gr.Request):
        """The result picture chosen in the gallery (the first if none) and its parameters, for img2img."""
        if not made:
            raise gr.Error(text("generate.no_picture", request_language(request)))
        index = chosen if 0 <= chosen < len(made) else 0
        path = picture_file(self.context, request, made[index], self.gallery.GRADIO_CACHE)
        return path, (texts[index] if index < len(texts) else "")

    def cancel(self, request: gr.Request) -> None:
        lang = request_language(request)
        try:
            count = cancel_jobs_of(self.context, request_user(self.context, request))
        except VisionaryError as exc:
            raise gr.Error(message(exc.message, lang)) from None
        gr.Info(text("generate.cancelling" if count else "generate.nothing_to_cancel", lang))


# --------------------------------------------------------------------------- layout
def _prompts_and_buttons():
    with gr.Row():
        with gr.Column(scale=5):
            prompt = gr.Textbox(label=label("generate.prompt"), lines=3, max_length=10_000, elem_id="generate-prompt",
                                placeholder=label("generate.prompt_placeholder"))
            negative = gr.Textbox(label=label("generate.negative_prompt"), lines=2, max_length=10_000,
                                  elem_id="generate-negative-prompt")
        with gr.Column(scale=1, min_width=160):
            run = gr.Button(label("generate.generate"), variant="primary", size="lg", elem_id="generate-button")
            stop = gr.Button(label("generate.cancel"), variant="stop", elem_id="generate-cancel")
    return prompt, negative, run, stop


def _settings_column():
    lora = gr.Dropdown(label=label("generate.add_lora"), elem_id="generate-lora")
    with gr.Row():
        sampler = gr.Dropdown(sampler_names(), value="Euler a", label=label("generate.sampler"),
                              elem_id="generate-sampler")
        schedule = gr.Dropdown(schedule_choices(), value="automatic", label=label("generate.schedule_type"),
                               elem_id="generate-schedule-type")
    # Numbers with their limits beside them, not sliders: a slider's box quietly clamps a typed 10000 to 2048;
    # here a value out of range is refused with the range named (``SettingOutOfRange``).
    steps = gr.Number(20, precision=0, step=1, label=label("generate.steps"), info=label("generate.steps_info"),
                      elem_id="generate-steps")
    with gr.Row():
        width = gr.Number(DEFAULT_SIZE, precision=0, step=8, label=label("generate.width"),
                          info=label("generate.size_info"), elem_id="generate-width")
        height = gr.Number(DEFAULT_SIZE, precision=0, step=8, label=label("generate.height"),
                           info=label("generate.size_info"), elem_id="generate-height")
    with gr.Row():
        cfg = gr.Number(7, step=0.5, label=label("generate.cfg_scale"), info=label("generate.cfg_scale_info"),
                        elem_id="generate-cfg-scale")
        batch = gr.Number(1, precision=0, step=1, label=label("generate.batch_size"),
                          info=label("generate.batch_size_info"), elem_id="generate-batch-size")
        clip_skip = gr.Number(1, precision=0, step=1, label=label("generate.clip_skip"),
                              info=label("generate.clip_skip_info"), elem_id="generate-clip-skip")
    with gr.Row():
        seed = gr.Number(-1, precision=0, label=label("generate.seed"), info=label("generate.seed_info"), scale=4,
                         elem_id="generate-seed")
        with gr.Column(scale=1, min_width=90):
            random_seed = gr.Button(label("generate.random_seed"), size="sm", elem_id="generate-random-seed")
            reuse_seed = gr.Button(label("generate.reuse_seed"), size="sm", elem_id="generate-reuse-seed")
    return lora, sampler, schedule, steps, width, height, cfg, batch, clip_skip, seed, random_seed, reuse_seed


def _results_column():
    gallery = gr.Gallery(label=label("generate.images"), columns=2, height="auto", object_fit="contain", format="png",
                         interactive=False, buttons=["download", "download_all", "fullscreen"],
                         elem_id="generate-gallery")
    info = gr.Textbox(label=label("generate.parameters"), lines=4, interactive=False, buttons=["copy"],
                      elem_id="generate-info")
    with gr.Row():
        send = gr.Button(label("generate.send_to_img2img"), size="sm", elem_id="generate-send-img2img")
        send_extras = gr.Button(label("generate.send_to_extras"), size="sm", elem_id="generate-send-extras")
    return gallery, info, send, send_extras


def build_generate_tab(context: AppContext, tabs: gr.Tabs, links: Links) -> GenerateTab:
    """The Generate tab (inside ``tabs``, which ``GenerateTab.receive`` switches to); the result's Publish links to
    the published picture's page through ``links``."""
    with page_tab("generate"):
        with gr.Row(equal_height=True):
            checkpoint = gr.Dropdown(label=label("generate.checkpoint"), allow_custom_value=True, scale=4,
                                     elem_id="generate-checkpoint")
            vae = gr.Dropdown([(label("generate.vae_built_in"), BUILT_IN_VAE)], value=BUILT_IN_VAE,
                              label=label("generate.vae"), allow_custom_value=True, scale=2, elem_id="generate-vae")
            refresh = gr.Button(label("generate.refresh"), size="sm", scale=0, min_width=90, elem_id="generate-refresh")
        prompt, negative, run, stop = _prompts_and_buttons()
        modes = build_mode_tabs()
        with gr.Row():
            with gr.Column():
                lora, sampler, schedule, steps, width, height, cfg, batch, clip_skip, seed, random_seed, reuse_seed = \
                    _settings_column()
            with gr.Column():
                gallery, info, send, send_extras = _results_column()
                made = gr.State([])  # the ids of the last run's pictures (each the caller's own, private)
                build_result_publisher(context, links, gallery, made)
        texts = gr.State([])
        chosen, picked, picked_parameters = gr.State(0), gr.State(None), gr.State("")
        picked_for_extras = gr.State(None)

    events = GenerateEvents(context, gallery)
    to_extras = send_extras.click(events.picked, [made, chosen, texts], [picked_for_extras, picked_parameters],
                                  api_visibility="private")
    tab = GenerateTab(context, tabs, prompt, negative, checkpoint, sampler, schedule, steps, width, height, cfg, seed,
                      clip_skip, modes, [(to_extras.success, picked_for_extras)])
    hires_upscaler = modes.hires.upscaler
    gr.on(None, events.page_load, None, [checkpoint, vae, lora, width, height], api_visibility="private") \
        .then(events.hires_upscalers, [hires_upscaler], [hires_upscaler], api_visibility="private") \
        .then(tab.restore_last, None, tab.settings, api_visibility="private")
    gr.on(None, None, js=CTRL_ENTER_JS)
    refresh.click(events.refresh, [checkpoint, vae], [checkpoint, vae, lora], api_visibility="private") \
        .then(events.hires_upscalers, [hires_upscaler], [hires_upscaler], api_visibility="private")
    checkpoint.input(events.checkpoint_chosen, [checkpoint], [width, height, lora], api_visibility="private")
    lora.input(insert_lora, [prompt, lora], [prompt, lora], api_visibility="private")
    ran = run.click(events.generate,
                    [prompt, negative, checkpoint, vae, sampler, schedule, steps, width, height, cfg, seed, batch,
                     clip_skip, *modes.inputs],
                    [gallery, info, texts, made], api_name="txt2img", show_progress_on=[gallery],
                    concurrency_id="generation", concurrency_limit=GENERATION_EVENTS)
    ran.success(lambda: 0, None, chosen, api_visibility="private")
    stop.click(events.cancel, None, None, api_visibility="private")
    gallery.select(show_selected, [texts], [info], api_visibility="private")
    gallery.select(chosen_index, None, chosen, api_visibility="private")
    sending = send.click(events.picked, [made, chosen, texts], [picked, picked_parameters],
                         api_visibility="private")
    tab.receive_picture(sending.success, picked_parameters, picked)
    random_seed.click(lambda: -1, None, [seed], api_visibility="private")
    reuse_seed.click(seed_of, [info], [seed], api_visibility="private")
    return tab
