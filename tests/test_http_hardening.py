"""Findings 3, 6, 9 and 10 of the red-team (issue 15): the HTTP layer against a hostile client.

3. another local origin could write with the victim's cookie by sending ``X-Forwarded-Host``; Gradio's CORS
   answered its preflights with credentials allowed;
6. JSON bodies had no size limit (a 400 MB login body was read into memory);
9. the A1111 API showed the server's absolute folders and file paths to visitors;
10. clients sending headers or an upload slowly (or not at all) kept their connections for ever.
The app runs as a subprocess; ``--client-timeout 2`` keeps the waits of finding 10 short.
"""

from __future__ import annotations

import base64
import io
import json
import os
import socket
import time
from pathlib import Path

import pytest
import requests
from PIL import Image
from PIL.PngImagePlugin import PngInfo

from tests import sample_files
from tests.client_address import client_at
from tests.community_helpers import upload_model
from tests.conftest import PASSWORD, bearer, incoming_leftovers, register, unique_name
from tests.live_server import LiveServer

CLIENT_TIMEOUT = 2
CLOSED_WITHIN = 12  # seconds: generous for a 2 s timeout checked every 0.5 s on a busy machine
ATTACKER_ORIGIN = "http://127.0.0.1:9999"
PUBLIC_ORIGIN = "https://art.example.org"
PROXY = "127.0.0.2"


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """Default settings but a short client timeout; a LoRA, a VAE and a checkpoint dropped into models_dir."""
    live = LiveServer(tmp_path_factory.mktemp("hardening"), args=["--client-timeout", str(CLIENT_TIMEOUT)])
    sample_files.sd15_checkpoint(live.models_dir / "Stable-diffusion" / "dropped.safetensors")
    sample_files.kohya_lora(live.models_dir / "Lora" / "pastel.safetensors")
    sample_files.vae(live.models_dir / "VAE" / "soft.safetensors")
    live.start()
    live.admin = register(live, "hardening_admin")
    yield live
    live.stop()


@pytest.fixture(scope="module")
def proxied(tmp_path_factory):
    """Behind a reverse proxy at 127.0.0.2, published as https://art.example.org."""
    live = LiveServer(tmp_path_factory.mktemp("proxied"),
                      args=["--forwarded-allow-ips", PROXY, "--public-origin", PUBLIC_ORIGIN]).start()
    register(live, "proxied_admin")
    yield live
    live.stop()


def connect(server: LiveServer) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", server.port))
    sock.settimeout(CLOSED_WITHIN + 5)
    return sock


def read_until_closed(sock: socket.socket) -> tuple[bytes, float]:
    """Everything the server sends until it closes the connection, and how long that took."""
    started, received = time.monotonic(), b""
    while True:
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            break
        if not chunk:
            break
        received += chunk
    return received, time.monotonic() - started


def status_of(response: bytes) -> int:
    return int(response.split(b" ", 2)[1])


def json_of(response: bytes) -> dict:
    return json.loads(response.split(b"\r\n\r\n", 1)[1])


def memory_kb(server: LiveServer) -> dict[str, int]:
    """The server process's resident (VmRSS) and peak resident (VmHWM) memory."""
    lines = Path(f"/proc/{server.process.pid}/status").read_text().splitlines()
    return {key: int(line.split()[1]) for line in lines for key in ("VmRSS", "VmHWM") if line.startswith(key + ":")}


# --------------------------------------------------------------------------- finding 3: origins and CORS
def test_finding_3_another_local_origin_cannot_write_with_the_victims_cookie(site, tmp_path):
    victim = register(site)
    model = upload_model(site, victim, tmp_path, seed=3)
    comment = victim["session"].post(site.api(f"/api/v1/models/{model['id']}/comments"), json={"body": "mine"})
    assert comment.status_code in (200, 201), comment.text
    attack = {"Origin": ATTACKER_ORIGIN, "Sec-Fetch-Site": "same-site", "X-Forwarded-Host": "127.0.0.1:9999"}

    patched = victim["session"].patch(site.api("/api/v1/me"), json={"bio": "pwned"}, headers=attack)
    deleted = victim["session"].delete(site.api(f"/api/v1/comments/{comment.json()['id']}"), headers=attack)

    for reply in (patched, deleted):
        assert reply.status_code == 403, reply.text
        assert "cross-site" in reply.json()["error"]
    assert victim["session"].get(site.api("/api/v1/me")).json()["bio"] == ""
    listed = requests.get(site.api(f"/api/v1/models/{model['id']}/comments")).json()["items"]
    assert [c["body"] for c in listed] == ["mine"]
    # The site's own page still writes.
    own = victim["session"].patch(site.api("/api/v1/me"), json={"bio": "hello"}, headers={"Origin": site.url})
    assert own.status_code == 200 and own.json()["bio"] == "hello"


