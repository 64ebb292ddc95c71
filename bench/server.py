"""The app under measurement: ``tests.live_server.LiveServer`` (the real command line, loopback only) and helpers."""

from __future__ import annotations

import shutil
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

from bench.common import wait_until
from tests.live_server import LiveServer

PASSWORD = "bench horse battery"


def start(home: Path, *args: str, server_class=LiveServer, **env: str) -> LiveServer:
    """A started server; ``env`` adds environment variables."""
    return launch(server_class(home, args=list(args), env=env))


def launch(server: LiveServer) -> LiveServer:
    """``server.start()``, tolerating a slow first answer."""
    try:
        return server.start()
    except requests.Timeout:  # LiveServer probes with a 2 s timeout: too short on a loaded machine
        wait_until(lambda: healthy(server), 120, 0.25, "server health")
        return server


def healthy(server: LiveServer) -> bool:
    if server.process.poll() is not None:
        raise RuntimeError(f"server exited with {server.process.returncode}:\n{server.log()}")
    try:
        return requests.get(server.api("/api/v1/health"), timeout=30).status_code == 200
    except requests.RequestException:
        return False


def register(server: LiveServer, username: str = "bencher") -> dict[str, str]:
    """A new account; returns the Bearer header for it."""
    reply = requests.post(server.api("/api/v1/auth/register"), json={"username": username, "password": PASSWORD},
                          timeout=60)
    reply.raise_for_status()
    return {"Authorization": f"Bearer {reply.json()['token']}"}


def models(server: LiveServer, **params) -> list[dict]:
    """One listing page (demo model left out)."""
    reply = requests.get(server.api("/api/v1/models"), params={"limit": 100, **params}, timeout=60)
    reply.raise_for_status()
    return [item for item in reply.json()["items"] if not item.get("isDemo")]


def add_tiny_checkpoint(models_dir: Path, tiny) -> None:
    """The tiny checkpoint (single file + its ``.config/`` folder) dropped into ``models_dir``."""
    folder = models_dir / "Stable-diffusion"
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(tiny.single_file, folder / tiny.single_file.name)
    shutil.copytree(tiny.single_file_config, folder / tiny.single_file_config.name, dirs_exist_ok=True)


def checkpoint_id(server: LiveServer, name: str, timeout: float = 120) -> int:
    """The id of the checkpoint called ``name`` (the newest one), once the start-up scan has listed it."""

    def listed():
        return [item["id"] for item in models(server, types="Checkpoint") if item["name"] == name]

    return wait_until(listed, timeout, 0.3, f"checkpoint {name} listed")[0]


def scans_logged(server: LiveServer) -> int:
    """How many start-up scans finished, from the server's log."""
    return server.log_path.read_text(errors="replace").count("models folder scanned") if server.log_path.exists() else 0


def rss_kb(pid: int) -> int:
    """Resident set size of ``pid`` in kB (``VmRSS`` of /proc/PID/status)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for pid {pid}")


@dataclass
class RssSampler:
    """``with RssSampler(pid) as s:`` samples VmRSS every ``interval`` s: ``s.before``, ``s.peak``, ``s.after`` (kB)."""

    pid: int
    interval: float = 0.01
    before: int = 0
    peak: int = 0
    after: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def __enter__(self) -> "RssSampler":
        self.before = self.peak = rss_kb(self.pid)
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.wait(self.interval):
            self.peak = max(self.peak, rss_kb(self.pid))

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.after = rss_kb(self.pid)
        self.peak = max(self.peak, self.after)

    @property
    def growth_mb(self) -> float:
        return (self.peak - self.before) / 1024


@dataclass
class GenerationLoop:
    """``with GenerationLoop(fn):`` calls ``fn()`` back to back in a thread until the block ends (or ``limit_s``)."""

    generate_once: object
    limit_s: float = 900
    runs: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def __enter__(self) -> "GenerationLoop":
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()
        return self

    def _loop(self) -> None:
        deadline = time.monotonic() + self.limit_s
        while not self._stop.is_set() and time.monotonic() < deadline:
            self.generate_once()
            self.runs += 1

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
