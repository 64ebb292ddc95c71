"""The real app as a subprocess on a free loopback port, with its own tmp folders and SQLite file."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

from tests.raw_sql import run_sql

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def offline_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update({"GRADIO_ANALYTICS_ENABLED": "False", "HF_HUB_OFFLINE": "1", "PYTHONUNBUFFERED": "1"})
    # Test modules and benchmarks make many accounts from 127.0.0.1; the registration throttle's own tests pass
    # --registrations-per-hour, which wins over this.
    env.setdefault("VISIONARY_REGISTRATIONS_PER_HOUR", "1000")
    env.update(extra)
    return env


class PortTaken(RuntimeError):
    """The port picked for the server was taken before the server could bind it."""


@dataclass
class LiveServer:
    """``python visionary_app.py`` with its data under ``home``; start/stop/restart at will."""

    home: Path
    args: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None
    database_url: str | None = None  # a postgresql:// URL; None: a SQLite file under ``home``

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def db_path(self) -> Path:
        return self.home / "data" / "visionary.db"

    @property
    def models_dir(self) -> Path:
        return self.home / "models"

    @property
    def outputs_dir(self) -> Path:
        return self.home / "outputs"

    @property
    def database(self) -> str:
        """What ``--db`` says: the SQLite file, or the PostgreSQL URL."""
        return self.database_url or str(self.db_path)

    def command(self) -> list[str]:
        return [sys.executable, str(ROOT / "visionary_app.py"), "--port", str(self.port),
                "--db", self.database, "--models-dir", str(self.models_dir),
                "--outputs-dir", str(self.outputs_dir), *self.args]

    def sql(self, statement: str, params: tuple = ()) -> list[tuple]:
        """Run one statement on the server's own database, as another program would (tests.raw_sql)."""
        return run_sql(self.database, statement, params)

    def start(self, timeout: float = 120, tries: int = 3) -> "LiveServer":
        """Started and healthy. The free port was only free when it was picked: another process on this busy
        machine (a Ray worker, say) may take it before the app binds it, so that start is retried on a new one."""
        for _ in range(tries - 1):
            try:
                return self._start_once(timeout)
            except PortTaken:
                self.port = free_port()
        return self._start_once(timeout)

    def _start_once(self, timeout: float) -> "LiveServer":
        self.home.mkdir(parents=True, exist_ok=True)
        self.log_path = self.home / f"server-{self.port}.log"
        log = open(self.log_path, "ab")
        self.process = subprocess.Popen(self.command(), cwd=self.home, env=offline_env(**self.env),
                                        stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                failure = PortTaken if f"cannot listen on 127.0.0.1:{self.port}" in self.log() else RuntimeError
                raise failure(f"server exited with {self.process.returncode}:\n{self.log()}")
            try:
                if requests.get(self.url + "/api/v1/health", timeout=2).status_code == 200:
                    return self
            except (requests.ConnectionError, requests.Timeout):
                pass
            time.sleep(0.25)
        self.stop()
        raise RuntimeError(f"server did not start in {timeout}s:\n{self.log()}")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def restart(self) -> "LiveServer":
        self.stop()
        return self.start()

    def log(self) -> str:
        path = getattr(self, "log_path", None)
        return path.read_text(errors="replace")[-5000:] if path and path.exists() else ""

    def api(self, path: str) -> str:
        return self.url + path
