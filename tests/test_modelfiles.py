"""Model-file sniffing, safetensors validation, detection, diffusers folders, hashing."""

from __future__ import annotations

import hashlib
import io
import json
import os
import pickle
import zipfile
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from core.library.model_kind import detect_model
from core.library.modelfile_errors import ModelFileError, PickleRefused
from core.library.modelfiles import (
    HashingWriter,
    ModelFileInfo,
    autov2,
    copy_and_hash,
    inspect_model_file,
    sha256_file,
    sniff_format,
    validate_diffusers_folder,
)
from core.library.safetensors_check import validate_safetensors
from tests import modelfile_fixtures as fx

F32_2 = {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}


# --------------------------------------------------------------------------- sniffing

def test_sniff_safetensors_ignores_extension(tmp_path):
    path = fx.write_safetensors(tmp_path / "model.ckpt", fx.ti_embedding())
    assert sniff_format(path) == "safetensors"


@pytest.mark.parametrize("protocol", range(0, 6))
def test_sniff_raw_pickles_of_every_protocol(tmp_path, protocol):
    path = tmp_path / "weights.safetensors"
    path.write_bytes(pickle.dumps({"a": [1, 2], "b": "x"}, protocol=protocol))
    assert sniff_format(path) == "pickle"


def test_sniff_torch_zip_and_legacy_torch_save(tmp_path):
    torch.save({"w": fx.t(2)}, tmp_path / "new.bin")
    torch.save({"w": fx.t(2)}, tmp_path / "old.bin", _use_new_zipfile_serialization=False)
    assert sniff_format(tmp_path / "new.bin") == "torch-zip"
    assert sniff_format(tmp_path / "old.bin") == "pickle"


def test_sniff_unknown_files(tmp_path):
    (tmp_path / "empty").write_bytes(b"")
    (tmp_path / "config.json").write_text('{"abc": {"x": 1}}')  # '{' at byte 8, like a header
    (tmp_path / "README.md").write_text("(c) 2024 a licence\nwith text")
    (tmp_path / "config.yaml").write_text("cond_stage_config:\n  target: x\n")
    with zipfile.ZipFile(tmp_path / "plain.zip", "w") as archive:
        archive.writestr("a.txt", "hello")
    for name in ("empty", "config.json", "README.md", "config.yaml", "plain.zip"):
        assert sniff_format(tmp_path / name) == "unknown", name


def test_sniff_safetensors_whose_length_bytes_look_like_a_pickle(tmp_path):
    """A header of 640 bytes starts with 0x80 0x02, the opening of a protocol-2 pickle."""
    header = json.dumps({"x": F32_2}).encode().ljust(640)
    path = fx.raw_safetensors(tmp_path / "m.safetensors", header, b"\0" * 8)
    assert path.read_bytes()[:2] == b"\x80\x02"
    assert sniff_format(path) == "safetensors"
    assert validate_safetensors(path).tensors["x"].shape == (2,)


def test_sniff_does_not_block_on_a_fifo(tmp_path):
    os.mkfifo(tmp_path / "pipe.safetensors")
    assert sniff_format(tmp_path / "pipe.safetensors") == "unknown"


def test_sniff_folders(tmp_path):
    (tmp_path / "pipe").mkdir()
    (tmp_path / "pipe" / "model_index.json").write_text("{}")
    (tmp_path / "plain").mkdir()
    assert sniff_format(tmp_path / "pipe") == "diffusers"
    assert sniff_format(tmp_path / "plain") == "unknown"


# --------------------------------------------------------------------------- validation

def test_validate_returns_header_and_metadata(tmp_path):
    path = fx.write_safetensors(tmp_path / "lora.safetensors", fx.kohya_lora(),
                                metadata={"ss_network_dim": "4", "ss_tag_frequency": '{"a": 1}'})
    header = validate_safetensors(path)
    assert header.metadata == {"ss_network_dim": "4", "ss_tag_frequency": '{"a": 1}'}
    assert len(header.tensors) == 6 and header.file_size == path.stat().st_size
    info = header.tensors["lora_te_text_model_encoder_layers_0_self_attn_q_proj.lora_down.weight"]
    assert (info.dtype, info.shape, info.end - info.start) == ("F16", (4, 768), 4 * 768 * 2)


