"""--models-dir pointed at an AUTOMATIC1111 models folder: types, sidecars, nothing changed."""

from __future__ import annotations

import hashlib
import json
import time

import requests
from PIL import Image as PILImage

from tests import sample_files
from tests.conftest import without_demo
from tests.live_server import LiveServer


def fingerprint(folder):
    """Every file under the folder (our own hidden working folders aside) with its bytes' hash."""
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file() and not p.relative_to(folder).parts[0].startswith(".")}


def build_a1111_models(root):
    sample_files.sd15_checkpoint(root / "Stable-diffusion" / "dreamshaper_8.safetensors")
    (root / "Stable-diffusion" / "dreamshaper_8.json").write_text(json.dumps({
        "description": "A versatile general-purpose model.", "sd version": "SD1", "notes": "Use CFG 7.",
        "activation text": "", "preferred weight": 0}))
    PILImage.new("RGB", (32, 32), "orange").save(root / "Stable-diffusion" / "dreamshaper_8.preview.png")
    sample_files.kohya_lora(root / "Lora" / "pastel.style.safetensors")
    (root / "Lora" / "pastel.style.json").write_text(json.dumps({
        "description": "Soft pastel colours.", "activation text": "pastel style, soft light",
        "sd version": "SD1", "preferred weight": 0.8}))
    sample_files.vae(root / "VAE" / "clear_vae.safetensors")
    (root / "VAE" / "clear_vae.json").write_text(json.dumps({"sd version": "SDXL"}))
    sample_files.embedding(root / "embeddings" / "bad_hands.safetensors")
    return root


def test_a1111_models_folder_is_imported_read_only(tmp_path):
    models = build_a1111_models(tmp_path / "a1111" / "models")
    before = fingerprint(models)
    server = LiveServer(tmp_path / "app")
    server.args = ["--models-dir", str(models)]
    server.start()
    try:
        deadline = time.monotonic() + 60
        items = []
        while time.monotonic() < deadline and len(items) < 4:
            items = without_demo(requests.get(server.api("/api/v1/models"), params={"limit": 100}).json()["items"])
            time.sleep(0.3)
        by_name = {m["name"]: m for m in items}
        assert set(by_name) == {"dreamshaper_8", "pastel.style", "clear_vae", "bad_hands"}
        assert by_name["dreamshaper_8"]["type"] == "Checkpoint"
        assert by_name["dreamshaper_8"]["description"] == "A versatile general-purpose model.\n\nUse CFG 7."
        lora = by_name["pastel.style"]
        assert (lora["type"], lora["baseModel"]) == ("LORA", "SD 1.5")
        assert lora["trainedWords"] == ["pastel style", "soft light"]
        assert lora["modelVersions"][0]["defaultWeight"] == 0.8
        assert (by_name["clear_vae"]["type"], by_name["clear_vae"]["baseModel"]) == ("VAE", "SDXL 1.0")
        assert by_name["bad_hands"]["type"] == "TextualInversion"
        cover = by_name["dreamshaper_8"]["coverImage"]
        assert cover.endswith(f"/api/v1/models/{by_name['dreamshaper_8']['id']}/preview")
        preview = models / "Stable-diffusion" / "dreamshaper_8.preview.png"
        assert requests.get(cover).content == preview.read_bytes()
        assert by_name["pastel.style"]["coverImage"] is None
    finally:
        server.stop()
    assert fingerprint(models) == before
