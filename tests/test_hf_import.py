"""Import from the Hugging Face Hub (§2.3): the real huggingface_hub client against a local FakeHub.

huggingface_hub reads HF_HUB_OFFLINE, HF_ENDPOINT and friends once, at import;
in this process the suite runs with HF_HUB_OFFLINE=1 (conftest).  Tests that
need the network flip the library's documented constants with monkeypatch and
pass ``endpoint=``; the two tests about the environment variable itself run in a
fresh interpreter.  No test may open a socket to anything but loopback.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from core.errors import InvalidInput
from core.library.hf_import import (
    HubImportError,
    check_filename,
    check_repo_id,
    check_revision,
    choose_file,
    download_from_hub,
)
from tests.fake_hub import FakeHub
from tests.live_server import ROOT, free_port

WEIGHTS = os.urandom(300_000)
REPOS = {
    "acme/single": {"model.safetensors": WEIGHTS, "config.json": b'{"a": 1}', "README.md": b"# hi",
                    "unet/config.json": b"{}"},
    "acme/variants": {"model.safetensors": b"main", "model.fp16.safetensors": b"half",
                      "model-ema.safetensors": b"ema", "unet/diffusion_pytorch_model.safetensors": b"unet"},
    "acme/ambiguous": {"a.safetensors": b"a", "b.safetensors": b"b", "a.fp16.safetensors": b"a16"},
    "acme/diffusers": {"model_index.json": b"{}", "unet/diffusion_pytorch_model.safetensors": b"u",
                       "vae/diffusion_pytorch_model.safetensors": b"v"},
    "acme/pickles": {"model.ckpt": b"pickle", "README.md": b"# hi"},
    "acme/gated": {"model.safetensors": b"gated"},
    "acme/private": {"model.safetensors": b"private"},
}


# --- fixtures -----------------------------------------------------------------------------------


def _is_loopback(address: object) -> bool:
    if not isinstance(address, tuple):
        return True  # AF_UNIX path
    host = str(address[0]).split("%")[0]
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch):
    """Any connect() to a non-loopback address is refused and fails the test (even if swallowed)."""
    attempts: list[object] = []
    real_connect, real_connect_ex = socket.socket.connect, socket.socket.connect_ex

    def connect(self, address):
        if not _is_loopback(address):
            attempts.append(address)
            raise ConnectionRefusedError(f"test tried to reach {address!r}")
        return real_connect(self, address)

    def connect_ex(self, address):
        if not _is_loopback(address):
            attempts.append(address)
            return 111
        return real_connect_ex(self, address)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    yield
    assert not attempts, f"the test tried to reach non-loopback addresses: {attempts}"


@pytest.fixture
def hub_constants(monkeypatch, tmp_path):
    """huggingface_hub as a user who turned network on: no stored token, a private cache folder."""
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(constants, "HF_HUB_DISABLE_IMPLICIT_TOKEN", True)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hf-cache"))
    return constants


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    root = tmp_path_factory.mktemp("hub")
    for repo_id, files in REPOS.items():
        for name, data in files.items():
            path = root / repo_id / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
    with FakeHub(root, gated={"acme/gated"}, private={"acme/private"}) as running:
        yield running


@pytest.fixture
def online(hub, hub_constants):
    hub.requests.clear()
    return hub


@pytest.fixture
def dest(tmp_path):
    folder = tmp_path / "dest"
    folder.mkdir()
    return folder


def fetch(hub: FakeHub, repo_id: str, filename: str | None, dest: Path, revision: str | None = None, **kw):
    return download_from_hub(repo_id, filename, revision, dest, endpoint=hub.url, **kw)


def contents(folder: Path) -> list[str]:
    return sorted(path.relative_to(folder).as_posix() for path in folder.rglob("*"))


# --- downloads ----------------------------------------------------------------------------------


def test_downloads_the_named_file_byte_for_byte_and_keeps_it_out_of_the_cache(online, dest, hub_constants):
    path = fetch(online, "acme/single", "model.safetensors", dest)
    assert path == dest / "model.safetensors"
    assert path.read_bytes() == WEIGHTS
    assert contents(dest) == ["model.safetensors"]  # no staging folder, no .cache left
    assert not Path(hub_constants.HF_HUB_CACHE).exists()  # stored once, not in the hub cache too
    # weights took the Hub's LFS path: a redirect to the "CDN" origin, pinned to the commit
    commit = online.commit("acme/single")
    assert ("GET", f"/_cdn/acme/single/{commit}/model.safetensors") in online.requests


def test_downloads_a_plain_file_from_a_subfolder_under_its_base_name(online, dest):
    path = fetch(online, "acme/single", "unet/config.json", dest)
    assert path == dest / "config.json"
    assert path.read_bytes() == b"{}"
    assert contents(dest) == ["config.json"]


def test_picks_the_single_safetensors_when_no_file_is_named(online, dest):
    assert fetch(online, "acme/single", None, dest).read_bytes() == WEIGHTS


def test_prefers_the_top_level_file_that_is_not_an_fp16_or_ema_variant(online, dest):
    path = fetch(online, "acme/variants", None, dest)
    assert path.name == "model.safetensors" and path.read_bytes() == b"main"


def test_a_revision_may_be_a_commit_id(online, dest):
    commit = online.commit("acme/single")
    assert fetch(online, "acme/single", "config.json", dest, revision=commit).read_bytes() == b'{"a": 1}'
    assert ("GET", f"/api/models/acme/single/revision/{commit}") in online.requests


def test_progress_reports_increasing_counts_that_end_at_the_total(online, dest, hub_constants, monkeypatch):
    monkeypatch.setattr(hub_constants, "DOWNLOAD_CHUNK_SIZE", 32 * 1024)  # several reports for 300 kB
    calls: list[tuple[int, int]] = []
    fetch(online, "acme/single", "model.safetensors", dest, progress=lambda done, total: calls.append((done, total)))
    size = len(WEIGHTS)
    assert len(calls) > 5
    assert all(total == size for _, total in calls)
    counts = [done for done, _ in calls]
    assert counts == sorted(set(counts)), "counts must strictly increase"
    assert calls[-1] == (size, size)


def test_a_failing_progress_callback_cancels_and_leaves_no_partial_file(online, dest, hub_constants,
                                                                         monkeypatch):
    monkeypatch.setattr(hub_constants, "DOWNLOAD_CHUNK_SIZE", 32 * 1024)

    def cancel(done: int, total: int) -> None:
        if done > 100_000:
            raise KeyboardInterrupt  # what a cancel button or Ctrl-C looks like mid-download

    with pytest.raises(KeyboardInterrupt):
        fetch(online, "acme/single", "model.safetensors", dest, progress=cancel)
    assert contents(dest) == []


# --- choosing and refusing ----------------------------------------------------------------------


@pytest.mark.parametrize("repo_id, expected", [
    ("acme/ambiguous", ["several .safetensors files", "a.safetensors, b.safetensors", "say which one"]),
    ("acme/diffusers", ["unet/diffusion_pytorch_model.safetensors", "vae/diffusion_pytorch_model.safetensors"]),
    ("acme/pickles", ["no .safetensors file", "model.ckpt"]),
])
def test_an_unclear_choice_is_refused_with_the_candidates(online, dest, repo_id, expected):
    with pytest.raises(HubImportError) as caught:
        fetch(online, repo_id, None, dest)
    for words in expected:
        assert words in caught.value.message
    assert contents(dest) == []
    assert not any("/resolve/" in path for _, path in online.requests)


@pytest.mark.parametrize("repo_id, filename, revision, expected", [
    ("acme/nothing", None, None, "repo acme/nothing was not found"),
    ("acme/single", "missing.safetensors", None, "missing.safetensors is not a file of acme/single"),
    ("acme/single", "model.safetensors", "v9", "revision v9 was not found in acme/single"),
    ("acme/gated", "model.safetensors", None, "acme/gated is a gated repo"),
    ("acme/private", None, None, "if it is private, log in"),
])
def test_hub_refusals_become_clear_errors(online, dest, repo_id, filename, revision, expected):
    with pytest.raises(HubImportError) as caught:
        fetch(online, repo_id, filename, dest, revision=revision)
    assert expected in caught.value.message
    assert isinstance(caught.value, InvalidInput) and caught.value.status == 400
    assert contents(dest) == []


def test_a_file_missing_at_download_time_is_reported(online, dest, monkeypatch):
    """The file list said yes, the download said 404 (e.g. a server without siblings)."""
    from huggingface_hub import HfApi

    real = HfApi.model_info

    def without_siblings(self, *args, **kwargs):
        info = real(self, *args, **kwargs)
        info.siblings = None
        return info

    monkeypatch.setattr(HfApi, "model_info", without_siblings)
    with pytest.raises(HubImportError, match="gone.safetensors is not a file of acme/single"):
        fetch(online, "acme/single", "gone.safetensors", dest)
    assert contents(dest) == []


def test_choose_file_prefers_top_level_and_main_weights():
    assert choose_file("r", ["a/b.safetensors", "model.safetensors"]) == "model.safetensors"
    assert choose_file("r", ["sub/only.safetensors", "x.json"]) == "sub/only.safetensors"
    assert choose_file("r", ["v1-pruned.safetensors", "v1-pruned-emaonly.safetensors",
                             "v1-pruned.fp16.safetensors"]) == "v1-pruned.safetensors"
    assert choose_file("r", ["x.fp16.safetensors"]) == "x.fp16.safetensors"
    with pytest.raises(HubImportError, match="x.ema.safetensors, x.fp16.safetensors"):
        choose_file("r", ["x.fp16.safetensors", "x.ema.safetensors"])


# --- offline and unreachable --------------------------------------------------------------------


def test_offline_mode_fails_fast_with_the_clear_message(hub_constants, monkeypatch, dest):
    monkeypatch.setattr(hub_constants, "HF_HUB_OFFLINE", True)
    started = time.monotonic()
    with pytest.raises(HubImportError) as caught:
        download_from_hub("stabilityai/sdxl-turbo", None, None, dest)
    assert time.monotonic() - started < 5
    assert "cannot reach the Hugging Face Hub (offline?)" in caught.value.message
    assert "drop it into models_dir/" in caught.value.message
    assert "HF_HUB_OFFLINE=0" in caught.value.message
    assert contents(dest) == []


def test_an_unreachable_endpoint_fails_fast_with_the_clear_message(hub_constants, dest):
    started = time.monotonic()
    with pytest.raises(HubImportError) as caught:
        download_from_hub("acme/single", None, None, dest, endpoint=f"http://127.0.0.1:{free_port()}")
    assert time.monotonic() - started < 5
    assert "cannot reach the Hugging Face Hub (offline?)" in caught.value.message
    assert contents(dest) == []


_CHILD = textwrap.dedent("""
    import socket, sys, time
    from pathlib import Path
    def connect(self, address, _real=socket.socket.connect):
        if isinstance(address, tuple) and address[0] not in ("127.0.0.1", "::1", "localhost"):
            raise SystemExit(f"reached for {address!r}")
        return _real(self, address)
    socket.socket.connect = connect
    from core.library.hf_import import HubImportError, download_from_hub
    endpoint = sys.argv[2] or None
    started = time.monotonic()
    try:
        path = download_from_hub("acme/single", None, None, Path(sys.argv[1]), endpoint=endpoint)
        print("OK", path.stat().st_size)
    except HubImportError as error:
        print("ERR", error.message)
    print("SECONDS", time.monotonic() - started)
