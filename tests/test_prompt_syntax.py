"""A1111's prompt syntax and textual-inversion embeddings on the generation engine: emphasis, prompts past 77
tokens, BREAK and clip skip change the picture as in A1111; an embedding named in the negative prompt is used for
that run only; on tiny random-weight SD 1.x and SDXL models (tests/tiny_models.py)."""

from __future__ import annotations

import numpy as np
import pytest

from core.generation.prompt_parser import CHUNK_LENGTH, chunk_tokens, parse_prompt_attention
from tests.tiny_models import build_tiny_sd15, tiny_sdxl_pipeline

# A1111's own examples (modules/prompt_parser.py, parse_prompt_attention's docstring).
A1111_EXAMPLES = [
    ("normal text", [("normal text", 1.0)]),
    ("an (important) word", [("an ", 1.0), ("important", 1.1), (" word", 1.0)]),
    ("(unbalanced", [("unbalanced", 1.1)]),
    ("\\(literal\\]", [("(literal]", 1.0)]),
    ("(unnecessary)(parens)", [("unnecessaryparens", 1.1)]),
    ("a (((house:1.3)) [on] a (hill:0.5), sun, (((sky))).",
     [("a ", 1.0), ("house", 1.5730000000000004), (" ", 1.1), ("on", 1.0), (" a ", 1.1), ("hill", 0.55),
      (", sun, ", 1.1), ("sky", 1.4641000000000006), (".", 1.1)]),
]


@pytest.mark.parametrize("text, parsed", A1111_EXAMPLES)
def test_emphasis_is_read_as_a1111_reads_it(text, parsed):
    assert parse_prompt_attention(text) == parsed


def test_break_and_chunks_of_75_with_the_comma_backtrack():
    assert parse_prompt_attention("a castle BREAK a moat") == [("a castle", 1.0), ("BREAK", -1.0), ("a moat", 1.0)]
    words = [(list(range(10, 90)), 1.0)]  # 80 tokens: 75, then 5
    first, second = chunk_tokens(words, start=1, end=2, pad=0, comma=None)
    assert len(first.tokens) == len(second.tokens) == CHUNK_LENGTH + 2
    assert first.tokens[0] == 1 and first.tokens[-1] == 2 and first.tokens[1:76] == list(range(10, 85))
    assert second.tokens[1:7] == [85, 86, 87, 88, 89, 2] and set(second.tokens[7:]) == {0}
    broken = chunk_tokens([([5, 6], 1.3), (None, -1.0), ([7], 1.0)], start=1, end=2, pad=0, comma=None)
    assert [c.tokens[:4] for c in broken] == [[1, 5, 6, 2], [1, 7, 2, 0]]
    assert broken[0].weights[:4] == [1.0, 1.3, 1.3, 1.0]
    comma = 99  # a comma 10 tokens before the cut: the words after it move to the next chunk whole
    with_comma = [(list(range(100, 165)) + [comma] + list(range(200, 215)), 1.0)]
    cut, rest = chunk_tokens(with_comma, start=1, end=2, pad=0, comma=comma)
    assert cut.tokens[66] == comma and cut.tokens[67] == 2 and rest.tokens[1:16] == list(range(200, 215))


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    import torch

    torch.set_num_threads(1)
    return build_tiny_sd15(tmp_path_factory.mktemp("tiny"))


@pytest.fixture(scope="module")
def pipe(tiny):
    from core.pipeline import load_pipeline

    return load_pipeline(tiny.single_file, device="cpu")


def image(pipe, prompt: str, negative: str = "", embeddings=(), **fields) -> np.ndarray:
    from core.generation.diffusion import GenerationRequest, generate

    request = GenerationRequest(prompt, negative, width=64, height=64, steps=3, seed=17, **fields)
    [(picture, _seed)] = generate(pipe, request, embeddings=embeddings)
    return np.asarray(picture, dtype=np.int16)


def differs(a: np.ndarray, b: np.ndarray) -> bool:
    return bool(np.abs(a - b).max() > 0)


