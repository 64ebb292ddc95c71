"""Pickle -> safetensors conversion in a sandboxed child process."""

from __future__ import annotations

import json
import pickle
import socket
import subprocess
import sys
import types

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from core.library.modelfile_errors import ModelFileError
from core.library.modelfiles import inspect_model_file, sha256_file
from core.library.pickle_import import ConversionLimits, convert_pickle_to_safetensors, main, run_sandboxed
from core.library.safetensors_check import validate_safetensors
from tests import modelfile_fixtures as fx


def user_namespaces_work() -> bool:
    try:
        return subprocess.run(["unshare", "-rn", "true"], capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


def leftovers(folder):
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".partial"))


def assert_same_tensors(path, expected):
    loaded = load_file(str(path))
    assert sorted(loaded) == sorted(expected)
    for key, tensor in expected.items():
        assert torch.equal(loaded[key], tensor), key


# --------------------------------------------------------------------------- clean conversions

def test_clean_ckpt_nested_under_state_dict_converts(tmp_path):
    state = fx.sd1_checkpoint()
    src = tmp_path / "model.ckpt"
    torch.save({"state_dict": state, "global_step": 1000, "epoch": 3}, src)
    dst = tmp_path / "model.safetensors"
    result = convert_pickle_to_safetensors(src, dst)
    assert_same_tensors(dst, state)
    assert result.path == dst.resolve() and result.size == dst.stat().st_size
    assert result.sha256 == sha256_file(dst)
    assert result.header == validate_safetensors(dst)
    info = inspect_model_file(dst)
    assert (info.model_type, info.base_model) == ("checkpoint", "SD 1.5")
    assert leftovers(tmp_path) == []


def test_flat_legacy_and_nested_checkpoints(tmp_path):
    """A flat dict in the pre-zip torch format (no mmap), and nested dicts with shared storage."""
    flat = fx.kohya_lora()
    torch.save(flat, tmp_path / "legacy.pt", _use_new_zipfile_serialization=False)
    shared = fx.t(4, 4)
    torch.save({"model": {"a": fx.t(3)}, "b": shared, "b_view": shared[1], "same": shared, "n": 5},
               tmp_path / "nested.pth")
    convert_pickle_to_safetensors(tmp_path / "legacy.pt", tmp_path / "legacy.safetensors")
    result = convert_pickle_to_safetensors(tmp_path / "nested.pth", tmp_path / "nested.safetensors")
    assert_same_tensors(tmp_path / "legacy.safetensors", flat)
    assert_same_tensors(tmp_path / "nested.safetensors",
                        {"model.a": fx.t(3), "b": shared, "b_view": shared[1], "same": shared})
    assert result.dropped == ("n",)


def test_textual_inversion_pt_becomes_emb_params(tmp_path):
    vectors = fx.t(2, 768)
    torch.save({"string_to_token": {"*": 265}, "string_to_param": {"*": vectors}, "name": "style",
                "step": 500}, tmp_path / "style.pt")
    convert_pickle_to_safetensors(tmp_path / "style.pt", tmp_path / "style.safetensors")
    assert_same_tensors(tmp_path / "style.safetensors", {"emb_params": vectors})
    info = inspect_model_file(tmp_path / "style.safetensors")
    assert (info.model_type, info.base_model) == ("embedding", "SD 1.5")


def test_lightning_checkpoint_with_callbacks_and_numpy_scalars(tmp_path, monkeypatch):
    """Real SD 1.x .ckpt files carry Lightning's ModelCheckpoint callback state."""
    names = ["pytorch_lightning", "pytorch_lightning.callbacks", "pytorch_lightning.callbacks.model_checkpoint"]
    for name in names:
        monkeypatch.setitem(sys.modules, name, types.ModuleType(name))
    model_checkpoint = type("ModelCheckpoint", (), {"__module__": names[-1]})
    sys.modules[names[-1]].ModelCheckpoint = model_checkpoint
    callback = model_checkpoint()
    callback.best_model_score = np.float64(0.25)
    state = fx.sd2_checkpoint()
    torch.save({"state_dict": state, "callbacks": {model_checkpoint: {"best": np.float32(1.5)}},
                "hparams": callback, "pytorch-lightning_version": "1.4.2"}, tmp_path / "sd2.ckpt")
    convert_pickle_to_safetensors(tmp_path / "sd2.ckpt", tmp_path / "sd2.safetensors")
    assert_same_tensors(tmp_path / "sd2.safetensors", state)


def test_the_calling_process_never_unpickles(tmp_path, monkeypatch):
    def forbidden(*args, **kwargs):
        raise AssertionError("unpickling in the server process")

    torch.save({"w": fx.t(2, 2)}, tmp_path / "w.ckpt")
    for target, name in ((pickle, "load"), (pickle, "loads"), (pickle, "Unpickler"), (torch, "load")):
        monkeypatch.setattr(target, name, forbidden)
    inspect_model_file(tmp_path / "w.ckpt", allow_pickle=True)
    convert_pickle_to_safetensors(tmp_path / "w.ckpt", tmp_path / "w.safetensors")
    inspect_model_file(tmp_path / "w.safetensors")


# --------------------------------------------------------------------------- hostile and bad inputs

@pytest.mark.parametrize("payload", [fx.os_system_payload, fx.exec_payload])
def test_malicious_torch_zip_is_refused_by_weights_only(tmp_path, payload):
    canary = tmp_path / "canary"
    src = fx.write_evil_torch_zip(tmp_path / "evil.ckpt", canary, payload)
    dst = tmp_path / "evil.safetensors"
    with pytest.raises(ModelFileError, match="refused and not converted"):
        convert_pickle_to_safetensors(src, dst)
    assert not canary.exists() and not dst.exists() and leftovers(tmp_path) == []