""")


def run_child(dest: Path, tmp_path: Path, offline: str, endpoint: str = "") -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("HF_")}
    env.update({"HF_HUB_OFFLINE": offline, "HF_HOME": str(tmp_path / "hf-home"),
                "HF_HUB_DISABLE_IMPLICIT_TOKEN": "1", "HF_HUB_DISABLE_PROGRESS_BARS": "1",
                "PYTHONPATH": str(ROOT)})
    done = subprocess.run([sys.executable, "-c", _CHILD, str(dest), endpoint], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return dict(line.split(" ", 1) for line in done.stdout.splitlines())


def test_with_hf_hub_offline_1_in_the_environment_an_import_fails_fast(dest, tmp_path):
    result = run_child(dest, tmp_path, offline="1")
    assert "cannot reach the Hugging Face Hub (offline?)" in result["ERR"]
    assert float(result["SECONDS"]) < 5
    assert contents(dest) == []


def test_with_hf_hub_offline_0_in_the_environment_an_import_works(hub, dest, tmp_path):
    result = run_child(dest, tmp_path, offline="0", endpoint=hub.url)
    assert result["OK"] == str(len(WEIGHTS)), result
    assert (dest / "model.safetensors").read_bytes() == WEIGHTS


# --- names checked before any request -----------------------------------------------------------


@pytest.mark.parametrize("repo_id, filename, revision", [
    ("../etc", None, None), ("/abs/repo", None, None), ("a/b/c", None, None), ("a//b", None, None),
    ("", None, None), ("a..b/c", None, None), ("owner/na me", None, None), ("owner/name\n", None, None),
    ("owner/name.", None, None), ("a--b/c", None, None), ("x" * 97, None, None),
    ("acme/single", "../secret.safetensors", None), ("acme/single", "/etc/passwd", None),
    ("acme/single", "a/../b.safetensors", None), ("acme/single", "a\\b.safetensors", None),
    ("acme/single", "", None), ("acme/single", "dir/", None), ("acme/single", "./x.safetensors", None),
    ("acme/single", "x\x00.safetensors", None),
    ("acme/single", None, "../main"), ("acme/single", None, "/main"), ("acme/single", None, "a..b"),
    ("acme/single", None, "main/"), ("acme/single", None, "ma in"), ("acme/single", None, ""),
])
def test_invalid_names_are_refused_before_any_request(online, dest, repo_id, filename, revision):
    with pytest.raises(HubImportError, match="invalid|give"):
        fetch(online, repo_id, filename, revision=revision, dest=dest)
    assert online.requests == []
    assert contents(dest) == []


def test_valid_names_pass_the_checks():
    for repo_id in ("gpt2", "stabilityai/stable-diffusion-xl-base-1.0", "Org_1/model.v2"):
        check_repo_id(repo_id)
    for filename in ("model.safetensors", "unet/diffusion_pytorch_model.fp16.safetensors", "a b.ckpt"):
        check_filename(filename)
    for revision in ("main", "v1.0", "refs/pr/1", "0" * 40):
        check_revision(revision)


def test_fake_hub_lists_files_like_the_hub(online):
    """The tree route that HfApi.list_repo_files uses."""
    from huggingface_hub import HfApi

    files = HfApi(endpoint=online.url).list_repo_files("acme/single")
    assert sorted(files) == sorted(REPOS["acme/single"])