def test_emphasis_long_prompts_break_and_clip_skip_change_the_picture(pipe):
    plain = image(pipe, "a red house on a hill")
    assert not differs(plain, image(pipe, "a red house on a hill"))
    assert not differs(plain, image(pipe, "a red (house:1.0) on a hill"))  # weight 1 is no weight
    assert differs(plain, image(pipe, "a red (house:1.5) on a hill"))
    assert differs(plain, image(pipe, "a red [house] on a hill"))
    assert differs(plain, image(pipe, "a red house BREAK on a hill"))
    assert differs(plain, image(pipe, "a red house on a hill", clip_skip=2))
    words = " ".join(f"word{i}" for i in range(200))  # ~ 400 tokens: six chunks
    head = pipe.tokenizer.decode(pipe.tokenizer(words, add_special_tokens=False)["input_ids"][:75])
    assert differs(image(pipe, words), image(pipe, head))  # the rest of the prompt counts (no cut at 77)


def save_embedding(path, width: int, vectors: int = 2, seed: int = 3, sdxl_widths: tuple | None = None):
    import torch
    from safetensors.torch import save_file

    generator = torch.Generator().manual_seed(seed)
    if sdxl_widths:
        tensors = {key: torch.randn(vectors, w, generator=generator) for key, w in zip(("clip_l", "clip_g"), sdxl_widths)}
    else:
        tensors = {"emb_params": torch.randn(vectors, width, generator=generator)}
    save_file(tensors, str(path))
    return path


def test_an_embedding_in_the_negative_prompt_changes_the_picture_for_that_run_only(pipe, tmp_path):
    from core.generation.embeddings import EmbeddingDoesNotFit

    embedding = save_embedding(tmp_path / "tinyneg.safetensors", width=32)
    vocabulary = len(pipe.tokenizer)
    rows = pipe.text_encoder.get_input_embeddings().weight.shape[0]
    without = image(pipe, "a lighthouse", "tinyneg, blurry")
    used = image(pipe, "a lighthouse", "TinyNeg, blurry", embeddings=[(embedding, "tinyneg")])  # any case
    assert differs(without, used)
    assert not differs(used, image(pipe, "a lighthouse", "tinyneg, blurry", embeddings=[(embedding, "tinyneg")]))
    assert len(pipe.tokenizer) == vocabulary  # unloaded after the run: the cached model is as it was
    assert pipe.text_encoder.get_input_embeddings().weight.shape[0] == rows
    assert not differs(without, image(pipe, "a lighthouse", "tinyneg, blurry"))
    wide = save_embedding(tmp_path / "wide.safetensors", width=768)
    with pytest.raises(EmbeddingDoesNotFit, match="made for another base model"):
        image(pipe, "a lighthouse", "wide", embeddings=[(wide, "wide")])
    assert len(pipe.tokenizer) == vocabulary


def test_sdxl_prompts_and_embeddings_use_both_text_encoders(tmp_path):
    import torch

    from core.generation.prompt_encoding import encode_prompts

    xl = tiny_sdxl_pipeline()
    xl.set_progress_bar_config(disable=True)
    with torch.inference_mode():
        ours = encode_prompts(xl, "a castle", "")
        theirs = xl.encode_prompt("a castle", device="cpu", num_images_per_prompt=1, do_classifier_free_guidance=True)
    for mine, diffusers in zip((ours["prompt_embeds"], ours["negative_prompt_embeds"], ours["pooled_prompt_embeds"],
                                ours["negative_pooled_prompt_embeds"]), theirs):
        assert torch.equal(mine, diffusers)  # one plain chunk: exactly what diffusers makes
    long = encode_prompts(xl, " ".join(["castle"] * 100), "moat")
    assert long["prompt_embeds"].shape == (1, 154, 80) == long["negative_prompt_embeds"].shape
    embedding = save_embedding(tmp_path / "xlneg.safetensors", width=0, sdxl_widths=(32, 48))
    before = image(xl, "a castle", "xlneg")
    after = image(xl, "a castle", "xlneg", embeddings=[(embedding, "xlneg")])
    assert differs(before, after)
    for tokenizer in (xl.tokenizer, xl.tokenizer_2):  # both encoders had it, and it is gone from both
        assert not [token for token in tokenizer.added_tokens_decoder.values() if not token.special]