@pytest.mark.parametrize("path", ["/api/v1/me", "/gradio_api/queue/join", "/gradio_api/upload", "/config", "/"])
def test_finding_3_no_cors_permission_for_another_origin(site, path):
    preflight = requests.options(site.api(path), headers={
        "Origin": ATTACKER_ORIGIN, "Access-Control-Request-Method": "PATCH",
        "Access-Control-Request-Headers": "content-type, x-forwarded-host"})
    assert preflight.status_code == 403
    assert not [h for h in preflight.headers if h.lower().startswith("access-control-")], preflight.headers
    victim = register(site)
    simple = victim["session"].get(site.api(path), headers={"Origin": ATTACKER_ORIGIN})
    assert "access-control-allow-origin" not in simple.headers
    assert "access-control-allow-credentials" not in simple.headers


def test_forwarded_headers_from_anyone_but_a_trusted_proxy_are_ignored(site):
    forged = {"X-Forwarded-Host": "evil.example", "X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"}
    config = requests.get(site.api("/config"), headers=forged)
    assert config.status_code == 200
    assert "evil.example" not in config.json()["root"]
    registered = requests.post(site.api("/api/v1/auth/register"), headers=forged,
                               json={"username": unique_name("forger"), "password": PASSWORD})
    assert registered.status_code == 201
    assert "secure" not in registered.headers["set-cookie"].lower()  # the request came over plain http


def test_behind_the_trusted_proxy_the_public_origin_writes_and_others_do_not(proxied):
    proxy = client_at(PROXY)
    via_proxy = {"X-Forwarded-Host": "art.example.org", "X-Forwarded-Proto": "https",
                 "X-Forwarded-For": "203.0.113.7"}
    registered = proxy.post(proxied.api("/api/v1/auth/register"), headers=via_proxy,
                            json={"username": unique_name("reader"), "password": PASSWORD})
    assert registered.status_code == 201, registered.text
    assert "secure" in registered.headers["set-cookie"].lower()  # the proxy's X-Forwarded-Proto was believed
    cookie = {"Cookie": f"visionary_session={registered.json()['token']}"}

    own = proxy.patch(proxied.api("/api/v1/me"), json={"bio": "from the public site"},
                      headers=via_proxy | cookie | {"Origin": PUBLIC_ORIGIN, "Sec-Fetch-Site": "same-origin"})
    assert own.status_code == 200, own.text
    foreign = proxy.patch(proxied.api("/api/v1/me"), json={"bio": "pwned"},
                          headers=via_proxy | cookie | {"Origin": ATTACKER_ORIGIN, "Sec-Fetch-Site": "cross-site"})
    assert foreign.status_code == 403
    # A page on another origin cannot pass for the public one by naming it in X-Forwarded-Host itself.
    direct = requests.patch(proxied.api("/api/v1/me"), json={"bio": "pwned"},
                            headers=cookie | {"Origin": ATTACKER_ORIGIN, "X-Forwarded-Host": "127.0.0.1:9999"})
    assert direct.status_code == 403
    assert proxy.get(proxied.api("/api/v1/me"), headers=cookie).json()["bio"] == "from the public site"
    assert proxy.get(proxied.api("/config"), headers=via_proxy).json()["root"].startswith(PUBLIC_ORIGIN)


def test_behind_the_trusted_proxy_each_forwarded_client_is_a_client_of_its_own(proxied):
    """The login throttle counts the address the proxy appended to X-Forwarded-For (a port ignored), not the
    proxy's, nor the one the client wrote there itself."""
    owner = register(proxied)["user"]["username"]
    proxy = client_at(PROXY)

    def log_in(password: str, client: str) -> int:
        return proxy.post(proxied.api("/api/v1/auth/login"), json={"username": owner, "password": password},
                          headers={"X-Forwarded-For": f"198.51.100.1, {client}"}, timeout=60).status_code

    assert [log_in("a wrong guess", "203.0.113.66:4711") for _ in range(6)] == [401] * 5 + [429]
    assert log_in(PASSWORD, "203.0.113.77") == 200  # the owner, elsewhere behind the same proxy


