"""Prompts to text embeddings as A1111 makes them, handed to diffusers as ``prompt_embeds``.

Each prompt is cut into 77-token chunks (``core.generation.prompt_parser``); each chunk goes through the text
encoder(s) on its own, its vectors are multiplied by their emphasis weights and scaled back to the chunk's
original mean (A1111's ``process_tokens``), and the chunks are concatenated, so a prompt of any length counts.
The prompt and the negative prompt are padded with empty chunks to the same length.

- SD 1.x / 2.x: the encoder's last layer (``clip_skip`` k > 1: the k-th from last, through the final layer norm,
  as A1111's "Clip skip").
- SDXL: both encoders' penultimate layers side by side (``clip_skip`` k: one more layer back each), the pooled
  vector from the second encoder's first chunk; an empty negative prompt is zeros when the model asks for that
  (``force_zeros_for_empty_prompt``), as diffusers does.

A one-chunk prompt without emphasis gives exactly the embeddings diffusers' own ``encode_prompt`` gives.
"""

from __future__ import annotations

from core.generation.embeddings import spelled_as_loaded
from core.generation.prompt_parser import PromptChunk, tokenize_prompt


def _encoders(pipe) -> list[tuple]:
    pairs = [(pipe.tokenizer, pipe.text_encoder)]
    if getattr(pipe, "text_encoder_2", None) is not None:
        pairs.append((pipe.tokenizer_2, pipe.text_encoder_2))
    return pairs


def _expand_embedding_tokens(pipe, text: str, tokenizer) -> str:
    """Loaded textual inversions spelled as loaded, and a multi-vector one named ``x`` written ``x x_1 x_2 ...``
    (diffusers' loader adds one token per vector)."""
    loaded = [token.content for token in tokenizer.added_tokens_decoder.values() if not token.special]
    text = spelled_as_loaded(text, loaded)
    convert = getattr(pipe, "maybe_convert_prompt", None)
    return convert(text, tokenizer) if convert is not None else text


def _layer(encoder, ids, clip_skip: int, is_sdxl: bool):
    """The hidden states A1111 conditions on, and the pooled vector (SDXL's second encoder)."""
    output = encoder(ids, output_hidden_states=True)
    if is_sdxl:
        return output.hidden_states[-(clip_skip + 1)], output[0]
    if clip_skip <= 1:
        return output.last_hidden_state, None
    transformer = getattr(encoder, "text_model", encoder)
    return transformer.final_layer_norm(output.hidden_states[-clip_skip]), None


def _encode_chunk(pipe, chunks: list[PromptChunk], clip_skip: int):
    """One chunk position through each encoder (``chunks`` holds that chunk for each tokenizer)."""
    import torch

    is_sdxl = len(chunks) == 2
    states, pooled = [], None
    for (_tokenizer, encoder), chunk in zip(_encoders(pipe), chunks):
        ids = torch.tensor([chunk.tokens], device=encoder.device)
        hidden, pool = _layer(encoder, ids, clip_skip, is_sdxl)
        states.append(hidden)
        pooled = pool if pool is not None else pooled
    z = torch.cat(states, dim=-1)
    weights = torch.tensor(chunks[0].weights, dtype=z.dtype, device=z.device).reshape(1, -1, 1)
    if bool((weights != 1).any()):
        original_mean = z.mean()
        z = z * weights
        z = z * (original_mean / z.mean())
    return z, pooled


def _chunks(pipe, text: str) -> list[list[PromptChunk]]:
    """For each tokenizer, the text's chunks."""
    return [tokenize_prompt(tokenizer, _expand_embedding_tokens(pipe, text, tokenizer))
            for tokenizer, _encoder in _encoders(pipe)]


def _padded(per_tokenizer: list[list[PromptChunk]], count: int, empty: list[list[PromptChunk]]):
    """Chunk positions ``0 … count-1``: ``[chunk for each tokenizer]``, an empty chunk past the text's end."""
    return [[chunks[i] if i < len(chunks) else blank[0] for chunks, blank in zip(per_tokenizer, empty)]
            for i in range(count)]


def _embed(pipe, positions, clip_skip: int):
    import torch

    encoded = [_encode_chunk(pipe, chunks, clip_skip) for chunks in positions]
    return torch.cat([z for z, _ in encoded], dim=1), encoded[0][1]


def encode_prompts(pipe, prompt: str, negative_prompt: str, clip_skip: int = 1) -> dict:
    """diffusers' keyword arguments for the two prompts: ``prompt_embeds``, ``negative_prompt_embeds`` (and the
    pooled ones on SDXL)."""
    import torch

    positive, negative, empty = _chunks(pipe, prompt), _chunks(pipe, negative_prompt), _chunks(pipe, "")
    count = max(len(positive[0]), len(negative[0]))
    with torch.inference_mode():
        embeds, pooled = _embed(pipe, _padded(positive, count, empty), clip_skip)
        negative_embeds, negative_pooled = _embed(pipe, _padded(negative, count, empty), clip_skip)
    kwargs = {"prompt_embeds": embeds, "negative_prompt_embeds": negative_embeds}
    if pooled is not None:
        if not negative_prompt and getattr(pipe.config, "force_zeros_for_empty_prompt", False):
            negative_embeds, negative_pooled = torch.zeros_like(embeds), torch.zeros_like(pooled)
            kwargs["negative_prompt_embeds"] = negative_embeds
        kwargs |= {"pooled_prompt_embeds": pooled, "negative_pooled_prompt_embeds": negative_pooled}
    return kwargs
