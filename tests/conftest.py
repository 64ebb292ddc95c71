"""Shared fixtures: a live app per test module, and helpers to make accounts on it."""

from __future__ import annotations

import itertools
import os
import shutil
import time

import pytest
import requests

from tests.live_server import LiveServer
from tests.postgres import PostgresServer
from tests.tiny_models import build_tiny_sd15

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

PASSWORD = "correct horse battery"
_names = itertools.count(1)


def pytest_generate_tests(metafunc):
    """A module that names ``DATABASES = ("sqlite", "postgresql")`` runs every test of it on each (its ``server``
    and ``database`` are the chosen one's); every other module runs on SQLite alone."""
    kinds = getattr(metafunc.module, "DATABASES", None)
    if kinds and "database" in metafunc.fixturenames:
        metafunc.parametrize("database", kinds, scope="module", indirect=True)


@pytest.fixture(scope="session")
def postgres():
    """One real PostgreSQL server for the session (tests.postgres); each user gets databases of its own."""
    running = PostgresServer().start()
    yield running
    running.stop()


@pytest.fixture(scope="module")
def database(request) -> str:
    """``sqlite`` or ``postgresql``: the kind of database the module's app and stores use."""
    return getattr(request, "param", "sqlite")


@pytest.fixture(scope="module")
def database_url(request, database) -> str | None:
    """A fresh PostgreSQL database's URL when the module runs on PostgreSQL; None on SQLite (a file per app)."""
    return request.getfixturevalue("postgres").new_database() if database == "postgresql" else None


@pytest.fixture
def store_target(request, database, tmp_path) -> str:
    """Where a test's own store lives: a fresh SQLite file, or a fresh PostgreSQL database's URL."""
    if database == "postgresql":
        return request.getfixturevalue("postgres").new_database()
    return str(tmp_path / "site.db")


@pytest.fixture(scope="module")
def server(tmp_path_factory, database_url):
    """The real app on a free loopback port, with a fresh database (a SQLite file, or a PostgreSQL database in
    modules that run on both); the first account is the admin."""
    live = LiveServer(tmp_path_factory.mktemp("app"), database_url=database_url).start()
    admin = requests.post(live.api("/api/v1/auth/register"),
                          json={"username": "site_admin", "password": PASSWORD}, timeout=30)
    assert admin.status_code == 201, admin.text
    live.admin_token = admin.json()["token"]
    yield live
    live.stop()


def tiny_checkpoint_site(tmp_path_factory, prepare=None, expected_models: int = 2) -> LiveServer:
    """A started app with the tiny SD 1.x checkpoint (single file + its configs folder) in models_dir and a user
    ``painter`` (``live.token``); ``prepare(live)`` adds files before the start, ``expected_models`` of them
    (demo left out) are listed before it returns."""
    tiny = build_tiny_sd15(tmp_path_factory.mktemp("tiny"))
    live = LiveServer(tmp_path_factory.mktemp("gen"))
    checkpoints = live.models_dir / "Stable-diffusion"
    checkpoints.mkdir(parents=True)
    shutil.copy(tiny.single_file, checkpoints / tiny.single_file.name)
    shutil.copytree(tiny.single_file_config, checkpoints / tiny.single_file_config.name)
    if prepare is not None:
        prepare(live, tiny)
    live.start()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if len(without_demo(requests.get(live.api("/api/v1/models")).json()["items"])) == expected_models:
            break
        time.sleep(0.3)
    live.token = requests.post(live.api("/api/v1/auth/register"),
                               json={"username": "painter", "password": PASSWORD}).json()["token"]
    models = without_demo(requests.get(live.api("/api/v1/models"), params={"types": "Checkpoint"}).json()["items"])
    live.checkpoint_id = models[0]["id"]
    return live


@pytest.fixture(scope="module")
def gen_server(tmp_path_factory):
    """An app with the tiny SD 1.x checkpoint and a LoRA in models_dir."""

    def add_lora(live, tiny):
        (live.models_dir / "Lora").mkdir()
        shutil.copy(tiny.lora, live.models_dir / "Lora" / "tiny_style.safetensors")

    live = tiny_checkpoint_site(tmp_path_factory, add_lora)
    yield live
    live.stop()


def unique_name(prefix: str = "user") -> str:
    return f"{prefix}{next(_names)}_{os.getpid() % 1000}"


def register(server: LiveServer, name: str | None = None, password: str = PASSWORD) -> dict:
    """Register over HTTP; returns ``{"user", "token", "session"}`` with a requests session holding the cookie."""
    session = requests.Session()
    reply = session.post(server.api("/api/v1/auth/register"),
                         json={"username": name or unique_name(), "password": password}, timeout=30)
    assert reply.status_code == 201, reply.text
    body = reply.json()
    return {"user": body["user"], "token": body["token"], "session": session}


def incoming_leftovers(server: LiveServer) -> list:
    """Partial uploads left in models_dir/.incoming (Gradio's own temp folder aside)."""
    incoming = server.models_dir / ".incoming"
    return [p for p in incoming.rglob("*") if p.is_file() and "gradio" not in p.parts and p.name != "owner.lock"] \
        if incoming.exists() else []


def without_demo(items: list[dict]) -> list[dict]:
    """Model listings minus the demo checkpoint every instance ships with."""
    return [item for item in items if not item.get("isDemo")]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
