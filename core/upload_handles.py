"""Files a client uploaded for a form, known to the client only by an opaque handle.

The browser uploads a file first and names it in the form's event afterwards. If
the event could name any path, a user could make the server read any file on its
disk (and learn which paths exist from the errors). So the upload route hands the
client a random handle instead of the stored path, and an event may only use
handles that were issued to the same login session (the SHA-256 of its token,
as the sessions table keeps it): the handle is the one way back to the file, it
tells nothing about the server's folders, and it is worth nothing to another
session, even the same user's.

A picture the server itself put in front of a session (a gallery picture sent to
img2img) may come back from that session by the path it was shown under:
``hand_out`` records it for that session alone.
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
    session: str
    path: Path


class UploadHandles:
    """Issued handles, per session, bounded; thread-safe (the upload route and events run on several threads)."""

    def __init__(self, capacity: int = MAX_HANDLES):
        self._capacity = capacity
        self._lock = threading.Lock()
        self._uploads: OrderedDict[str, _Upload] = OrderedDict()

    def issue(self, session: str, path: str | Path) -> str:
        """A new handle for ``path``, uploaded in ``session``; it keeps the file's name for the page to show."""
        handle = f"{HANDLE_PREFIX}{secrets.token_urlsafe(24)}/{Path(path).name}"
        with self._lock:
            self._uploads[handle] = _Upload(session, Path(path))
            while len(self._uploads) > self._capacity:
                self._uploads.popitem(last=False)
        return handle

    def hand_out(self, session: str, path: str | Path) -> None:
        """Let ``session`` send back ``path``, a file the server showed it."""
        with self._lock:
            self._uploads[str(path)] = _Upload(session, Path(path))
            while len(self._uploads) > self._capacity:
                self._uploads.popitem(last=False)

    def file_of(self, session: str | None, handle: str) -> Path | None:
        """The stored file behind ``handle`` if it was uploaded in (or handed out to) ``session`` and is still
        there, else None."""
        upload = self._get(handle)
        if upload is None or session is None or not secrets.compare_digest(upload.session, session):
            return None
        return upload.path

    def preview_of(self, handle: str) -> Path | None:
        """The stored file behind ``handle``, to show it back on the page (the handle is the capability)."""
        if not handle.startswith(HANDLE_PREFIX):
            return None
        upload = self._get(handle)
        return None if upload is None else upload.path

    def _get(self, handle: str) -> _Upload | None:
        with self._lock:
            upload = self._uploads.get(handle)
        if upload is not None and not upload.path.is_file():
            with self._lock:
                self._uploads.pop(handle, None)
            return None
        return upload
