"""Files a client uploaded for a form, known to the client only by an opaque handle.

The browser uploads a file first and names it in the form's event afterwards. If
the event could name any path, a user could make the server read any file on its
disk (and learn which paths exist from the errors). So the upload route hands the
client a random handle instead of the stored path, and an event may only use
handles that were issued to the same user: the handle is the one way back to the
file, and it tells nothing about the server's folders.
"""

from __future__ import annotations

import secrets
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

HANDLE_PREFIX = "upload-"
MAX_HANDLES = 20_000  # oldest forgotten first; a form is filled long before 20,000 newer uploads


@dataclass(frozen=True)
class _Upload:
    user_id: int
    path: Path


class UploadHandles:
    """Issued handles, per user, bounded; thread-safe (the upload route and events run on several threads)."""

    def __init__(self, capacity: int = MAX_HANDLES):
        self._capacity = capacity
        self._lock = threading.Lock()
        self._uploads: OrderedDict[str, _Upload] = OrderedDict()

    def issue(self, user_id: int, path: str | Path) -> str:
        """A new handle for ``path``, uploaded by ``user_id``; it keeps the file's name for the page to show."""
        handle = f"{HANDLE_PREFIX}{secrets.token_urlsafe(24)}/{Path(path).name}"
        with self._lock:
            self._uploads[handle] = _Upload(user_id, Path(path))
            while len(self._uploads) > self._capacity:
                self._uploads.popitem(last=False)
        return handle

    def file_of(self, user_id: int | None, handle: str) -> Path | None:
        """The stored file behind ``handle`` if ``user_id`` uploaded it and it is still there, else None."""
        upload = self._get(handle)
        if upload is None or user_id is None or upload.user_id != user_id:
            return None
        return upload.path

    def preview_of(self, handle: str) -> Path | None:
        """The stored file behind ``handle``, to show it back on the page (the handle is the capability)."""
        upload = self._get(handle)
        return None if upload is None else upload.path

    def _get(self, handle: str) -> _Upload | None:
        if not handle.startswith(HANDLE_PREFIX):
            return None
        with self._lock:
            upload = self._uploads.get(handle)
        if upload is not None and not upload.path.is_file():
            with self._lock:
                self._uploads.pop(handle, None)
            return None
        return upload
