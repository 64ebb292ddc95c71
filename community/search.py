"""Search: the only module that knows how text search is done.

(Plain substring matching for now; full-text search replaces the inside of
these functions without changing their callers.)
"""

from __future__ import annotations

from core.store import AiModel, ModelTag, Tag


def matching_model_ids(text: str):
    """A sub-query of the ids of models matching ``text`` (name, description, tags, trigger words)."""
    pattern = f"%{text.strip()}%"
    tagged = ModelTag.select(ModelTag.model).join(Tag).where(Tag.name ** pattern)
    return AiModel.select(AiModel.id).where(
        (AiModel.name ** pattern) | (AiModel.description ** pattern) | (AiModel.trigger_words ** pattern)
        | AiModel.id.in_(tagged))


def matching_file_ids(text: str):
    """A sub-query of the ids of files whose original name matches ``text``."""
    from core.store import ModelFile

    return ModelFile.select(ModelFile.id).where(ModelFile.original_name ** f"%{text.strip()}%")
