"""Hashing in threads of their own, so an upload is hashed while the same bytes are written to disk.

``hashlib``, ``zlib.crc32`` and ``blake3`` release the GIL while they hash
large buffers, and so does a file write: with the hashes in their own threads
they run beside the write on other cores instead of taking turns.  Each lane
(a group of hashes, see ``core.library.file_hashes``) gets its own thread and
sees the same batches of bytes in the same order: every byte is received
once and handed to every lane, never read again.  Bytes are handed over in
batches of about ``BATCH`` through bounded queues (memory stays flat).  What
is handed over must not change afterwards: ``update`` copies anything mutable.
"""

from __future__ import annotations

import queue
import threading
from typing import Protocol, Sequence

BATCH = 1 << 20
QUEUED_BATCHES = 8


class Lane(Protocol):
    def update(self, data: bytes | memoryview) -> None: ...


class BackgroundHasher:
    def __init__(self, lanes: Sequence[Lane]):
        self._pending: list[bytes | memoryview] = []
        self._pending_bytes = 0
        self._queues: list[queue.Queue[list | None]] = []
        self._threads: list[threading.Thread] = []
        for index, lane in enumerate(lanes):
            batches: queue.Queue[list | None] = queue.Queue(maxsize=QUEUED_BATCHES)
            thread = threading.Thread(target=self._run, args=(lane, batches), name=f"upload-hash-{index}",
                                      daemon=True)
            thread.start()
            self._queues.append(batches)
            self._threads.append(thread)

    @staticmethod
    def _run(lane: Lane, batches: queue.Queue) -> None:
        while (batch := batches.get()) is not None:
            for piece in batch:
                lane.update(piece)

    def update(self, data: bytes | bytearray | memoryview) -> None:
        if not (isinstance(data, bytes) or (isinstance(data, memoryview) and data.readonly)):
            data = bytes(data)
        self._pending.append(data)
        self._pending_bytes += len(data)
        if self._pending_bytes >= BATCH:
            self._hand_over()

    def _hand_over(self) -> None:
        if self._pending:
            for batches in self._queues:
                batches.put(self._pending)
            self._pending, self._pending_bytes = [], 0

    def finish(self) -> None:
        """Hand over the rest and wait until every lane has hashed everything; the hasher is then closed."""
        self._hand_over()
        self.close()

    def close(self) -> None:
        for batches, thread in zip(self._queues, self._threads):
            if thread.is_alive():
                batches.put(None)
        for thread in self._threads:
            thread.join()
