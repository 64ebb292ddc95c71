"""3. Upload ingest over HTTP (stream + hash + validate + fsync + atomic store) vs ``openssl dgst -sha256``.

Also, for context: ``dd conv=fsync`` of the same file (the disk's durable write
rate, which bounds any store that fsyncs), plain ``dd`` (how fast the page
cache takes the bytes at all, which bounds any store) and CPU seconds per GB (server and
curl vs openssl: independent of how loaded the machine is).

The client is ``curl -F file=@...`` (C, streams the file, sends Content-Length)
so the client is not the bottleneck.  Each round uploads the same file, checks
the server's SHA-256 against openssl's, and deletes the model again (the
library refuses duplicates).  The server's ``VmRSS`` is sampled during the
upload.  A separate server started through ``bench.hashcount`` counts the bytes
fed to each hash during one upload: the number of passes over the bytes (SHA-256
twice: the file's own and AutoV3's, of the same bytes past the header; BLAKE3 and
CRC32 once), all fed from the one read of the request body.  A third server,
started through ``bench.sha256only``, hashes uploads with SHA-256 alone as the
app did before the other kinds: its throughput, side by side, is what they cost.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import requests

from bench import server as srv
from bench.common import Row, Workspace, alternate, median, timed, wait_until
from tests.live_server import ROOT, LiveServer

MB = 1_000_000
TARGET = 0.8
HASH_KINDS_COST = 0.1  # AutoV1, AutoV3, CRC32 and BLAKE3 may cost at most 10 % of the upload's throughput
RSS_LIMIT_MB = 100
BLOCK = 16 << 20


@dataclass(frozen=True)
class Sizes:
    size: int
    rounds: int


FULL = Sizes(size=1 << 30, rounds=3)
QUICK = Sizes(size=8 << 20, rounds=1)


class CountingServer(LiveServer):
    """The app started through ``bench.hashcount`` (same arguments)."""

    def command(self) -> list[str]:
        return [sys.executable, "-m", "bench.hashcount", *super().command()[2:]]


class Sha256OnlyServer(LiveServer):
    """The app started through ``bench.sha256only``: uploads hashed with SHA-256 alone, as before the other kinds."""

    def command(self) -> list[str]:
        return [sys.executable, "-m", "bench.sha256only", *super().command()[2:]]


def write_safetensors(path: Path, size: int) -> Path:
    """A valid safetensors file of exactly ``size`` bytes: one U8 tensor of random bytes."""

    def header(n: int) -> bytes:
        return json.dumps({"__metadata__": {"format": "pt"},
                           "blob": {"dtype": "U8", "shape": [n], "data_offsets": [0, n]}}).encode()

    length = -(-len(header(size)) // 8) * 8
    n = size - 8 - length
    block = os.urandom(min(BLOCK, n))
    with open(path, "wb") as handle:
        handle.write(length.to_bytes(8, "little") + header(n).ljust(length, b" "))
        for start in range(0, n, len(block)):
            handle.write(block[:n - start])
    return path


def openssl_sha256(path: Path) -> str:
    out = subprocess.run(["openssl", "dgst", "-sha256", "-r", str(path)], check=True, capture_output=True, text=True)
    return out.stdout.split()[0]


def curl_upload(server: LiveServer, headers: dict, path: Path, name: str) -> dict:
    reply = path.with_name("reply.json")
    subprocess.run(["curl", "-sS", "--fail-with-body", "-o", str(reply), "-H", "Expect:",
                    "-H", f"Authorization: {headers['Authorization']}",
                    "-F", f"file=@{path};type=application/octet-stream", "-F", f"name={name}",
                    server.api("/api/v1/models")], check=True, timeout=900)
    return json.loads(reply.read_text())


def sha256_of(model: dict) -> str:
    return model["modelVersions"][0]["files"][0]["hashes"]["SHA256"].lower()


def delete_model(server: LiveServer, headers: dict, model: dict) -> None:
    requests.delete(server.api(f"/api/v1/models/{model['id']}"), headers=headers, timeout=120).raise_for_status()


def warm_up(ws: Workspace, server: LiveServer, headers: dict) -> None:
    """One small upload first: the server's first one imports the safetensors library (and torch)."""
    small = write_safetensors(ws.path("upload-src") / "small.safetensors", 1 << 20)
    delete_model(server, headers, curl_upload(server, headers, small, "warm-up"))


