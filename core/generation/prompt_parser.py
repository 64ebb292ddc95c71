"""A1111's prompt syntax, read as its web UI reads it (``modules/prompt_parser.py`` and ``sd_hijack_clip.py``).

- Emphasis: ``(word)`` × 1.1, ``[word]`` ÷ 1.1, ``(word:1.3)`` × 1.3, nesting multiplies, an unclosed bracket
  still counts; ``\\(`` ``\\)`` ``\\[`` ``\\]`` are literal brackets.
- ``BREAK`` (upper case, a word of its own) ends the current 75-token chunk.
- Chunks: the prompt's tokens are cut into chunks of 75 (each encoded as 77 with its start and end tokens), and
  a cut that would split the last words after a comma (within 20 tokens) moves them to the next chunk instead.

Plain Python (the tokenizer is passed in): no torch here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

ROUND_BRACKET = 1.1
SQUARE_BRACKET = 1 / 1.1
CHUNK_LENGTH = 75
COMMA_PADDING_BACKTRACK = 20  # A1111's default for its option of that name
BREAK = ("BREAK", -1.0)

_ATTENTION = re.compile(r"""
\\\(|
\\\)|
\\\[|
\\]|
\\\\|
\\|
\(|
\[|
:\s*([+-]?[.\d]+)\s*\)|
\)|
]|
[^\\()\[\]:]+|
:
""", re.X)
_BREAK = re.compile(r"\s*\bBREAK\b\s*", re.S)


def parse_prompt_attention(text: str) -> list[tuple[str, float]]:
    """``[(text, weight), ...]`` with runs of equal weight merged; ``BREAK`` comes out as ``("BREAK", -1.0)``."""
    parts: list[list] = []
    round_open: list[int] = []
    square_open: list[int] = []

    def multiply_from(start: int, factor: float) -> None:
        for part in parts[start:]:
            part[1] *= factor

    for match in _ATTENTION.finditer(text):
        piece, weight = match.group(0), match.group(1)
        if piece.startswith("\\"):
            parts.append([piece[1:], 1.0])
        elif piece == "(":
            round_open.append(len(parts))
        elif piece == "[":
            square_open.append(len(parts))
        elif weight is not None and round_open:
            multiply_from(round_open.pop(), float(weight))
        elif piece == ")" and round_open:
            multiply_from(round_open.pop(), ROUND_BRACKET)
        elif piece == "]" and square_open:
            multiply_from(square_open.pop(), SQUARE_BRACKET)
        else:
            for index, words in enumerate(_BREAK.split(piece)):
                if index > 0:
                    parts.append(list(BREAK))
                parts.append([words, 1.0])
    for start in round_open:
        multiply_from(start, ROUND_BRACKET)
    for start in square_open:
        multiply_from(start, SQUARE_BRACKET)
    return _merged(parts or [["", 1.0]])


def _merged(parts: list[list]) -> list[tuple[str, float]]:
    out: list[list] = []
    for piece, weight in parts:
        if out and out[-1][1] == weight:
            out[-1][0] += piece
        else:
            out.append([piece, weight])
    return [(piece, weight) for piece, weight in out]


@dataclass
class PromptChunk:
    """77 token ids (start, 75, end) and a weight for each."""

    tokens: list[int] = field(default_factory=list)
    weights: list[float] = field(default_factory=list)


def chunk_tokens(fragments: list[tuple[list[int], float]], *, start: int, end: int, pad: int, comma: int | None) \
        -> list[PromptChunk]:
    """A1111's ``tokenize_line``: the fragments' tokens (``BREAK`` fragments as ``(None, -1)``) in chunks of 77."""
    chunks: list[PromptChunk] = []
    current = PromptChunk()
    last_comma = -1

    def close() -> None:
        nonlocal current, last_comma
        body = len(current.tokens)
        current.tokens = [start, *current.tokens, end, *[pad] * (CHUNK_LENGTH - body)]
        current.weights = [1.0, *current.weights, 1.0, *[1.0] * (CHUNK_LENGTH - body)]
        chunks.append(current)
        current, last_comma = PromptChunk(), -1

    for tokens, weight in fragments:
        if tokens is None:  # BREAK
            close()
            continue
        for token in tokens:
            if token == comma:
                last_comma = len(current.tokens)
            elif (len(current.tokens) == CHUNK_LENGTH and last_comma != -1
                  and len(current.tokens) - last_comma <= COMMA_PADDING_BACKTRACK):
                moved = current.tokens[last_comma + 1:], current.weights[last_comma + 1:]
                del current.tokens[last_comma + 1:], current.weights[last_comma + 1:]
                close()
                current.tokens, current.weights = list(moved[0]), list(moved[1])
            if len(current.tokens) == CHUNK_LENGTH:
                close()
            current.tokens.append(token)
            current.weights.append(weight)
    if current.tokens or not chunks:
        close()
    return chunks


def tokenize_prompt(tokenizer, text: str) -> list[PromptChunk]:
    """The prompt's chunks for one CLIP tokenizer (its start, end and padding tokens)."""
    fragments = parse_prompt_attention(text)
    ids = tokenizer([piece for piece, weight in fragments if (piece, weight) != BREAK], add_special_tokens=False,
                    truncation=False)["input_ids"]
    tokenized = iter(ids)
    pieces = [(None, -1.0) if (piece, weight) == BREAK else (next(tokenized), weight) for piece, weight in fragments]
    comma = tokenizer.convert_tokens_to_ids(",</w>")  # one lookup (get_vocab() copies all 49,408 entries)
    comma = None if comma == tokenizer.unk_token_id else comma
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    return chunk_tokens(pieces, start=tokenizer.bos_token_id, end=tokenizer.eos_token_id, pad=pad, comma=comma)