# --------------------------------------------------------------------------- finding 6: body sizes
def test_finding_6_a_huge_json_body_is_refused_before_it_is_read(site):
    memory_before = memory_kb(site)
    with connect(site) as sock:
        sock.sendall(f"POST /api/v1/auth/login HTTP/1.1\r\nHost: 127.0.0.1:{site.port}\r\n"
                     f"Content-Type: application/json\r\nContent-Length: 400000000\r\n\r\n".encode())
        try:
            sock.sendall(b'{"username": "' + b"a" * 1_000_000)  # of the 400 MB announced, one is sent
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered and closed without reading it
        response, took = read_until_closed(sock)
    assert status_of(response) == 413
    assert "limit of 1 MB" in json_of(response)["error"]
    assert took < 5
    memory_after = memory_kb(site)
    assert memory_after["VmHWM"] - memory_before["VmHWM"] < 8_000  # kB: the peak did not move
    assert memory_after["VmRSS"] - memory_before["VmRSS"] < 8_000


def test_finding_6_a_chunked_body_is_cut_at_the_limit_and_nothing_changes(site):
    account = register(site)
    chunk = b"a" * 65536
    with connect(site) as sock:
        sock.sendall(f"PATCH /api/v1/me HTTP/1.1\r\nHost: 127.0.0.1:{site.port}\r\n"
                     f"Authorization: Bearer {account['token']}\r\nContent-Type: application/json\r\n"
                     f"Transfer-Encoding: chunked\r\n\r\n".encode())
        try:
            for piece in [b'{"bio": "'] + [chunk] * 40:  # 2.5 MB if the server read it all
                sock.sendall(b"%x\r\n%s\r\n" % (len(piece), piece))
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered and closed before all of it was sent
        response, _ = read_until_closed(sock)
    assert status_of(response) == 413, response[:300]
    assert "limit of 1 MB" in json_of(response)["error"]
    assert requests.get(site.api("/api/v1/me"), headers=bearer(account["token"])).json()["bio"] == ""


def test_png_info_takes_a_base64_image_larger_than_the_json_limit(site):
    noise = Image.frombytes("RGB", (700, 700), os.urandom(700 * 700 * 3))
    info = PngInfo()
    info.add_text("parameters", "a noisy field\nSteps: 20, Sampler: Euler a, CFG scale: 7, Seed: 5, Size: 700x700")
    buffer = io.BytesIO()
    noise.save(buffer, format="PNG", pnginfo=info)
    image = base64.b64encode(buffer.getvalue()).decode()
    assert len(image) > 1024 * 1024
    reply = requests.post(site.api("/sdapi/v1/png-info"), json={"image": image})
    assert reply.status_code == 200, reply.text[:300]
    assert reply.json()["info"].startswith("a noisy field")


# --------------------------------------------------------------------------- finding 9: server paths
def test_finding_9_the_a1111_api_shows_visitors_no_server_path(site):
    deadline = time.monotonic() + 60
    while len(requests.get(site.api("/sdapi/v1/loras")).json()) < 1 and time.monotonic() < deadline:
        time.sleep(0.3)
    folders = [str(site.home), str(site.models_dir.resolve()), str(site.outputs_dir.resolve())]
    for route in ("cmd-flags", "options", "loras", "sd-models", "sd-vae"):
        reply = requests.get(site.api(f"/sdapi/v1/{route}"))
        assert reply.status_code == 200, reply.text
        assert not any(folder in reply.text for folder in folders), (route, reply.text)
    [lora] = requests.get(site.api("/sdapi/v1/loras")).json()
    assert lora["path"] == "Lora/pastel.safetensors"
    filenames = {m["filename"] for m in requests.get(site.api("/sdapi/v1/sd-models")).json()}
    assert "Stable-diffusion/dropped.safetensors" in filenames
    assert requests.get(site.api("/sdapi/v1/sd-vae")).json()[0]["filename"] == "VAE/soft.safetensors"


