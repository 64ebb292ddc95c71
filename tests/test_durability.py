"""Nothing lost: the server killed with SIGKILL in the middle of work, and a disk that fills up.

- kill -9 during a large upload and during a burst of writes: after a restart the database passes
  ``PRAGMA integrity_check``, every write that was answered 2xx is there, no partial file sits under a final
  name, and the start-up cleared the interrupted upload's temp file from ``models_dir/.incoming``;
- a full disk (the server runs under ``RLIMIT_FSIZE``, so a file can grow only so far and a write past it fails
  with EFBIG, as ENOSPC would): the upload gets a clear 507, leaves nothing behind, and the app keeps serving.
"""

from __future__ import annotations

import hashlib
import socket
import sqlite3
import threading
import time
from dataclasses import dataclass, field

import pytest
import requests

from tests import sample_files
from tests.community_helpers import upload_model
from tests.conftest import PASSWORD, bearer, incoming_leftovers
from tests.live_server import LiveServer

ANNOUNCED = 200_000_000  # what the interrupted upload claims to send
FSIZE_LIMIT = 8 * 1024 * 1024
# Runs visionary_app.py with a file-size limit and SIGXFSZ ignored, so a write past it fails with EFBIG.
LIMITED_START = ("import os, resource, runpy, signal, sys; signal.signal(signal.SIGXFSZ, signal.SIG_IGN); "
                 "resource.setrlimit(resource.RLIMIT_FSIZE, ({limit}, {limit})); sys.argv = sys.argv[1:]; "
                 "sys.path.insert(0, os.path.dirname(sys.argv[0])); runpy.run_path(sys.argv[0], run_name='__main__')")


@dataclass
class FsizeLimitedServer(LiveServer):
    """The app with every file it writes capped at ``limit`` bytes (a disk that is full past that point)."""

    limit: int = FSIZE_LIMIT

    def command(self) -> list[str]:
        python, *rest = super().command()
        return [python, "-c", LIMITED_START.format(limit=self.limit), *rest]


@dataclass
class Account:
    name: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return bearer(self.token)


def new_account(server: LiveServer, name: str) -> Account:
    reply = requests.post(server.api("/api/v1/auth/register"), json={"username": name, "password": PASSWORD},
                          timeout=60)
    assert reply.status_code == 201, reply.text
    return Account(name, reply.json()["token"])


def kill_and_restart(server: LiveServer) -> None:
    server.process.kill()  # SIGKILL: no shutdown handlers, no flushing
    server.process.wait(30)
    server.start()


def integrity(server: LiveServer) -> str:
    with sqlite3.connect(server.db_path, timeout=30) as db:
        return db.execute("PRAGMA integrity_check").fetchone()[0]


def stored_files(server: LiveServer) -> dict[str, tuple[int, str]]:
    """``stored_path -> (size, sha256)`` of every model file row."""
    with sqlite3.connect(server.db_path, timeout=30) as db:
        return {path: (size, sha) for path, size, sha in db.execute("SELECT stored_path, size, sha256 FROM model_file")}


def files_under_final_names(server: LiveServer) -> set[str]:
    """Files in models_dir outside its temp (``.incoming``) and built-in (``.builtin``) folders."""
    root = server.models_dir
    return {p.relative_to(root).as_posix() for p in root.rglob("*")
            if p.is_file() and not p.relative_to(root).parts[0].startswith(".")}


def assert_files_match_rows(server: LiveServer) -> None:
    rows = stored_files(server)
    on_disk = files_under_final_names(server)
    assert on_disk <= set(rows), f"files under a final name without a row: {on_disk - set(rows)}"
    for path, (size, sha) in rows.items():
        if path in on_disk:
            data = (server.models_dir / path).read_bytes()
            assert (len(data), hashlib.sha256(data).hexdigest()) == (size, sha), path


def start_streaming_upload(server: LiveServer, token: str) -> socket.socket:
    """A multipart upload that announces ``ANNOUNCED`` bytes and sends a few MB of them (the socket stays open)."""
    boundary = "durabilityBOUNDARY"
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.safetensors\"\r\n"
            f"Content-Type: application/octet-stream\r\n\r\n").encode()
    request = (f"POST /api/v1/models HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\nAuthorization: Bearer {token}\r\n"
               f"Content-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: {ANNOUNCED}\r\n\r\n")
    sock = socket.create_connection(("127.0.0.1", server.port))
    sock.sendall(request.encode() + head)
    for _ in range(10):
        sock.sendall(b"\x07" * 1_000_000)
    return sock


def wait_for(predicate, timeout: float = 20, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"{what} not reached in {timeout} s")


def serving(live: LiveServer):
    """A fixture's body: the started server, stopped afterwards."""
    yield live.start()
    live.stop()


@pytest.fixture
def crashy(tmp_path):
    yield from serving(LiveServer(tmp_path / "crashy"))


def test_kill_during_a_large_upload_loses_nothing_acknowledged(crashy, tmp_path):
    owner = new_account(crashy, "uploader")
    kept = upload_model(crashy, {"token": owner.token}, tmp_path, seed=71, name="Acknowledged")
    sock = start_streaming_upload(crashy, owner.token)
    try:
        partial = wait_for(lambda: incoming_leftovers(crashy), what="the upload's temp file")
        kill_and_restart(crashy)
    finally:
        sock.close()

    assert integrity(crashy) == "ok"
    assert not any(p.exists() for p in partial), "the interrupted upload's temp file survived the restart"
    assert incoming_leftovers(crashy) == []
    assert_files_match_rows(crashy)
    assert requests.get(crashy.api(f"/api/v1/models/{kept['id']}"), timeout=60).status_code == 200
    download = requests.get(kept["modelVersions"][0]["downloadUrl"], timeout=60)  # same port after the restart
    assert download.content == sample_files.embedding(tmp_path / "again.safetensors", seed=71).read_bytes()