def test_malicious_raw_pickle_is_refused_and_the_destination_kept(tmp_path):
    canary = tmp_path / "canary"
    src = fx.write_evil_pickle(tmp_path / "evil.pt", canary)
    dst = fx.write_safetensors(tmp_path / "keep.safetensors", fx.ti_embedding())
    before = dst.read_bytes()
    with pytest.raises(ModelFileError, match="refused"):
        convert_pickle_to_safetensors(src, dst)
    assert not canary.exists() and leftovers(tmp_path) == []
    assert dst.read_bytes() == before


def test_not_a_pickle_and_no_tensors(tmp_path):
    fx.write_safetensors(tmp_path / "ok.safetensors", fx.ti_embedding())
    with pytest.raises(ModelFileError, match="not a pickle checkpoint"):
        convert_pickle_to_safetensors(tmp_path / "ok.safetensors", tmp_path / "out.safetensors")
    torch.save({"epoch": 3, "name": "x"}, tmp_path / "empty.ckpt")
    with pytest.raises(ModelFileError, match="no tensors"):
        convert_pickle_to_safetensors(tmp_path / "empty.ckpt", tmp_path / "out.safetensors")
    assert not (tmp_path / "out.safetensors").exists() and leftovers(tmp_path) == []


# --------------------------------------------------------------------------- limits and sandbox

def test_output_size_limit(tmp_path):
    torch.save({"w": torch.zeros(64, 1024)}, tmp_path / "big.pt")
    with pytest.raises(ModelFileError, match="would write more than 4096 bytes"):
        convert_pickle_to_safetensors(tmp_path / "big.pt", tmp_path / "big.safetensors",
                                      limits=ConversionLimits(output_bytes=4096))
    assert not (tmp_path / "big.safetensors").exists() and leftovers(tmp_path) == []


def test_memory_limit(tmp_path):
    torch.save({"w": fx.t(2)}, tmp_path / "w.pt")
    with pytest.raises(ModelFileError, match="memory limit"):
        convert_pickle_to_safetensors(tmp_path / "w.pt", tmp_path / "w.safetensors",
                                      limits=ConversionLimits(memory_bytes=256 << 20))
    assert leftovers(tmp_path) == []


def test_wall_clock_limit(tmp_path):
    torch.save({"w": fx.t(2)}, tmp_path / "w.pt")
    with pytest.raises(ModelFileError, match="took longer than 0.2 s"):
        convert_pickle_to_safetensors(tmp_path / "w.pt", tmp_path / "w.safetensors",
                                      limits=ConversionLimits(wall_seconds=0.2))
    assert not (tmp_path / "w.safetensors").exists() and leftovers(tmp_path) == []


def sandboxed_python(code: str, **limits) -> tuple[int, str]:
    resolved = ConversionLimits(**limits).resolved(0)
    returncode, stdout, _ = run_sandboxed([sys.executable, "-I", "-c", code], resolved)
    return returncode, stdout.decode()


def test_sandbox_cpu_limit_stops_a_busy_child():
    returncode, _ = sandboxed_python("while True: pass", cpu_seconds=1, wall_seconds=30)
    assert returncode < 0  # SIGXCPU, or SIGKILL at the hard limit


def test_sandbox_memory_and_file_size_limits(tmp_path):
    code = "bytearray(512 << 20)"
    assert sandboxed_python(code, memory_bytes=256 << 20)[0] != 0
    assert sandboxed_python(code, memory_bytes=2 << 30)[0] == 0
    write = f"open({str(tmp_path / 'out')!r}, 'wb').write(bytes(10000))"
    assert sandboxed_python(write, output_bytes=4096)[0] != 0
    assert sandboxed_python(write, output_bytes=20000)[0] == 0


def test_sandbox_environment_is_minimal(monkeypatch):
    monkeypatch.setenv("VISIONARY_SECRET_TEST", "hunter2")
    _, out = sandboxed_python("import os, json; print(json.dumps(dict(os.environ)))")
    env = json.loads(out)
    assert "VISIONARY_SECRET_TEST" not in env and env["CUDA_VISIBLE_DEVICES"] == ""


@pytest.mark.skipif(not user_namespaces_work(), reason="this OS does not allow unprivileged network namespaces")
def test_sandbox_has_no_network(tmp_path):
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    port = server.getsockname()[1]
    try:
        code = ("import socket\ntry:\n socket.create_connection(('127.0.0.1', %d), timeout=2); print('connected')\n"
                "except OSError as e:\n print('blocked', e.errno)" % port)
        _, out = sandboxed_python(code)
    finally:
        server.close()
    assert out.startswith("blocked")
    torch.save({"w": fx.t(2)}, tmp_path / "w.pt")
    assert convert_pickle_to_safetensors(tmp_path / "w.pt", tmp_path / "w.safetensors").network_isolated


# --------------------------------------------------------------------------- command line

def test_command_line(tmp_path, capsys):
    torch.save({"w": fx.t(2, 2)}, tmp_path / "w.ckpt")
    assert main([str(tmp_path / "w.ckpt")]) == 0
    assert_same_tensors(tmp_path / "w.safetensors", {"w": fx.t(2, 2)})
    assert "wrote" in capsys.readouterr().out
    assert main([str(tmp_path / "w.ckpt")]) == 1  # refuses to overwrite
    assert "already exists" in capsys.readouterr().err
