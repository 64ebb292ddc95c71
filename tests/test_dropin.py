"""The drop-in models folder: found at start-up, cached hashes, rescans, removals."""

from __future__ import annotations

import re
import shutil
import time

import requests

from tests import sample_files
from tests.conftest import PASSWORD, bearer, without_demo
from tests.live_server import LiveServer
from tests.tiny_models import build_tiny_sd15


def wait_for_models(server: LiveServer, count: int, timeout: float = 60) -> list[dict]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        items = without_demo(requests.get(server.api("/api/v1/models"), params={"limit": 100}).json()["items"])
        if len(items) >= count:
            return items
        time.sleep(0.3)
    raise AssertionError(f"expected {count} models, log:\n{server.log()}")


def startup_scan_reports(server: LiveServer) -> list[str]:
    return re.findall(r"models folder scanned: (.*)", server.log())


def test_dropped_files_are_listed_cached_and_removed(tmp_path):
    server = LiveServer(tmp_path / "app")
    models = server.models_dir
    sample_files.sd15_checkpoint(models / "Stable-diffusion" / "dreamshaper_8.safetensors")
    sample_files.kohya_lora(models / "Lora" / "styles" / "pastel_style.safetensors")
    tiny = build_tiny_sd15(tmp_path / "tiny")
    shutil.copytree(tiny.diffusers_dir, models / "tiny-diffusers")
    outside = sample_files.vae(tmp_path / "outside.safetensors")
    (models / "linked.safetensors").symlink_to(outside)
    (models / "notes.txt").write_text("not a model")

    server.start()
    try:
        items = {m["name"]: m for m in wait_for_models(server, 3)}
        assert set(items) == {"dreamshaper_8", "pastel_style", "tiny-diffusers"}
        assert (items["dreamshaper_8"]["type"], items["dreamshaper_8"]["baseModel"]) == ("Checkpoint", "SD 1.5")
        assert items["pastel_style"]["type"] == "LORA"
        assert items["tiny-diffusers"]["type"] == "Checkpoint"
        assert items["pastel_style"]["creator"]["username"] == "site"

        admin = requests.post(server.api("/api/v1/auth/register"), json={"username": "boss", "password": PASSWORD})
        assert admin.json()["user"]["isAdmin"] is True  # the site account does not take the admin seat
        token = admin.json()["token"]

        server.restart()
        deadline = time.monotonic() + 30
        while len(startup_scan_reports(server)) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert "'hashed': 0" in startup_scan_reports(server)[-1]  # nothing re-read after a restart

        report = requests.post(server.api("/api/v1/admin/rescan"), headers=bearer(token)).json()
        assert report["hashed"] == 0
        assert report["unchanged"] == 3
        listing = without_demo(requests.get(server.api("/api/v1/models")).json()["items"])
        assert {m["creator"]["username"] for m in listing} == {"boss"}

        (models / "Lora" / "styles" / "pastel_style.safetensors").unlink()
        report = requests.post(server.api("/api/v1/admin/rescan"), headers=bearer(token)).json()
        assert report["removed"] == 1
        names = {m["name"] for m in without_demo(requests.get(server.api("/api/v1/models")).json()["items"])}
        assert names == {"dreamshaper_8", "tiny-diffusers"}
        assert (models / "Stable-diffusion" / "dreamshaper_8.safetensors").exists()  # never moved

        visitor = requests.post(server.api("/api/v1/admin/rescan"))
        assert visitor.status_code == 401
    finally:
        server.stop()