@dataclass
class Burst:
    """Writer threads posting comments until the server dies; what was acknowledged."""

    server: LiveServer
    model_id: int
    accounts: list[Account]
    acknowledged: list[int] = field(default_factory=list)
    bios: dict[str, str] = field(default_factory=dict)
    stop: threading.Event = field(default_factory=threading.Event)

    def write(self, account: Account) -> None:
        session, index = requests.Session(), 0
        while not self.stop.is_set():
            index += 1
            try:
                comment = session.post(self.server.api(f"/api/v1/models/{self.model_id}/comments"),
                                       json={"body": f"{account.name} #{index}"}, headers=account.headers,
                                       timeout=30)
                if comment.status_code == 201:
                    self.acknowledged.append(comment.json()["id"])
                bio = session.patch(self.server.api("/api/v1/me"), json={"bio": f"bio {index}"},
                                    headers=account.headers, timeout=30)
                if bio.status_code == 200:
                    self.bios[account.name] = f"bio {index}"
            except requests.RequestException:
                return

    def run_until_killed(self, seconds: float) -> None:
        threads = [threading.Thread(target=self.write, args=(a,)) for a in self.accounts]
        for thread in threads:
            thread.start()
        time.sleep(seconds)
        self.server.process.kill()
        self.server.process.wait(30)
        self.stop.set()
        for thread in threads:
            thread.join(60)


def comment_ids(server: LiveServer, model_id: int) -> set[int]:
    with sqlite3.connect(server.db_path, timeout=30) as db:
        return {row[0] for row in db.execute("SELECT id FROM comment WHERE model_id = ?", (model_id,))}


def test_kill_during_a_burst_of_writes_keeps_every_acknowledged_one(crashy, tmp_path):
    owner = new_account(crashy, "burst_owner")
    model = upload_model(crashy, {"token": owner.token}, tmp_path, seed=72, name="Burst target")
    burst = Burst(crashy, model["id"], [owner, *(new_account(crashy, f"burst_{n}") for n in range(5))])
    burst.run_until_killed(seconds=4)
    crashy.start()

    assert integrity(crashy) == "ok"
    assert len(burst.acknowledged) > 10, "the burst should have written something before the kill"
    assert set(burst.acknowledged) <= comment_ids(crashy, model["id"])
    count = requests.get(crashy.api(f"/api/v1/models/{model['id']}"), timeout=60).json()["stats"]["commentCount"]
    assert count == len(comment_ids(crashy, model["id"]))
    for name, bio in burst.bios.items():  # the last acknowledged one, or one sent as the server died
        seen = requests.get(crashy.api(f"/api/v1/users/{name}"), timeout=60).json()["bio"]
        assert int(seen.split()[1]) >= int(bio.split()[1]), (name, seen, bio)


@pytest.fixture
def full_disk(tmp_path):
    yield from serving(FsizeLimitedServer(tmp_path / "full"))


def test_a_full_disk_gives_a_clear_error_and_leaves_nothing(full_disk, tmp_path):
    owner = new_account(full_disk, "disk_filler")
    big = tmp_path / "big.safetensors"
    big.write_bytes(b"\0" * (FSIZE_LIMIT + 4 * 1024 * 1024))
    before = files_under_final_names(full_disk)
    with open(big, "rb") as handle:
        reply = requests.post(full_disk.api("/api/v1/models"), headers=owner.headers,
                              files={"file": (big.name, handle)}, timeout=120)
    assert reply.status_code == 507, reply.text
    assert "disk is full" in reply.json()["error"]
    assert incoming_leftovers(full_disk) == []
    assert files_under_final_names(full_disk) == before

    assert requests.get(full_disk.api("/api/v1/models"), timeout=60).status_code == 200
    small = upload_model(full_disk, {"token": owner.token}, tmp_path, seed=73, name="Still fits")
    assert small["name"] == "Still fits"
    assert integrity(full_disk) == "ok"


def test_a_large_upload_is_stored_whole_while_the_disk_writes_it_as_it_comes(tmp_path, monkeypatch):
    """Past ``WRITEBACK_BYTES`` the sink hands each new range to the kernel's writeback (and the page cache lets
    it go) as the bytes come, instead of leaving a whole upload dirty for the final fsync; the stored bytes and
    their hash are still exactly what was sent. The real ``posix_fadvise`` runs; the calls are only recorded."""
    import os

    from core.library.ingest import WRITEBACK_BYTES, stage_stream

    if not hasattr(os, "posix_fadvise"):
        pytest.skip("no posix_fadvise on this system")
    advised, real_fadvise = [], os.posix_fadvise

    def recording_fadvise(fd, offset, length, advice):
        advised.append((offset, length, advice))
        return real_fadvise(fd, offset, length, advice)

    monkeypatch.setattr(os, "posix_fadvise", recording_fadvise)
    chunks = [hashlib.sha256(str(n).encode()).digest() * (1 << 15) for n in range(3 * WRITEBACK_BYTES >> 20)]
    sent = b"".join(chunks)
    staged = stage_stream(tmp_path, iter(chunks), "big.safetensors", max_bytes=1 << 30)
    assert staged.size == len(sent) > 2 * WRITEBACK_BYTES
    assert staged.sha256 == hashlib.sha256(sent).hexdigest()
    assert staged.path.read_bytes() == sent
    assert [offset for offset, _, _ in advised] == [n * WRITEBACK_BYTES for n in range(len(advised))]
    assert len(advised) == 3 and all(length == WRITEBACK_BYTES and advice == os.POSIX_FADV_DONTNEED
                                     for _, length, advice in advised)
