"""Answers of read-only requests, kept until the library changes (``core.data_version``).

A model listing page costs a few queries and a few hundred objects to build;
the same page asked again while nothing changed is answered from here.  The
version is read before the answer is computed, so an answer is never stored
under a version newer than the data it was built from: a write in between
only makes the next read compute again.  Least recently used entries go first.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Hashable

from core import data_version
from core.store import Store

class ReadCache:
    def __init__(self, store: Store, max_entries: int = 1024):
        self.store, self.max_entries = store, max_entries
        self._entries: OrderedDict[Hashable, tuple[int, object]] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def lookup(self, key: Hashable) -> tuple[int | None, object | None]:
        """``(version, answer)``: the answer kept for ``key`` at the current library version, else None; compute
        it, then ``keep`` it under that same version.  The version is None where nothing can be kept."""
        version = data_version.read(self.store.db) if self.max_entries else None
        if version is None:
            return None, None
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and entry[0] == version:
                self._entries.move_to_end(key)
                self.hits += 1
                return version, entry[1]
            self.misses += 1
        return version, None

    def keep(self, key: Hashable, version: int | None, answer: object) -> None:
        if version is None:
            return
        with self._lock:
            self._entries[key] = (version, answer)
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)