def check_disk(folder: Path, size: int) -> None:
    free = shutil.disk_usage(folder).free
    if free < 2 * size + (1 << 30):
        raise RuntimeError(f"needs {2 * size / 1e9 + 1:.1f} GB free in {folder}, {free / 1e9:.1f} GB free")


HASH_KINDS = ("sha256", "blake3", "crc32")


def hashed_bytes(server: LiveServer, counts: Path) -> dict[str, int]:
    """The counting server's byte totals per hash kind so far (it writes them on SIGUSR1)."""
    counts.unlink(missing_ok=True)
    server.process.send_signal(signal.SIGUSR1)
    wait_until(counts.exists, 30, 0.05, "hash counts written")
    totals = json.loads(counts.read_text())
    return {kind: totals[f"{kind}_bytes"] for kind in HASH_KINDS}


def count_hash_passes(ws: Workspace, source: Path, size: int) -> dict[str, float]:
    """Bytes fed to each hash kind by the server during one upload, divided by the file size."""
    counts = ws.path("upload-count") / "counts.json"
    server = srv.start(ws.path("upload-count") / "home", server_class=CountingServer,
                       BENCH_HASH_COUNTS=str(counts), PYTHONPATH=str(ROOT))
    try:
        headers = srv.register(server)
        before = hashed_bytes(server, counts)
        curl_upload(server, headers, source, "counted")
        after = hashed_bytes(server, counts)
        return {kind: (after[kind] - before[kind]) / size for kind in HASH_KINDS}
    finally:
        server.stop()


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of ``pid`` so far (/proc/PID/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


@dataclass
class Sides:
    """The three sides of a round (upload, openssl, disk write), each returning MB/s; extras recorded on the way."""

    ws: Workspace
    server: LiveServer
    headers: dict
    sha256_only: LiveServer  # the same app hashing uploads with SHA-256 alone (bench.sha256only)
    sha256_only_headers: dict
    source: Path
    expected: str
    size: int
    growth_mb: list[float] = field(default_factory=list)
    cpu_s: dict[str, list[float]] = field(default_factory=lambda: {"server": [], "curl": [], "openssl": []})

    def upload(self) -> float:
        model, cpu, children = {}, cpu_seconds(self.server.process.pid), children_cpu_seconds()
        with srv.RssSampler(self.server.process.pid) as rss:
            seconds = timed(lambda: model.update(curl_upload(self.server, self.headers, self.source, "big")))
        self.cpu_s["server"].append(cpu_seconds(self.server.process.pid) - cpu)
        self.cpu_s["curl"].append(children_cpu_seconds() - children)
        self.growth_mb.append(rss.growth_mb)
        if sha256_of(model) != self.expected:
            raise RuntimeError(f"server hash {sha256_of(model)} != openssl {self.expected}")
        delete_model(self.server, self.headers, model)
        return self.size / seconds / MB

    def upload_sha256_only(self) -> float:
        """The same upload on the server that computes the file's SHA-256 alone (the app before AutoV1/V3,
        CRC32 and BLAKE3): what the other hash kinds cost."""
        model = {}
        seconds = timed(lambda: model.update(curl_upload(self.sha256_only, self.sha256_only_headers, self.source,
                                                         "big")))
        delete_model(self.sha256_only, self.sha256_only_headers, model)
        return self.size / seconds / MB

    def openssl(self) -> float:
        children = children_cpu_seconds()
        seconds = timed(lambda: openssl_sha256(self.source))
        self.cpu_s["openssl"].append(children_cpu_seconds() - children)
        return self.size / seconds / MB

    def disk(self) -> float:
        """``dd conv=fsync`` of the same file: the disk's durable write rate, the floor of any atomic store."""
        return self._dd("conv=fsync")

    def page_cache(self) -> float:
        """``dd`` without fsync: how fast this machine takes a file's bytes into its page cache at all."""
        return self._dd()

    def _dd(self, *options: str) -> float:
        copy = self.ws.path("upload-dd") / "copy"
        seconds = timed(lambda: subprocess.run(["dd", f"if={self.source}", f"of={copy}", "bs=16M", *options],
                                               check=True, capture_output=True))
        copy.unlink()
        return self.size / seconds / MB


def rows(sides: Sides, samples: list[list[float]], passes: dict[str, float]) -> list[Row]:
    (ours, openssl, disk, cache, sha256_only), size = (median(s) for s in samples), sides.size
    label = f"{size / 2**30:g} GiB" if size >= 2**30 else f"{size / 2**20:g} MiB"
    per_gb = {name: median(values) * 1e9 / size for name, values in sides.cpu_s.items()}
    return [
        Row(f"3 upload {label} over HTTP vs openssl dgst -sha256", ours, openssl, "MB/s", f"≥ {TARGET}×",
            ours / openssl >= TARGET,
            detail={"mb_s": dict(zip(("upload", "openssl", "dd_fsync", "dd_page_cache", "sha256_only"), samples))}),
        Row("3 upload, every hash kind vs SHA-256 alone (the app before)", ours, sha256_only, "MB/s",
            f"≥ {1 - HASH_KINDS_COST:g}×", ours / sha256_only >= 1 - HASH_KINDS_COST),
        Row("3 upload vs dd conv=fsync (disk floor, context)", ours, disk, "MB/s", "-", None),
        Row("3 upload vs dd, no fsync (page-cache floor, context)", ours, cache, "MB/s", "-", None),
        Row("3 upload: CPU s/GB, server vs openssl (context)", per_gb["server"], per_gb["openssl"], "s", "-", None,
            detail={"cpu_s_per_gb": per_gb, "cpu_s": sides.cpu_s}),
        Row("3 upload: SHA-256 passes over the bytes (SHA256, AutoV3)", passes["sha256"], None, "", "2",
            abs(passes["sha256"] - 2) < 0.01),
        Row("3 upload: BLAKE3 passes over the bytes", passes["blake3"], None, "", "1", abs(passes["blake3"] - 1) < 0.01),
        Row("3 upload: CRC32 passes over the bytes", passes["crc32"], None, "", "1", abs(passes["crc32"] - 1) < 0.01),
        Row("3 upload: server RSS growth (peak)", max(sides.growth_mb), None, "MB", f"< {RSS_LIMIT_MB} MB",
            max(sides.growth_mb) < RSS_LIMIT_MB, detail={"growth_mb": sides.growth_mb}),
    ]


def run(ws: Workspace) -> list[Row]:
    sizes = QUICK if ws.quick else FULL
    check_disk(ws.root, sizes.size)
    source = write_safetensors(ws.path("upload-src") / "big.safetensors", sizes.size)
    server = srv.start(ws.path("upload") / "home")
    sha256_only = srv.start(ws.path("upload-sha256-only") / "home", server_class=Sha256OnlyServer,
                            PYTHONPATH=str(ROOT))
    try:
        headers, sha256_only_headers = srv.register(server), srv.register(sha256_only)
        warm_up(ws, server, headers)
        warm_up(ws, sha256_only, sha256_only_headers)
        sides = Sides(ws, server, headers, sha256_only, sha256_only_headers, source, openssl_sha256(source),
                      sizes.size)
        with ws.profiled(server.process.pid, "upload"):
            samples = alternate(sizes.rounds, sides.upload, sides.openssl, sides.disk, sides.page_cache,
                                sides.upload_sha256_only)
    finally:
        sha256_only.stop()
        server.stop()
    return rows(sides, samples, count_hash_passes(ws, source, sizes.size))
