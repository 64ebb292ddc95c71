"""What a run takes from the library: the checkpoint, LoRAs and textual-inversion embeddings the user may use,
each checked to fit the checkpoint's family of base models."""

from __future__ import annotations

from pathlib import Path

from core.accounts.accounts import UserInfo
from core.errors import InvalidInput, NotFound
from core.library.base_models import OTHER_FAMILY, family_of
from core.library.library import get_model, visible_models
from core.library.model_records import FileRecord, ModelRecord
from core.tables import AiModel, ModelFile, ModelVersion


def models_of_type(actor: UserInfo | None, kind: str) -> list[ModelRecord]:
    """The models of one type (``checkpoint``, ``lora``, ``vae``...) the actor may see, demo last, by name."""
    from core.library.model_records import model_records

    rows = visible_models(actor).where(AiModel.type == kind).order_by(AiModel.is_demo, AiModel.name)
    return model_records(rows)


def checkpoint_choices(actor: UserInfo | None) -> list[ModelRecord]:
    """Checkpoints the actor may generate with, demo last unless it is the only one."""
    return models_of_type(actor, "checkpoint")


def primary_file(model: ModelRecord) -> FileRecord:
    """The model's main file: the newest version's primary file."""
    for version in model.versions:
        for record in version.files:
            return record
    raise NotFound(f"the model {model.name!r} has no file")


def find_checkpoint(actor: UserInfo | None, model_id: int | None = None, model_hash: str | None = None,
                    model_name: str | None = None) -> tuple[ModelRecord, FileRecord]:
    """The checkpoint by id, else by hash, else by name or title (none: the first the actor may use)."""
    if model_id is not None:
        model = get_model(actor, model_id)
    elif model_hash:
        from core.library.library import find_version_by_hash

        model, _ = find_version_by_hash(actor, model_hash)
    else:
        choices = checkpoint_choices(actor)
        wanted = (model_name or "").strip()
        named = [m for m in choices if wanted and wanted in (m.name, title_of(m), primary_file(m).original_name)]
        if wanted and not named:
            raise NotFound(f"no checkpoint named {wanted!r}")
        if not (named or choices):
            raise NotFound("there is no checkpoint in the library yet: upload one or drop it into models_dir/")
        model = (named or choices)[0]
    if model.type != "checkpoint":
        raise InvalidInput(f"{model.name!r} is a {model.type}, not a checkpoint")
    return model, primary_file(model)


def title_of(model: ModelRecord) -> str:
    """A1111's checkpoint title: ``name [hash]``."""
    return f"{model.name} [{primary_file(model).autov2}]"


class LoraDoesNotFit(InvalidInput):
    """A LoRA made for another family of base models than the checkpoint's (its layers would not fit)."""

    def __init__(self, lora: str, lora_base: str, checkpoint: str, checkpoint_base: str):
        super().__init__(f"the LoRA {lora!r} is made for {lora_base} and does not fit the checkpoint {checkpoint!r} "
                         f"({checkpoint_base}): remove its <lora:…> tag or choose a {lora_base} checkpoint")
        self.lora, self.lora_base, self.checkpoint, self.checkpoint_base = lora, lora_base, checkpoint, checkpoint_base


def fits(lora_base: str, checkpoint_base: str) -> bool:
    """Whether a LoRA of one base model can be applied to a checkpoint of another: the same family (a base the
    library cannot place, "Other", is given the benefit of the doubt)."""
    families = {family_of(lora_base), family_of(checkpoint_base)}
    return len(families) == 1 or OTHER_FAMILY in families


def check_loras_fit(model: ModelRecord, loras: list[tuple[str, float, FileRecord]], bases: dict[str, str]) -> None:
    """Raise ``LoraDoesNotFit`` for the first LoRA (by tag name, its base model in ``bases``) that does not fit."""
    for name, _weight, _record in loras:
        if not fits(bases[name], model.base_model):
            raise LoraDoesNotFit(name, bases[name], model.name, model.base_model)


def resolve_loras(actor: UserInfo | None, names: list[tuple[str, float]],
                  checkpoint: ModelRecord | None = None) -> list[tuple[str, float, FileRecord]]:
    """Map ``<lora:NAME:W>`` names to LoRA files by model name or file name (case-insensitive); with a
    ``checkpoint``, each must fit it (``LoraDoesNotFit``)."""
    from core.library.model_records import file_record

    found, bases = [], {}
    for name, weight in names:
        key = name.lower()
        rows = (ModelFile.select(ModelFile, ModelVersion, AiModel).join(ModelVersion).join(AiModel)
                .where(AiModel.id.in_(visible_models(actor).select(AiModel.id)), AiModel.type == "lora"))
        match = next((r for r in rows if key in (r.version.model.name.lower(), Path(r.original_name).stem.lower())),
                     None)
        if match is None:
            raise InvalidInput(f"unknown LoRA {name!r}: add it to the library, or fix the name in <lora:{name}:…>")
        found.append((name, weight, file_record(match)))
        bases[name] = match.version.base_model
    if checkpoint is not None:
        check_loras_fit(checkpoint, found, bases)
    return found


def lora_tag(model: ModelRecord) -> str:
    """The ``<lora:NAME:WEIGHT>`` tag for a LoRA: its name (its file's stem if the name cannot be a tag name)
    and its default weight (1 if none)."""
    name = model.name.strip()
    if not name or set(name) & set(":<>"):
        name = Path(primary_file(model).original_name).stem
    weight = next((v.default_weight for v in model.versions if v.default_weight), None) or 1.0
    return f"<lora:{name}:{weight:g}>"


class EmbeddingDoesNotFitCheckpoint(InvalidInput):
    def __init__(self, name: str, base: str, checkpoint: ModelRecord):
        super().__init__(f"the embedding {name!r} is made for {base} and does not fit the checkpoint "
                         f"{checkpoint.name!r} ({checkpoint.base_model}): take it out of the prompt or choose a "
                         f"{base} checkpoint")


def embedding_name(model: ModelRecord) -> str:
    """The word that calls an embedding in a prompt: its file's stem, as in A1111's embeddings folder."""
    return Path(primary_file(model).original_name).stem


def resolve_embeddings(actor: UserInfo | None, checkpoint: ModelRecord, *prompts: str) \
        -> list[tuple[str, FileRecord]]:
    """``[(name, file)]`` for the library's embeddings the prompts call by name (or by model name), each checked
    to fit ``checkpoint`` (``EmbeddingDoesNotFitCheckpoint``)."""
    from core.generation.embeddings import used_names

    found = []
    for model in models_of_type(actor, "embedding"):
        name = embedding_name(model)
        if not used_names([name, model.name], *prompts):
            continue
        if not fits(model.base_model, checkpoint.base_model):
            raise EmbeddingDoesNotFitCheckpoint(name, model.base_model, checkpoint)
        found.append((name, primary_file(model)))
    return found
