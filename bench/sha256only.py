"""``python -m bench.sha256only <visionary_app.py arguments>``: the app as it hashed uploads before the other kinds.

Measure 3 compares an upload that computes every hash kind Civitai names (SHA-256 with AutoV1, AutoV3, CRC32,
BLAKE3: ``core.library.file_hashes.FileHasher``) with the same server computing only the file's SHA-256, as the
app did before: ``FileHasher`` is replaced, before the app is imported, by one that feeds a single SHA-256 lane.
Nothing in the product changes.
"""

from __future__ import annotations

import hashlib
import sys

from core.library import file_hashes
from core.library.background_hash import BackgroundHasher


class Sha256OnlyHasher:
    def __init__(self):
        self._sha256 = hashlib.sha256()
        self._threads = BackgroundHasher([self._sha256])

    def update(self, data) -> None:
        self._threads.update(data)

    def result(self) -> file_hashes.FileHashes:
        self._threads.finish()
        return file_hashes.FileHashes(self._sha256.hexdigest(), None, None, None, None)

    def close(self) -> None:
        self._threads.close()


def main(argv: list[str]) -> int:
    file_hashes.FileHasher = Sha256OnlyHasher
    import visionary_app

    return visionary_app.main(argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
