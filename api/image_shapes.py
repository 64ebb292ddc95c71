"""Civitai-shaped JSON for images: the ``/images`` listing's records and the sample images of a model version."""

from __future__ import annotations

from fastapi import Request

from community.gallery import ImageRecord

from .shapes import base_url

META_NAMES = {"Prompt": "prompt", "Negative prompt": "negativePrompt", "Seed": "seed", "Steps": "steps",
              "Sampler": "sampler", "CFG scale": "cfgScale"}
META_TYPES = {"seed": int, "steps": int, "cfgScale": float}
# Civitai's browsing levels are bit flags (1 PG, 2 PG-13, 4 R, 8 X, 16 XXX) and its images' ``nsfwLevel`` names;
# a rating here is one of them.
PG = 1
BROWSING_LEVELS = {"safe": PG, "mature": 4, "explicit": 8}
NSFW_NAMES = {"safe": "None", "mature": "Mature", "explicit": "X"}


def rating_json(rating: str) -> dict:
    """Civitai's fields for a content rating: ``nsfw``, ``nsfwLevel`` (a name) and ``browsingLevel``, and ours."""
    return {"nsfw": rating != "safe", "nsfwLevel": NSFW_NAMES[rating], "browsingLevel": BROWSING_LEVELS[rating],
            "rating": rating}


def _typed(name: str, value):
    try:
        return META_TYPES[name](value) if name in META_TYPES else value
    except (TypeError, ValueError):
        return value


def civitai_meta(image: ImageRecord) -> dict | None:
    """The parsed A1111 parameters under Civitai's names (``prompt``, ``cfgScale``, ``Size``, ``Model hash`` ...)."""
    meta = image.meta
    if not meta and not image.prompt:
        return None
    out = {"prompt": image.prompt, "negativePrompt": image.negative_prompt}
    for key, value in meta.items():
        if key in ("Lora hashes dict", "TI hashes dict") or key.endswith("-2"):
            continue
        if key.endswith("-1") and f"{key[:-2]}-2" in meta:
            out[key[:-2]] = f"{value}x{meta[key[:-2] + '-2']}"
        else:
            out[META_NAMES.get(key, key)] = _typed(META_NAMES.get(key, key), value)
    return out | civitai_resources(meta)


def civitai_resources(meta: dict) -> dict:
    """Civitai's ``hashes`` and ``resources``: the checkpoint, LoRAs and embeddings the infotext names by hash
    (``Model hash``, ``Lora hashes``, ``TI hashes``), which is how Civitai matches an image to what made it."""
    found = [("model", meta.get("Model") or "", meta["Model hash"])] if meta.get("Model hash") else []
    found += [("lora", name, digest) for name, digest in (meta.get("Lora hashes dict") or {}).items()]
    found += [("embed", name, digest) for name, digest in (meta.get("TI hashes dict") or {}).items()]
    if not found:
        return {}
    return {"hashes": {kind if kind == "model" else f"{kind}:{name}": digest for kind, name, digest in found},
            "resources": [{"name": name, "type": kind, "hash": digest} for kind, name, digest in found]}


def image_url(request: Request, image: ImageRecord) -> str:
    return f"{base_url(request)}/media/{image.path}"


def image_json(request: Request, image: ImageRecord) -> dict:
    """An item of ``/api/v1/images``."""
    return {
        "id": image.id, "url": image_url(request, image), "hash": image.blurhash,
        "width": image.width, "height": image.height, **rating_json(image.rating), "type": "image", "createdAt": image.published_at or image.created_at, "published": image.published,
        "postId": image.post_id, "username": image.username, "baseModel": image.base_model,
        "modelId": image.model_id, "modelVersionId": image.model_version_id,
        "modelVersionIds": [image.model_version_id] if image.model_version_id else [],
        "stats": {"likeCount": image.like_count, "heartCount": 0, "laughCount": 0, "cryCount": 0,
                  "dislikeCount": 0, "commentCount": image.comment_count},
        "meta": civitai_meta(image),
        "post": ({"title": image.post.title, "description": image.post.description, "tags": list(image.post.tags)}
                 if image.post else None),
    }


def version_image_json(request: Request, image: ImageRecord) -> dict:
    """An item of a model version's ``images``."""
    meta = civitai_meta(image)
    return {"id": image.id, "url": image_url(request, image), "nsfwLevel": BROWSING_LEVELS[image.rating],
            "width": image.width,
            "height": image.height, "hash": image.blurhash, "type": "image", "hasMeta": meta is not None,
            "onSite": True, "meta": meta}
