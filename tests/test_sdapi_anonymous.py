"""``--sdapi-anonymous-user``: a hobbyist's own machine, where A1111 tools (Krita and Photoshop plugins, chat
front-ends, scripts) call ``/sdapi/v1`` without credentials, as they call A1111. Off by default; it never opens
``/api/v1`` or the UI; an unknown name stops the start; a banned account is refused."""

from __future__ import annotations

import subprocess
import sys

import requests
import webuiapi

from tests.conftest import PASSWORD, bearer
from tests.live_server import ROOT, LiveServer, free_port, offline_env

DEMO = dict(prompt="a red circle on a blue background", steps=4, width=64, height=64, seed=3)


def test_an_unknown_name_stops_the_start_with_one_line(tmp_path):
    out = subprocess.run([sys.executable, str(ROOT / "visionary_app.py"), "--port", str(free_port()),
                          "--db", str(tmp_path / "site.db"), "--models-dir", str(tmp_path / "models"),
                          "--outputs-dir", str(tmp_path / "outputs"), "--sdapi-anonymous-user", "nobody"],
                         capture_output=True, text=True, env=offline_env(), cwd=tmp_path, timeout=180)
    assert out.returncode == 2
    assert out.stderr.strip().splitlines()[-1] == ("visionary_app.py: --sdapi-anonymous-user: no user named 'nobody' "
                                                   "(register it first)")


def test_credentialless_a1111_tools_act_as_the_named_user_on_sdapi_only(tmp_path):
    live = LiveServer(tmp_path).start()
    try:
        admin = requests.post(live.api("/api/v1/auth/register"), json={"username": "admin", "password": PASSWORD})
        requests.post(live.api("/api/v1/auth/register"), json={"username": "hobbyist", "password": PASSWORD})
        assert requests.post(live.api("/sdapi/v1/txt2img"), json=DEMO).status_code == 401  # off by default

        live.args = ["--sdapi-anonymous-user", "hobbyist", "--host", "0.0.0.0"]
        live.restart()
        assert "anyone who can reach this address generates as hobbyist" in live.log()
        made = webuiapi.WebUIApi(host="127.0.0.1", port=live.port).txt2img(**DEMO)  # no credentials at all
        assert made.image.size == (64, 64)
        mine = requests.get(live.api("/api/v1/images"), params={"mine": "true"},
                            headers=bearer(requests.post(live.api("/api/v1/auth/login"), json={
                                "username": "hobbyist", "password": PASSWORD}).json()["token"])).json()["items"]
        assert len(mine) == 1  # saved as the hobbyist's, private like any generation
        assert requests.get(live.api("/api/v1/me")).status_code == 401  # the REST API does not know the flag
        assert requests.post(live.api("/api/v1/txt2img"), json=DEMO).status_code == 401

        requests.post(live.api("/api/v1/admin/users/hobbyist/ban"), headers=bearer(admin.json()["token"]))
        refused = requests.post(live.api("/sdapi/v1/txt2img"), json=DEMO)
        assert (refused.status_code, refused.json()["error"]) == (403, "this account is banned")
    finally:
        live.stop()
