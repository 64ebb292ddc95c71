"""The command line: --help documents every setting; restarts keep sessions; --share offline."""

from __future__ import annotations

import socket
import subprocess
import sys

import pytest
import requests

from core.config import SETTINGS
from tests.conftest import PASSWORD
from tests.live_server import ROOT, LiveServer, free_port, offline_env

SPEC_FLAGS = ["--host", "--port", "--share", "--models-dir", "--outputs-dir", "--db", "--device", "--cache-models",
              "--max-concurrent-generations", "--max-upload-gb", "--private", "--admin-user", "--local-owner"]


def test_help_lists_every_flag():
    out = subprocess.run([sys.executable, str(ROOT / "visionary_app.py"), "--help"], capture_output=True,
                         text=True, env=offline_env(), timeout=60)
    assert out.returncode == 0
    for flag in SPEC_FLAGS + [s.flag for s in SETTINGS]:
        assert flag in out.stdout, flag
    for setting in SETTINGS:
        assert setting.env in out.stdout, setting.env


def test_bad_flag_value_is_a_clear_error():
    out = subprocess.run([sys.executable, str(ROOT / "visionary_app.py"), "--port", "99999"], capture_output=True,
                         text=True, env=offline_env(), timeout=60)
    assert out.returncode == 2
    assert "--port must be 1-65535" in out.stderr


@pytest.mark.parametrize("flags, message", [
    (["--generation-backend", "gpu"], "--generation-backend must be local or ray, got 'gpu'"),
    (["--ray-replicas", "3:1"], "--ray-replicas '3:1': expected MIN:MAX with 0 <= MIN <= MAX"),
    (["--ray-models-per-replica", "0"], "--ray-models-per-replica must be at least 1"),
])
def test_a_bad_generation_pool_setting_stops_the_start_with_its_name(flags, message):
    out = subprocess.run([sys.executable, str(ROOT / "visionary_app.py"), *flags], capture_output=True, text=True,
                         env=offline_env(), timeout=60)
    assert out.returncode == 2
    assert message in out.stderr


def test_a_port_another_program_holds_stops_the_start_before_anything_slow(tmp_path):
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        unreachable_cluster = ["--generation-backend", "ray", "--ray-address", f"127.0.0.2:{free_port()}"]
        out = subprocess.run([sys.executable, str(ROOT / "visionary_app.py"), "--port", str(port),
                              "--db", str(tmp_path / "site.db"), "--models-dir", str(tmp_path / "models"),
                              *unreachable_cluster], capture_output=True, text=True, env=offline_env(), cwd=tmp_path,
                             timeout=120)
    assert out.returncode == 2
    assert f"cannot listen on 127.0.0.1:{port}" in out.stderr and "choose another --port" in out.stderr
    assert "Ray" not in out.stderr + out.stdout  # the port is checked before the cluster is joined


def test_session_survives_restart_and_admin_user_flag(tmp_path):
    live = LiveServer(tmp_path).start()
    try:
        requests.post(live.api("/api/v1/auth/register"), json={"username": "first", "password": PASSWORD})
        second = requests.post(live.api("/api/v1/auth/register"), json={"username": "second", "password": PASSWORD})
        token = second.json()["token"]
        assert second.json()["user"]["isAdmin"] is False
        live.args = ["--admin-user", "second"]
        live.restart()
        me = requests.get(live.api("/api/v1/me"), cookies={"visionary_session": token})
        assert me.status_code == 200
        assert me.json()["username"] == "second"
        assert me.json()["isAdmin"] is True
    finally:
        live.stop()


def test_share_without_network_prints_one_clear_line(tmp_path):
    live = LiveServer(tmp_path, args=["--share"]).start()
    try:
        assert requests.get(live.api("/api/v1/health")).status_code == 200
        deadline_log = ""
        for _ in range(80):
            deadline_log = live.log()
            if "--share:" in deadline_log:
                break
            import time
            time.sleep(0.25)
        assert "no share link" in deadline_log
        assert live.url.replace("127.0.0.1", "127.0.0.1") in deadline_log
        assert requests.get(live.url + "/").status_code == 200
    finally:
        live.stop()


def test_readme_configuration_table_lists_every_setting():
    readme = (ROOT / "README.md").read_text()
    table = readme[readme.index("## Configuration"):]
    for setting in SETTINGS:
        assert f"`{setting.flag}`" in table, setting.flag
        assert f"`{setting.env}`" in table, setting.env


def test_readme_starts_with_the_two_commands():
    readme = (ROOT / "README.md").read_text()
    first_block = readme.split("```")[1]
    assert "make run" in first_block and "make test" in first_block
    assert "make test" in (ROOT / ".ci" / "run").read_text()
