"""``python -m bench.hashcount <visionary_app.py arguments>``: the app, counting the bytes fed to each hash.

Measure 3 starts the server this way once to count how many times an upload's
bytes are hashed.  ``hashlib.sha256`` and ``hashlib.new("sha256")`` (which
``hashlib.file_digest`` uses), ``blake3.blake3`` and ``zlib.crc32`` are
wrapped before the app is imported; on SIGUSR1 the totals so far go, as JSON
(``sha256_bytes``, ``blake3_bytes``, ``crc32_bytes``, ``sha256_objects``), to
the file named by ``$BENCH_HASH_COUNTS`` (read before and after an upload: the
difference is that upload's).  Nothing in the product changes.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import sys
import threading
import zlib

import blake3


class Tally:
    def __init__(self):
        self.bytes = {"sha256": 0, "blake3": 0, "crc32": 0}
        self.objects = 0
        self._lock = threading.Lock()

    def add(self, kind: str = "sha256", nbytes: int = 0, objects: int = 0) -> None:
        with self._lock:
            self.bytes[kind] += nbytes
            self.objects += objects

    def dump(self, path: str) -> None:
        partial = f"{path}.part"
        with open(partial, "w", encoding="utf-8") as handle:
            json.dump({f"{kind}_bytes": count for kind, count in self.bytes.items()}
                      | {"sha256_objects": self.objects}, handle)
        os.replace(partial, path)


class CountingHash:
    """A hash object that adds every ``update``'s size to a tally, under its kind."""

    def __init__(self, inner, tally: Tally, kind: str = "sha256"):
        self._inner, self._tally, self._kind = inner, tally, kind
        tally.add(kind, objects=1 if kind == "sha256" else 0)

    def update(self, data) -> None:
        self._tally.add(self._kind, memoryview(data).nbytes)
        self._inner.update(data)

    def copy(self) -> "CountingHash":
        return CountingHash(self._inner.copy(), self._tally, self._kind)

    def __getattr__(self, name):
        return getattr(self._inner, name)


def install(tally: Tally) -> None:
    sha256, new = hashlib.sha256, hashlib.new

    def counting_sha256(data=b"", **kwargs):
        counted = CountingHash(sha256(**kwargs), tally)
        if data:
            counted.update(data)
        return counted

    def counting_new(name, data=b"", **kwargs):
        if str(name).lower().replace("-", "") != "sha256":
            return new(name, data, **kwargs)
        return counting_sha256(data, **kwargs)

    hashlib.sha256, hashlib.new = counting_sha256, counting_new
    blake3_class, crc32 = blake3.blake3, zlib.crc32

    def counting_blake3(*args, **kwargs):
        return CountingHash(blake3_class(*args, **kwargs), tally, "blake3")

    def counting_crc32(data, value=0):
        tally.add("crc32", memoryview(data).nbytes)
        return crc32(data, value)

    blake3.blake3, zlib.crc32 = counting_blake3, counting_crc32


def main(argv: list[str]) -> int:
    tally = Tally()
    install(tally)
    path = os.environ["BENCH_HASH_COUNTS"]
    signal.signal(signal.SIGUSR1, lambda signum, frame: tally.dump(path))
    import visionary_app

    return visionary_app.main(argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
