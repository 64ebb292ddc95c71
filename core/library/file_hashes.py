"""Every hash Civitai and A1111 name a model file by, from one pass over its bytes.

* ``SHA256``: of the whole file; ``AutoV2`` is its first 10 hex characters.
* ``AutoV1``: A1111's old model hash (``sd_models.model_hash``): SHA-256 of the 64 KiB at offset 1 MiB, first 8
  hex characters.  Of a file too short to hold that slice, the hash of what is there, as A1111 computes it (so
  files under 1 MiB share one value: a by-hash lookup by it answers one of them).
* ``AutoV3``: A1111's ``addnet_hash_safetensors`` (kohya's hash of LoRAs): SHA-256 of a safetensors file's data
  after its header, first 12 hex characters, the width Civitai stores.  None when the bytes are not a
  safetensors file.
* ``CRC32``: of the whole file, written as Civitai's scanner writes it: the four bytes of the checksum in
  little-endian order (``hello world`` is ``85114A0D``, where ``zlib.crc32`` gives ``0x0D4A1185``).
* ``BLAKE3``: of the whole file (32 bytes).

AutoV1 and AutoV3 depend only on where a byte is in the file, so each lane counts offsets as the bytes pass
and hashes the part it needs: the bytes are received once and never read again.  The hashes run in three
lanes, each in a thread of its own (``core.library.background_hash``), so they share the cores with the file
write: SHA-256 (with AutoV1's slice), AutoV3's SHA-256, and CRC32 with BLAKE3.
"""

from __future__ import annotations

import hashlib
import os
import zlib
from dataclasses import asdict, dataclass

import blake3

from core.library.background_hash import BackgroundHasher
from core.library.modelfiles import autov2

AUTOV1_OFFSET = 0x100000
AUTOV1_LENGTH = 0x10000
AUTOV3_DIGITS = 12
READ_BLOCK = 4 << 20  # 4 MiB: large enough that hashing runs at full speed


@dataclass(frozen=True)
class FileHashes:
    """Lower-case hex digests; ``autov3`` is None where it does not apply (not safetensors), ``autov1`` only for
    a file hashed before it was computed (``core.library.scanner``'s cache)."""

    sha256: str
    autov1: str | None
    autov3: str | None
    crc32: str
    blake3: str

    @property
    def autov2(self) -> str:
        return autov2(self.sha256)


def hash_columns(hashes: FileHashes) -> dict[str, str | None]:
    """The values of a ``ModelFile`` row's hash columns (a ``ScanCache`` row has the same but AutoV2)."""
    return asdict(hashes) | {"autov2": hashes.autov2}


def civitai_crc32(checksum: int) -> str:
    """A CRC-32 as Civitai writes it: its four bytes in little-endian order, in hex."""
    return checksum.to_bytes(4, "little").hex()


class _Sha256WithAutoV1:
    """The whole file's SHA-256, and on the way the SHA-256 of the slice AutoV1 reads."""

    def __init__(self):
        self.offset = 0
        self.whole = hashlib.sha256()
        self.slice = hashlib.sha256()

    def update(self, data: bytes | memoryview) -> None:
        self.whole.update(data)
        start, end = self.offset, self.offset + len(data)
        if start < AUTOV1_OFFSET + AUTOV1_LENGTH and end > AUTOV1_OFFSET:
            part = memoryview(data)[max(AUTOV1_OFFSET - start, 0):AUTOV1_OFFSET + AUTOV1_LENGTH - start]
            self.slice.update(part)
        self.offset = end

    def autov1(self) -> str:
        """A1111's old model hash reads at most 64 KiB from offset 1 MiB; of a shorter file, what is there
        (nothing: the SHA-256 of no bytes), exactly as A1111 computes it."""
        return self.slice.hexdigest()[:8]


class _SafetensorsData:
    """SHA-256 of what follows a safetensors header: the first 8 bytes give the header's length, and the
    header (a JSON object) starts with ``{``."""

    def __init__(self):
        self.offset = 0
        self.head = b""
        self.data_start: int | None = None
        self.hash = hashlib.sha256()

    def update(self, data: bytes | memoryview) -> None:
        start, self.offset = self.offset, self.offset + len(data)
        if len(self.head) < 9:
            self.head += bytes(memoryview(data)[:9 - len(self.head)])
        if self.data_start is None:
            if len(self.head) < 8:
                return
            self.data_start = 8 + int.from_bytes(self.head[:8], "little")
        if self.offset > self.data_start:
            self.hash.update(memoryview(data)[max(self.data_start - start, 0):])

    def autov3(self) -> str | None:
        if self.data_start is None or self.data_start > self.offset or self.head[8:9] != b"{":
            return None
        return self.hash.hexdigest()[:AUTOV3_DIGITS]


class _Checksums:
    """CRC32 and BLAKE3 of the whole file (both cheap next to SHA-256, so they share a thread)."""

    def __init__(self):
        self.crc = 0
        self.blake = blake3.blake3()

    def update(self, data: bytes | memoryview) -> None:
        self.crc = zlib.crc32(data, self.crc)
        self.blake.update(data)


class FileHasher:
    """``update`` with the bytes of a file in order, then ``result`` (or ``close`` to give up)."""

    def __init__(self):
        self._sha256 = _Sha256WithAutoV1()
        self._autov3 = _SafetensorsData()
        self._checksums = _Checksums()
        self._threads = BackgroundHasher([self._sha256, self._autov3, self._checksums])

    def update(self, data: bytes | bytearray | memoryview) -> None:
        self._threads.update(data)

    def result(self) -> FileHashes:
        """Every hash of the bytes given (waits for the threads to finish); the hasher is then closed."""
        self._threads.finish()
        sha256, checksums = self._sha256, self._checksums
        return FileHashes(sha256.whole.hexdigest(), sha256.autov1(), self._autov3.autov3(),
                          civitai_crc32(checksums.crc), checksums.blake.hexdigest())

    def close(self) -> None:
        self._threads.close()


def hash_file(path: str | os.PathLike) -> FileHashes:
    """All hashes of a file already on disk (a dropped-in file, a Gradio upload's temp file), read once."""
    hasher = FileHasher()
    try:
        with open(path, "rb", buffering=0) as source:
            while block := source.read(READ_BLOCK):
                hasher.update(block)
    except BaseException:
        hasher.close()
        raise
    return hasher.result()