def test_validate_edge_cases_the_library_also_accepts(tmp_path):
    ok = {
        "empty": ({}, b""),
        "null_metadata": ({"__metadata__": None}, b""),
        "scalar_and_empty": ({"s": {"dtype": "F32", "shape": [], "data_offsets": [0, 4]},
                              "e": {"dtype": "F32", "shape": [0], "data_offsets": [4, 4]}}, b"\0" * 4),
        "out_of_order": ({"b": {"dtype": "U8", "shape": [1], "data_offsets": [1, 2]},
                          "a": {"dtype": "U8", "shape": [1], "data_offsets": [0, 1]}}, b"\1\2"),
    }
    for name, (header, data) in ok.items():
        path = fx.raw_safetensors(tmp_path / f"{name}.safetensors", header, data)
        validate_safetensors(path)
        load_file(str(path))


MALFORMED = {
    "bad JSON": (b'{"x": {"dtype": "F32",', b"", "not valid JSON"),
    "header is a list": (b"[1, 2, 3]", b"", "does not start with"),
    "header is not an object": (b'{"x": 1}', b"", "exactly the fields"),
    "duplicate key": (b'{"x": ' + json.dumps(F32_2).encode() + b', "x": ' + json.dumps(F32_2).encode() + b"}",
                      b"\0" * 8, "duplicate key"),
    "NaN in header": (b'{"__metadata__": {"a": NaN}}', b"", "NaN"),
    "unknown dtype": ({"x": {"dtype": "F128", "shape": [2], "data_offsets": [0, 32]}}, b"\0" * 32, "dtype"),
    "dtype/shape mismatch": ({"x": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}}, b"\0" * 8,
                             "needs 12 bytes"),
    "negative shape": ({"x": {"dtype": "F32", "shape": [-2], "data_offsets": [0, 8]}}, b"\0" * 8, "shape"),
    "bool offsets": ({"x": {"dtype": "U8", "shape": [1], "data_offsets": [False, True]}}, b"\0", "data_offsets"),
    "truncated data": ({"x": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}, b"\0" * 10, "truncated"),
    "offsets out of the file": ({"x": {"dtype": "F32", "shape": [2], "data_offsets": [100, 108]}}, b"\0" * 8,
                                "truncated"),
    "overlapping offsets": ({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
                             "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}}, b"\0" * 12, "overlap"),
    "gap": ({"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]},
             "b": {"dtype": "F32", "shape": [1], "data_offsets": [8, 12]}}, b"\0" * 12, "gap"),
    "trailing bytes": ({"x": F32_2}, b"\0" * 8 + b"junk", "4 trailing bytes"),
    "metadata not strings": ({"__metadata__": {"steps": 5}}, b"", "not a string"),
    "extra tensor field": ({"x": dict(F32_2, extra=1)}, b"\0" * 8, "exactly the fields"),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_safetensors_are_refused_clearly(tmp_path, case):
    header, data, message = MALFORMED[case]
    path = fx.raw_safetensors(tmp_path / "bad.safetensors", header, data)
    with pytest.raises(ModelFileError, match=message):
        validate_safetensors(path)
    with pytest.raises(ModelFileError):
        inspect_model_file(path)


def test_header_length_larger_than_the_file(tmp_path):
    path = fx.raw_safetensors(tmp_path / "cut.safetensors", {"x": F32_2}, b"\0" * 8, length=10_000)
    assert sniff_format(path) == "safetensors"
    with pytest.raises(ModelFileError, match="header length .* larger than the file"):
        validate_safetensors(path)


def test_truncated_real_file(tmp_path):
    path = fx.write_safetensors(tmp_path / "sd1.safetensors", fx.sd1_checkpoint())
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(ModelFileError, match="truncated"):
        inspect_model_file(path)


def test_validation_reads_only_the_header(tmp_path, monkeypatch):
    """Multi-GB files must not be read: only 8 + header bytes are requested."""
    path = fx.write_safetensors(tmp_path / "sd1.safetensors", fx.sd1_checkpoint())
    requested = []
    real_open = open

    class CountingFile(io.FileIO):
        def read(self, size=-1):
            requested.append(size)
            return super().read(size)

    def counting_open(file, mode="r", *args, **kwargs):
        return CountingFile(file, "rb") if Path(file) == path and mode == "rb" else real_open(file, mode, *args, **kwargs)

    monkeypatch.setattr("builtins.open", counting_open)
    header = validate_safetensors(path, library_check=False)
    assert requested and all(0 <= n <= 8 + header.header_size for n in requested)
    assert sum(requested) == 8 + header.header_size


# --------------------------------------------------------------------------- hostile pickles

def test_evil_pickle_is_never_executed_by_sniffing_validation_or_inspection(tmp_path):
    canary = tmp_path / "canary"
    for protocol in (0, 2, 4):
        evil = fx.write_evil_pickle(tmp_path / f"evil{protocol}.ckpt", canary, protocol)
        renamed = tmp_path / f"evil{protocol}.safetensors"
        renamed.write_bytes(evil.read_bytes())
        for path in (evil, renamed):
            assert sniff_format(path) == "pickle"
            with pytest.raises(ModelFileError):
                validate_safetensors(path)
            with pytest.raises(PickleRefused, match="convert-pickle"):
                inspect_model_file(path)
    assert not canary.exists()


def test_evil_torch_zip_is_refused_by_default(tmp_path):
    canary = tmp_path / "canary"
    path = fx.write_evil_torch_zip(tmp_path / "model.safetensors", canary)
    assert sniff_format(path) == "torch-zip"
    with pytest.raises(PickleRefused) as refused:
        inspect_model_file(path)
    assert "safetensors" in str(refused.value) and refused.value.format == "torch-zip"
    assert not canary.exists()


def test_allow_pickle_reports_the_format_without_loading(tmp_path):
    canary = tmp_path / "canary"
    path = fx.write_evil_torch_zip(tmp_path / "model.ckpt", canary)
    info = inspect_model_file(path, allow_pickle=True)
    assert (info.format, info.model_type, info.tensor_count) == ("torch-zip", "other", 0)
    assert not canary.exists()


# --------------------------------------------------------------------------- detection on real files

@pytest.mark.parametrize("build, metadata, expected", [
    (fx.sd1_checkpoint, None, ("checkpoint", "SD 1.5")),
    (fx.sd2_checkpoint, None, ("checkpoint", "SD 2.1")),
    (fx.sdxl_checkpoint, None, ("checkpoint", "SDXL 1.0")),
    (fx.kohya_lora, {"ss_network_module": "networks.lora"}, ("lora", "SD 1.5")),
    (lambda: fx.kohya_lora(te_width=1024, context=1024), None, ("lora", "SD 2.1")),
    (fx.kohya_sdxl_lora, None, ("lora", "SDXL 1.0")),
    (fx.ti_embedding, None, ("embedding", "SD 1.5")),
    (lambda: fx.ti_embedding(width=1024), None, ("embedding", "SD 2.1")),
    (lambda: {"clip_l": fx.t(2, 768), "clip_g": fx.t(2, 1280)}, None, ("embedding", "SDXL 1.0")),
    (fx.ldm_vae, None, ("vae", "Other")),
])
def test_inspect_detects_type_and_base(tmp_path, build, metadata, expected):
    tensors = build()
    path = fx.write_safetensors(tmp_path / "m.safetensors", tensors, metadata)
    info = inspect_model_file(path)
    assert (info.model_type, info.base_model) == expected
    assert info == ModelFileInfo("safetensors", *expected, metadata or {}, len(tensors), path.stat().st_size)


@pytest.mark.parametrize("keys, metadata, expected", [
    ({"model.diffusion_model.out.0.weight": (320,), "cond_stage_model.model.ln_final.weight": (1024,)},
     {}, ("checkpoint", "SD 2.1")),
    ({"model.diffusion_model.out.0.weight": (320,),
      "cond_stage_model.transformer.text_model.final_layer_norm.weight": (768,)}, {}, ("checkpoint", "SD 1.5")),
    ({f"model.diffusion_model.input_blocks.4.1.{fx.ATTN2}": (640, 1280),
      "model.diffusion_model.label_emb.0.0.weight": (1536, 2560)}, {}, ("checkpoint", "SDXL 1.0")),
    ({"lora_unet_input_blocks_4_1_proj_in.lora_down.weight": (4, 640)},
     {"ss_base_model_version": "sdxl_base_v1-0"}, ("lora", "SDXL 1.0")),
    ({"lora_unet_input_blocks_4_1_proj_in.lora_down.weight": (4, 640)}, {"ss_v2": "True"}, ("lora", "SD 2.1")),
    ({"lora_unet_input_blocks_4_1_proj_in.lora_down.weight": (4, 640)},
     {"ss_sd_model_name": "v1-5-pruned-emaonly.safetensors"}, ("lora", "SD 1.5")),
    ({"lora_unet_input_blocks_4_1_proj_in.lora_down.weight": (4, 640)},
     {"modelspec.architecture": "stable-diffusion-xl-v1-base/lora"}, ("lora", "SDXL 1.0")),
    ({"lora_unet_double_blocks_0_img_attn_qkv.lora_down.weight": (4, 3072)},
     {"ss_base_model_version": "flux1"}, ("lora", "Other")),
    ({"lora_unet_input_blocks_4_1_proj_in.lora_down.weight": (4, 640)}, {}, ("lora", "Other")),
    ({"unet.down_blocks.1.attentions.0.transformer_blocks.0.attn2.to_k.lora_A.weight": (8, 2048),
      "unet.down_blocks.1.attentions.0.transformer_blocks.0.attn2.to_k.lora_B.weight": (640, 8)},
     {}, ("lora", "SDXL 1.0")),
    ({"lora_unet_mid_block_attentions_0_proj_in.hada_w1_a": (640, 4)}, {"ss_v2": "False"}, ("lora", "SD 1.5")),
    ({"string_to_param.*": (4, 768)}, {}, ("embedding", "SD 1.5")),
    ({"encoder.down_blocks.0.resnets.0.conv1.weight": (128, 128, 3, 3),
      "decoder.up_blocks.0.resnets.0.conv1.weight": (512, 512, 3, 3)}, {}, ("vae", "Other")),
    ({"control_model.input_blocks.1.1.transformer_blocks.0.attn2.to_k.weight": (320, 768)},
     {}, ("other", "SD 1.5")),
    ({"down_blocks.1.attentions.0.transformer_blocks.0.attn2.to_k.weight": (640, 2048)}, {}, ("other", "SDXL 1.0")),
    ({"some.weight": (3, 3), "other.bias": (3,)}, {}, ("other", "Other")),
    ({"position_ids": (1, 77)}, {}, ("other", "Other")),
])
def test_detect_model_rules(keys, metadata, expected):
    assert detect_model(keys, metadata) == expected


# --------------------------------------------------------------------------- diffusers folders

def make_pipeline(root: Path, cross_attention_dim=768, addition_embed_type=None) -> Path:
    root.mkdir()
    (root / "model_index.json").write_text(json.dumps({
        "_class_name": "StableDiffusionPipeline", "_diffusers_version": "0.42.1",
        "unet": ["diffusers", "UNet2DConditionModel"], "vae": ["diffusers", "AutoencoderKL"],
    }))
    for part in ("unet", "vae", "tokenizer"):
        (root / part).mkdir()
    (root / "unet" / "config.json").write_text(json.dumps({
        "cross_attention_dim": cross_attention_dim, "addition_embed_type": addition_embed_type}))
    fx.write_safetensors(root / "unet" / "diffusion_pytorch_model.safetensors",
                         {f"down_blocks.0.attentions.0.{fx.ATTN2}": fx.t(4, cross_attention_dim)})
    fx.write_safetensors(root / "vae" / "diffusion_pytorch_model.safetensors",
                         {"encoder.conv_in.weight": fx.t(4, 3, 3, 3)})
    (root / "tokenizer" / "merges.txt").write_text("#version: 0.2\nt h\n")
    (root / "tokenizer" / "vocab.json").write_text('{"ab": {"x": 0}}')
    return root


@pytest.mark.parametrize("dim, addition, base", [(768, None, "SD 1.5"), (1024, None, "SD 2.1"),
                                                  (2048, "text_time", "SDXL 1.0")])
def test_diffusers_folder_is_a_checkpoint(tmp_path, dim, addition, base):
    root = make_pipeline(tmp_path / "pipe", dim, addition)
    info = inspect_model_file(root)
    assert (info.format, info.model_type, info.base_model, info.tensor_count) == ("diffusers", "checkpoint", base, 2)
    assert info.metadata["_class_name"] == "StableDiffusionPipeline"
    assert info.size == sum(p.stat().st_size for p in root.rglob("*") if p.is_file())


def test_diffusers_folder_refuses_pickle_only_component(tmp_path):
    root = make_pipeline(tmp_path / "pipe")
    (root / "text_encoder").mkdir()
    canary = tmp_path / "canary"
    fx.write_evil_torch_zip(root / "text_encoder" / "pytorch_model.bin", canary)
    with pytest.raises(PickleRefused, match="text_encoder/pytorch_model.bin"):
        validate_diffusers_folder(root)
    assert not canary.exists()


def test_diffusers_folder_skips_pickle_beside_safetensors(tmp_path):
    root = make_pipeline(tmp_path / "pipe")
    torch.save({"w": fx.t(2)}, root / "unet" / "diffusion_pytorch_model.bin")
    folder = validate_diffusers_folder(root)
    assert folder.skipped_pickles == ("unet/diffusion_pytorch_model.bin",)
    assert sorted(folder.weights) == ["unet/diffusion_pytorch_model.safetensors",
                                      "vae/diffusion_pytorch_model.safetensors"]


@pytest.mark.parametrize("breakage, message", [
    (lambda root: (root / "model_index.json").write_text("{not json"), "not valid JSON"),
    (lambda root: (root / "model_index.json").write_text("[]"), "not a JSON object"),
    (lambda root: (root / "unet" / "config.json").write_text("{"), "not valid JSON"),
    (lambda root: fx.raw_safetensors(root / "vae" / "diffusion_pytorch_model.safetensors", {"x": F32_2}, b"\0"),
     "truncated"),
])
def test_broken_diffusers_folders(tmp_path, breakage, message):
    root = make_pipeline(tmp_path / "pipe")
    breakage(root)
    with pytest.raises(ModelFileError, match=message):
        inspect_model_file(root)


def test_diffusers_folder_without_weights(tmp_path):
    root = tmp_path / "pipe"
    root.mkdir()
    (root / "model_index.json").write_text("{}")
    with pytest.raises(ModelFileError, match="no safetensors weights"):
        validate_diffusers_folder(root)
    (root / "unet").mkdir()
    torch.save({"w": fx.t(2)}, root / "unet" / "diffusion_pytorch_model.bin")
    with pytest.raises(PickleRefused, match="unet/diffusion_pytorch_model.bin"):
        validate_diffusers_folder(root)


def test_unknown_file_is_refused(tmp_path):
    path = tmp_path / "notes.safetensors"
    path.write_text("just some text, not a model")
    with pytest.raises(ModelFileError, match="not a model file we recognise"):
        inspect_model_file(path)


# --------------------------------------------------------------------------- hashing

def test_copy_and_hash_hashes_while_copying():
    data = bytes(range(256)) * 5000  # not a multiple of the chunk size
    dst = io.BytesIO()
    digest, size = copy_and_hash(io.BytesIO(data), dst, chunk=4096)
    assert (digest, size) == (hashlib.sha256(data).hexdigest(), len(data))
    assert dst.getvalue() == data


def test_copy_and_hash_with_a_read_only_source_and_a_limit():
    class ReadOnly:
        def __init__(self, data):
            self.stream = io.BytesIO(data)

        def read(self, n):
            return self.stream.read(n)

    digest, size = copy_and_hash(ReadOnly(b"abc" * 10), io.BytesIO(), chunk=7)
    assert (digest, size) == (hashlib.sha256(b"abc" * 10).hexdigest(), 30)
    with pytest.raises(ModelFileError, match="limit"):
        copy_and_hash(io.BytesIO(b"x" * 100), io.BytesIO(), chunk=16, limit=50)


def test_hashing_writer_and_file_hashes(tmp_path):
    path = tmp_path / "blob"
    with open(path, "wb") as f:
        writer = HashingWriter(f)
        for chunk in (b"hello ", memoryview(b"world"), bytearray(b"!")):
            writer.write(chunk)
    expected = hashlib.sha256(b"hello world!").hexdigest()
    assert writer.hexdigest() == expected and writer.size == 12
    assert sha256_file(path) == expected
    assert autov2(expected) == expected[:10] and len(autov2(expected)) == 10

