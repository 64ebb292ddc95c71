"""Base models by Civitai's names, and the family each belongs to.

A model's ``base_model`` holds one of Civitai's names ("SD 1.5", "SDXL 1.0", "Pony", ...) so that clients and
filters speak the same language as Civitai's.  What the code needs to know about a base model (which configs
build its pipeline, its native size, its AIR ecosystem) depends only on its *family*: the architecture the
weights have.  Detection reads the family from the weights and picks the family's usual name; the owner can
then choose the exact one.

Databases and clients from before these names used one name per family ("SD 1.x", "SD 2.x", "SDXL",
"other"): a filter for one of them matches every name of that family, and a write with one of them stores the
family's usual name.
"""

from __future__ import annotations

SD1_FAMILY, SD2_FAMILY, SDXL_FAMILY, OTHER_FAMILY = "sd1", "sd2", "sdxl", "other"  # also AIR's ecosystem names

SD1, SD2, SDXL, OTHER_BASE = "SD 1.5", "SD 2.1", "SDXL 1.0", "Other"  # each family's usual name

FAMILY_OF: dict[str, str] = {
    "SD 1.4": SD1_FAMILY, SD1: SD1_FAMILY, "SD 1.5 LCM": SD1_FAMILY, "SD 1.5 Hyper": SD1_FAMILY,
    "SD 2.0": SD2_FAMILY, "SD 2.0 768": SD2_FAMILY, SD2: SD2_FAMILY, "SD 2.1 768": SD2_FAMILY,
    "SD 2.1 Unclip": SD2_FAMILY,
    "SDXL 0.9": SDXL_FAMILY, SDXL: SDXL_FAMILY, "SDXL 1.0 LCM": SDXL_FAMILY, "SDXL Turbo": SDXL_FAMILY,
    "SDXL Lightning": SDXL_FAMILY, "SDXL Hyper": SDXL_FAMILY, "SDXL Distilled": SDXL_FAMILY, "Pony": SDXL_FAMILY,
    "Illustrious": SDXL_FAMILY, "NoobAI": SDXL_FAMILY,
    OTHER_BASE: OTHER_FAMILY,
}
BASE_MODELS = tuple(FAMILY_OF)  # Civitai's names, in the order a picker lists them

FAMILY_NAMES = {"SD 1.x": SD1_FAMILY, "SD 2.x": SD2_FAMILY, "SDXL": SDXL_FAMILY, "other": OTHER_FAMILY}
USUAL_NAME = {SD1_FAMILY: SD1, SD2_FAMILY: SD2, SDXL_FAMILY: SDXL, OTHER_FAMILY: OTHER_BASE}


def family_of(base_model: str) -> str:
    """The family of a base model name (Civitai's or a family name); ``other`` for anything unknown."""
    return FAMILY_OF.get(base_model) or FAMILY_NAMES.get(base_model, OTHER_FAMILY)


def stored_name(base_model: str) -> str | None:
    """The name to store for one a user or client sent: Civitai's names as they are, a family name as the
    family's usual name; None when it is neither."""
    if base_model in FAMILY_OF:
        return base_model
    family = FAMILY_NAMES.get(base_model)
    return USUAL_NAME[family] if family else None


def matching_names(wanted: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """Every stored name a filter for ``wanted`` matches: a Civitai name itself, a family name all of its family's
    names.  Unknown names match nothing (the caller decides whether that is an error)."""
    names: dict[str, None] = {}
    for name in wanted:
        if name in FAMILY_OF:
            names[name] = None
        elif name in FAMILY_NAMES:
            names.update(dict.fromkeys(n for n, family in FAMILY_OF.items() if family == FAMILY_NAMES[name]))
    return tuple(names)
