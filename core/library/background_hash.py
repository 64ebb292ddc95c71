"""SHA-256 in a thread of its own, so an upload is hashed while the same bytes are written to disk.

``hashlib`` releases the GIL while it hashes, and so does a file write: with
the hash in its own thread the two run side by side on two cores instead of
taking turns.  Bytes are handed over in batches of about ``BATCH`` through a
bounded queue (memory stays flat).  What is handed over must not change
afterwards: ``update`` copies anything mutable.
"""

from __future__ import annotations

import hashlib
import queue
import threading

BATCH = 1 << 20
QUEUED_BATCHES = 8


class BackgroundHasher:
    def __init__(self):
        self._hash = hashlib.sha256()
        self._pending: list[bytes | memoryview] = []
        self._pending_bytes = 0
        self._batches: queue.Queue[list | None] = queue.Queue(maxsize=QUEUED_BATCHES)
        self._thread = threading.Thread(target=self._run, name="upload-hash", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while (batch := self._batches.get()) is not None:
            for piece in batch:
                self._hash.update(piece)

    def update(self, data: bytes | bytearray | memoryview) -> None:
        if not (isinstance(data, bytes) or (isinstance(data, memoryview) and data.readonly)):
            data = bytes(data)
        self._pending.append(data)
        self._pending_bytes += len(data)
        if self._pending_bytes >= BATCH:
            self._hand_over()

    def _hand_over(self) -> None:
        if self._pending:
            self._batches.put(self._pending)
            self._pending, self._pending_bytes = [], 0

    def hexdigest(self) -> str:
        """The digest of everything given (waits for the thread to hash the rest); the hasher is then closed."""
        self._hand_over()
        self.close()
        return self._hash.hexdigest()

    def close(self) -> None:
        if self._thread.is_alive():
            self._batches.put(None)
            self._thread.join()
