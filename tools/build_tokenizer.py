"""Derive the CLIP tokenizer files shipped in ``core/pipeline_configs``.

Stable Diffusion 1.x/2.x/XL all tokenize with OpenAI's CLIP byte-level BPE. Its
merge list (OpenAI CLIP, MIT) is kept once, as ``clip_tokenizer/merges.txt`` with
the ``vocab.json`` derived from it; each config's ``tokenizer*/`` folder holds its
own ``special_tokens_map.json`` and ``tokenizer_config.json`` (``model_max_length``
77, its pad token) and relative symlinks to those two shared files, so the 1.5 MB
of BPE data is in the tree once, not four times.

The vocabulary is built exactly as OpenAI's ``simple_tokenizer.py`` builds it:
the 256 byte symbols, the same with ``</w>``, one token per merge, then the two
special tokens, giving 49408 ids (``<|startoftext|>`` = 49406,
``<|endoftext|>`` = 49407).

Usage: ``python tools/build_tokenizer.py [--bpe PATH | --from-wheel WHEEL] [--check]``.
Without arguments it (re)writes every file from the committed ``merges.txt``;
``--bpe`` takes OpenAI's ``bpe_simple_vocab_16e6.txt.gz`` instead, and
``--from-wheel`` reads that ``.gz`` out of an ``open_clip_torch`` wheel (``pip
download --no-deps open-clip-torch``); ``--check`` only verifies the committed
files are what the script would write (exit 1 if not).
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
import tempfile
import zipfile
from pathlib import Path

CONFIGS_DIR = Path(__file__).resolve().parent.parent / "core" / "pipeline_configs"
SHARED_DIR = CONFIGS_DIR / "clip_tokenizer"
SHARED_FILES = ("vocab.json", "merges.txt")
WHEEL_MEMBER = "open_clip/bpe_simple_vocab_16e6.txt.gz"

BOS = "<|startoftext|>"
EOS = "<|endoftext|>"
# OpenAI's tokenizer uses 49152 - 256 - 2 merges (the first line is a header).
NUM_MERGES = 49152 - 256 - 2

# folder (relative to CONFIGS_DIR) -> pad token. OpenCLIP-trained encoders
# (SD 2.x, SDXL's second encoder) pad with "!" (id 0), as the published configs do.
TOKENIZER_FOLDERS = {
    "sd15/tokenizer": EOS,
    "sd2/tokenizer": "!",
    "sdxl/tokenizer": EOS,
    "sdxl/tokenizer_2": "!",
}


def bytes_to_unicode() -> dict[int, str]:
    """GPT-2/CLIP's reversible byte -> printable unicode character table."""
    printable = (
        list(range(ord("!"), ord("~") + 1))
        + list(range(ord("¡"), ord("¬") + 1))
        + list(range(ord("®"), ord("ÿ") + 1))
    )
    codes = printable[:]
    extra = 0
    for b in range(256):
        if b not in printable:
            printable.append(b)
            codes.append(256 + extra)
            extra += 1
    return dict(zip(printable, (chr(c) for c in codes)))


def read_merges(source: Path) -> list[tuple[str, str]]:
    """The merges of OpenAI's ``.gz`` list or of a ``merges.txt`` (both start with one header line)."""
    raw = gzip.open(source).read() if source.suffix == ".gz" else source.read_bytes()
    lines = raw.decode("utf-8").split("\n")
    merges = [tuple(line.split()) for line in lines[1 : NUM_MERGES + 1]]
    if len(merges) != NUM_MERGES or any(len(m) != 2 for m in merges):
        raise ValueError(f"{source} is not a CLIP BPE merge list")
    return merges


def build_vocab(merges: list[tuple[str, str]]) -> dict[str, int]:
    symbols = list(bytes_to_unicode().values())
    tokens = symbols + [s + "</w>" for s in symbols]
    tokens += ["".join(m) for m in merges]
    tokens += [BOS, EOS]
    return {tok: i for i, tok in enumerate(tokens)}


def shared_files(merges: list[tuple[str, str]]) -> dict[str, str]:
    """The file name -> text of the one copy of the BPE data."""
    return {
        "vocab.json": json.dumps(build_vocab(merges), ensure_ascii=False) + "\n",
        "merges.txt": "#version: 0.2\n" + "".join(f"{a} {b}\n" for a, b in merges),
    }


def tokenizer_files(pad_token: str) -> dict[str, str]:
    """The file name -> text of one tokenizer folder's own files."""
    special = {"bos_token": BOS, "eos_token": EOS, "pad_token": pad_token, "unk_token": EOS}
    config = {
        "add_prefix_space": False,
        **special,
        "clean_up_tokenization_spaces": True,
        "do_lower_case": True,
        "errors": "replace",
        "model_max_length": 77,
        "tokenizer_class": "CLIPTokenizer",
    }
    return {
        "special_tokens_map.json": json.dumps(special, indent=2) + "\n",
        "tokenizer_config.json": json.dumps(config, indent=2) + "\n",
    }


def _write(path: Path, text: str, check: bool) -> bool:
    """Write ``text`` to ``path`` unless it is there already; whether it was stale."""
    if path.exists() and not path.is_symlink() and path.read_text(encoding="utf-8") == text:
        return False
    if not check:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.unlink(missing_ok=True)
        path.write_text(text, encoding="utf-8")
    return True


def _link(path: Path, check: bool) -> bool:
    """Make ``path`` a relative symlink to its shared file; whether it was stale."""
    target = Path("..", "..", SHARED_DIR.name, path.name)
    if path.is_symlink() and Path(path.readlink()) == target:
        return False
    if not check:
        path.unlink(missing_ok=True)
        path.symlink_to(target)
    return True


def write_all(bpe_path: Path | None = None, check: bool = False) -> list[Path]:
    """Write (or with ``check`` compare) the shared BPE files and every tokenizer folder; the stale files."""
    merges = read_merges(bpe_path or SHARED_DIR / "merges.txt")
    stale = [SHARED_DIR / name for name, text in shared_files(merges).items() if _write(SHARED_DIR / name, text, check)]
    for folder, pad in TOKENIZER_FOLDERS.items():
        out_dir = CONFIGS_DIR / folder
        stale += [out_dir / name for name, text in tokenizer_files(pad).items() if _write(out_dir / name, text, check)]
        stale += [out_dir / name for name in SHARED_FILES if _link(out_dir / name, check)]
    return stale


def extract_from_wheel(wheel: Path, dest: Path) -> Path:
    """Copy OpenAI's BPE list out of an ``open_clip_torch`` wheel (a zip) to ``dest``; nothing is installed."""
    with zipfile.ZipFile(wheel) as archive:
        data = archive.read(WHEEL_MEMBER)
    dest.write_bytes(data)
    return dest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bpe", type=Path, help="OpenAI's bpe_simple_vocab_16e6.txt.gz (default: the committed merges)")
    parser.add_argument("--from-wheel", type=Path, help="an open_clip_torch wheel to take the .gz from")
    parser.add_argument("--check", action="store_true", help="only verify the committed files")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        if args.from_wheel:
            args.bpe = extract_from_wheel(args.from_wheel, Path(tmp) / Path(WHEEL_MEMBER).name)
        stale = write_all(args.bpe, check=args.check)
    for path in stale:
        print(("stale: " if args.check else "wrote: ") + str(path.relative_to(CONFIGS_DIR)))
    return 1 if (args.check and stale) else 0


if __name__ == "__main__":
    sys.exit(main())