# --------------------------------------------------------------------------- finding 10: slow clients
@pytest.mark.parametrize("head", [b"", b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "])
def test_finding_10_a_connection_without_complete_headers_is_closed(site, head):
    with connect(site) as sock:
        sock.sendall(head)
        response, took = read_until_closed(sock)
    assert took < CLOSED_WITHIN
    if head:
        assert status_of(response) == 408
    else:  # nothing was asked: nothing to answer
        assert response == b""


def test_finding_10_headers_sent_a_byte_at_a_time_are_cut_at_the_deadline(site):
    with connect(site) as sock:
        started = time.monotonic()
        try:
            for byte in b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"z" * 100:
                sock.sendall(bytes([byte]))
                time.sleep(0.25)
        except (BrokenPipeError, ConnectionResetError):
            pass
        read_until_closed(sock)
    assert time.monotonic() - started < CLOSED_WITHIN


def test_oversized_headers_are_refused(site):
    with connect(site) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        try:
            for _ in range(40):
                sock.sendall(b"X-Big: " + b"b" * 8000 + b"\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass
        response, _ = read_until_closed(sock)
    assert status_of(response) == 431


def multipart_head(boundary: str, field: str, filename: str) -> bytes:
    return (f"--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"{filename}\"\r\n"
            f"Content-Type: application/octet-stream\r\n\r\n").encode()


def stalled_upload(server: LiveServer, path: str, token: str, field: str, trickle: bool) -> tuple[float, list]:
    """Start an upload of 20 MB, send 5 MB of it, then nothing (or a byte every half second).

    Returns how long the server took to close the connection once the client slowed down, and the temp files
    seen while the upload was streaming."""
    boundary = "stalledBOUNDARY"
    with connect(server) as sock:
        sock.sendall(f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\nAuthorization: Bearer {token}\r\n"
                     f"Content-Type: multipart/form-data; boundary={boundary}\r\n"
                     f"Content-Length: 20000000\r\n\r\n".encode() + multipart_head(boundary, field, "slow.safetensors"))
        sock.sendall(b"\x01" * 5_000_000)  # more than the REST reader gathers before it writes (4 MB)
        deadline = time.monotonic() + 10
        while not (seen := partial_files(server)) and time.monotonic() < deadline:
            time.sleep(0.05)
        slowed = time.monotonic()
        sock.setblocking(False)
        while time.monotonic() - slowed < CLOSED_WITHIN:
            try:
                if sock.recv(65536) == b"":
                    break
            except BlockingIOError:
                pass
            except ConnectionResetError:
                break
            if trickle:
                try:
                    sock.send(b"\x01")
                except (BrokenPipeError, ConnectionResetError):
                    break
            time.sleep(0.5)
        return time.monotonic() - slowed, seen


def partial_files(server: LiveServer) -> list[Path]:
    """Temp files of uploads in progress: ours in models_dir/.incoming, Gradio's directly in its folder there."""
    gradio = server.models_dir / ".incoming" / "gradio"
    return incoming_leftovers(server) + ([p for p in gradio.iterdir() if p.is_file()] if gradio.exists() else [])


def model_count(server: LiveServer, token: str) -> int:
    return requests.get(server.api("/api/v1/models"), headers=bearer(token)).json()["metadata"]["totalItems"]


@pytest.mark.parametrize("trickle", [False, True], ids=["silent", "a-byte-at-a-time"])
@pytest.mark.parametrize("path, field", [("/api/v1/models", "file"), ("/gradio_api/upload", "files")],
                         ids=["rest", "gradio"])
def test_finding_10_a_stalled_upload_is_dropped_and_leaves_no_file(site, path, field, trickle):
    token = site.admin["token"]
    before = model_count(site, token)
    took, seen = stalled_upload(site, path, token, field, trickle)
    assert seen, "the upload should have been streaming into a temp file"
    assert took < CLOSED_WITHIN
    deadline = time.monotonic() + 10
    while partial_files(site) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert partial_files(site) == []
    assert model_count(site, token) == before


def test_a_refused_upload_is_not_read_to_its_end(site):
    """An early answer (a visitor may not upload) closes the connection instead of draining a 20 GB body."""
    with connect(site) as sock:
        sock.sendall(f"POST /gradio_api/upload HTTP/1.1\r\nHost: 127.0.0.1:{site.port}\r\n"
                     f"Content-Type: multipart/form-data; boundary=b\r\nContent-Length: 20000000000\r\n\r\n".encode())
        sock.sendall(b"\x01" * 100_000)
        response, took = read_until_closed(sock)
    assert status_of(response) == 401
    assert took < 5


def test_ordinary_requests_keep_their_connection(site):
    """The deadlines cost ordinary clients nothing: one connection serves request after request."""
    login = json.dumps({"username": "nobody_here", "password": "wrong password"}).encode()
    requests_in_a_row = [b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\n\r\n",
                         b"POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                         b"Content-Length: %d\r\n\r\n%s" % (len(login), login),
                         b"GET /sdapi/v1/samplers HTTP/1.1\r\nHost: x\r\n\r\n"]
    with connect(site) as sock:
        reader = sock.makefile("rb")
        statuses = []
        for request in requests_in_a_row:
            sock.sendall(request)
            statuses.append(status_of(reader.readline()))
            length = 0
            while (line := reader.readline()) != b"\r\n":
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            reader.read(length)
    assert statuses == [200, 401, 200]
