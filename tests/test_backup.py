"""`python visionary_app.py backup PATH`: a consistent online copy while writes go on."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading

import requests

from tests.conftest import PASSWORD, bearer, register
from tests.live_server import ROOT, LiveServer, offline_env


def test_backup_while_writing_opens_in_the_app(server, tmp_path):
    writer = register(server)
    stop = threading.Event()
    writes = []

    def keep_writing():
        index = 0
        while not stop.is_set() and index < 400:
            reply = requests.patch(server.api("/api/v1/me"), headers=bearer(writer["token"]),
                                   json={"bio": f"bio number {index}"})
            writes.append(reply.status_code)
            index += 1

    thread = threading.Thread(target=keep_writing)
    thread.start()
    try:
        copy = tmp_path / "copy.db"
        result = subprocess.run([sys.executable, str(ROOT / "visionary_app.py"), "backup", str(copy),
                                 "--db", str(server.db_path)], capture_output=True, text=True,
                                env=offline_env(), timeout=120)
    finally:
        stop.set()
        thread.join()
    assert result.returncode == 0, result.stderr
    assert set(writes) == {200}
    with sqlite3.connect(copy) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"

    restored = LiveServer(tmp_path / "restored", args=[])
    restored.home.mkdir(parents=True)
    (restored.home / "data").mkdir()
    copy.rename(restored.db_path)
    restored.start()
    try:
        login = requests.post(restored.api("/api/v1/auth/login"),
                              json={"username": writer["user"]["username"], "password": PASSWORD})
        assert login.status_code == 200
        assert login.json()["user"]["bio"].startswith("bio number")
    finally:
        restored.stop()


def test_backup_usage_errors_are_clear(tmp_path):
    result = subprocess.run([sys.executable, str(ROOT / "visionary_app.py"), "backup"], capture_output=True,
                            text=True, env=offline_env(), timeout=60)
    assert result.returncode == 2
    assert "usage" in result.stderr


def test_database_is_sqlite_wal(server):
    with sqlite3.connect(server.db_path) as conn:
        assert conn.execute("pragma journal_mode").fetchone()[0] == "wal"
