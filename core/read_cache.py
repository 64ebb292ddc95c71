"""Answers of read-only requests (JSON bodies), kept until the library changes (``core.data_version``).

A model listing page costs a few queries and a few hundred objects to build;
the same page asked again while nothing changed is answered from here.  The
version is read before the answer is computed, so an answer is never stored
under a version newer than the data it was built from: a write in between
only makes the next read compute again.  Memory is bounded by the bodies'
total size; least recently used entries go first.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Hashable

from core import data_version
from core.store import Store

MAX_BYTES = 64 << 20


class ReadCache:
    def __init__(self, store: Store, max_bytes: int = MAX_BYTES):
        self.store, self.max_bytes = store, max_bytes
        self._entries: OrderedDict[Hashable, tuple[int, bytes]] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    def lookup(self, key: Hashable) -> tuple[int | None, bytes | None]:
        """``(version, body)``: the body kept for ``key`` at the current library version, else None; compute
        it, then ``keep`` it under that same version.  The version is None where nothing can be kept."""
        version = data_version.read(self.store.db) if self.max_bytes else None
        if version is None:
            return None, None
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and entry[0] == version:
                self._entries.move_to_end(key)
                return version, entry[1]
        return version, None

    def keep(self, key: Hashable, version: int | None, body: bytes) -> None:
        if version is None or len(body) > self.max_bytes:
            return
        with self._lock:
            old = self._entries.pop(key, None)
            self._size += len(body) - (len(old[1]) if old else 0)
            self._entries[key] = (version, body)
            while self._size > self.max_bytes:
                _, (_, dropped) = self._entries.popitem(last=False)
                self._size -= len(dropped)
