"""A1111 sampler and schedule-type names mapped to diffusers schedulers.

A1111 (1.9+) names a sampler (``DPM++ 2M``) and a schedule type (``Karras``)
separately, and still accepts the older combined names (``DPM++ 2M Karras``).
Both forms resolve here to one diffusers scheduler class plus keyword arguments,
built from the loaded pipeline's own scheduler config so that the model's
training settings (``prediction_type`` for SD 2.x v-models, beta schedule,
``steps_offset``) are kept.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from typing import Any, Mapping


@dataclass(frozen=True)
class Sampler:
    name: str
    scheduler_class: str  # a class name in ``diffusers``
    aliases: tuple[str, ...] = ()
    kwargs: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ScheduleType:
    name: str  # A1111's id, e.g. "karras"
    label: str  # what UIs and infotexts show, e.g. "Karras"
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    default_rho: float = -1.0


SAMPLERS: tuple[Sampler, ...] = (
    Sampler("DPM++ 2M", "DPMSolverMultistepScheduler", ("k_dpmpp_2m",),
            {"algorithm_type": "dpmsolver++", "solver_order": 2}),
    Sampler("DPM++ 2M SDE", "DPMSolverMultistepScheduler", ("k_dpmpp_2m_sde",),
            {"algorithm_type": "sde-dpmsolver++", "solver_order": 2}),
    Sampler("Euler a", "EulerAncestralDiscreteScheduler", ("k_euler_a", "k_euler_ancestral")),
    Sampler("Euler", "EulerDiscreteScheduler", ("k_euler",)),
    Sampler("LMS", "LMSDiscreteScheduler", ("k_lms",)),
    Sampler("Heun", "HeunDiscreteScheduler", ("k_heun",)),
    Sampler("DPM2", "KDPM2DiscreteScheduler", ("k_dpm_2",)),
    Sampler("DPM2 a", "KDPM2AncestralDiscreteScheduler", ("k_dpm_2_a",)),
    Sampler("DDIM", "DDIMScheduler", ("ddim",)),
    Sampler("PLMS", "PNDMScheduler", ("plms",), {"skip_prk_steps": True}),
    Sampler("UniPC", "UniPCMultistepScheduler", ("unipc",)),
    Sampler("DEIS", "DEISMultistepScheduler", ("deis",)),
)

SCHEDULE_TYPES: tuple[ScheduleType, ...] = (
    ScheduleType("automatic", "Automatic"),
    ScheduleType("uniform", "Uniform"),
    ScheduleType("karras", "Karras", {"use_karras_sigmas": True}, default_rho=7.0),
    ScheduleType("exponential", "Exponential", {"use_exponential_sigmas": True}),
    ScheduleType("beta", "Beta", {"use_beta_sigmas": True}),
    ScheduleType("sgm_uniform", "SGM Uniform", {"timestep_spacing": "trailing"}),
)

# Old combined names that UIs still list (A1111 < 1.9 had them as samplers).
LEGACY_COMBINED = ("DPM++ 2M Karras", "DPM++ 2M SDE Karras", "LMS Karras", "DPM2 Karras", "DPM2 a Karras")


def _by_lower_name() -> dict[str, Sampler]:
    table = {}
    for sampler in SAMPLERS:
        for name in (sampler.name, *sampler.aliases):
            table[name.lower()] = sampler
    return table


def find_schedule_type(name: str | None) -> ScheduleType:
    """A schedule type by id or label (case-insensitive); ``None``/empty means automatic."""
    wanted = (name or "automatic").strip().lower()
    for schedule in SCHEDULE_TYPES:
        if wanted in (schedule.name, schedule.label.lower()):
            return schedule
    known = ", ".join(s.label for s in SCHEDULE_TYPES)
    raise ValueError(f"unknown schedule type {name!r}; known: {known}")


def resolve_sampler(name: str, schedule_type: str | None = None) -> tuple[Sampler, ScheduleType]:
    """``(sampler, schedule type)`` for an A1111 sampler name, alias or combined legacy name.

    An explicit non-automatic ``schedule_type`` wins over a suffix in the name
    (``DPM++ 2M Karras``), as in A1111.
    """
    if not isinstance(name, str) or not name.strip():
        raise ValueError("sampler name is empty")
    table = _by_lower_name()
    key = name.strip().lower()
    suffix_schedule = find_schedule_type("automatic")
    sampler = table.get(key)
    if sampler is None:
        for schedule in SCHEDULE_TYPES[1:]:
            tail = " " + schedule.label.lower()
            if key.endswith(tail) and key[: -len(tail)] in table:
                sampler, suffix_schedule = table[key[: -len(tail)]], schedule
                break
    if sampler is None:
        raise ValueError(f"unknown sampler {name!r}; known: {', '.join(sampler_names())}")
    schedule = find_schedule_type(schedule_type)
    if schedule.name == "automatic":
        schedule = suffix_schedule
    _check_supported(sampler, schedule)
    return sampler, schedule


def _scheduler_class(sampler: Sampler):
    import diffusers

    return getattr(diffusers, sampler.scheduler_class)


def _check_supported(sampler: Sampler, schedule: ScheduleType) -> None:
    if not schedule.kwargs:
        return
    accepted = inspect.signature(_scheduler_class(sampler).__init__).parameters
    missing = [k for k in schedule.kwargs if k not in accepted]
    if missing:
        raise ValueError(f"sampler {sampler.name!r} does not support the {schedule.label} schedule type")


def make_scheduler(base_config: Mapping[str, Any], sampler_name: str, schedule_type: str | None = None):
    """A new diffusers scheduler for ``sampler_name`` built from a pipeline's scheduler config."""
    sampler, schedule = resolve_sampler(sampler_name, schedule_type)
    cls = _scheduler_class(sampler)
    accepted = set(inspect.signature(cls.__init__).parameters)
    config = {k: v for k, v in dict(base_config).items() if k in accepted}
    return cls.from_config(config, **sampler.kwargs, **schedule.kwargs)


def display_name(sampler_name: str, schedule_type: str | None = None) -> tuple[str, str | None]:
    """``(Sampler, Schedule type)`` as A1111 writes them in infotexts (schedule ``None`` if automatic)."""
    sampler, schedule = resolve_sampler(sampler_name, schedule_type)
    return sampler.name, (None if schedule.name == "automatic" else schedule.label)


def sampler_names() -> list[str]:
    """The names a UI lists: every sampler, then the legacy combined names."""
    return [s.name for s in SAMPLERS] + list(LEGACY_COMBINED)


def sdapi_samplers() -> list[dict[str, Any]]:
    """The body of A1111's ``GET /sdapi/v1/samplers``."""
    out = [{"name": s.name, "aliases": list(s.aliases), "options": {}} for s in SAMPLERS]
    for combined in LEGACY_COMBINED:
        sampler, schedule = resolve_sampler(combined)
        alias = sampler.aliases[0] + "_ka" if sampler.aliases else combined.lower()
        out.append({"name": combined, "aliases": [alias], "options": {"scheduler": schedule.name}})
    return out


def sdapi_schedulers() -> list[dict[str, Any]]:
    """The body of A1111's ``GET /sdapi/v1/schedulers``."""
    return [
        {"name": s.name, "label": s.label, "aliases": None, "default_rho": s.default_rho, "need_inner_model": False}
        for s in SCHEDULE_TYPES
    ]

