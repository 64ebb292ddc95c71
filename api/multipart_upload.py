"""Streaming ``multipart/form-data`` reader for model uploads.

FastAPI's ``UploadFile`` first spools the whole body to a temp file, so a
multi-GB upload would be written twice.  Here the body is parsed as it
arrives and the ``file`` part goes straight into an ``UploadSink`` (temp file
in the models folder, hashed on the way); the small text fields are kept in
memory with a size cap.
"""

from __future__ import annotations

import queue
import threading
from dataclasses import dataclass, field
from pathlib import Path

import anyio
from fastapi import Request
from python_multipart.multipart import MultipartParser, parse_options_header

from core.errors import InvalidInput, TooLarge
from core.library.ingest import StagedFile, UploadSink

FIELD_LIMIT = 256 * 1024
BATCH = 4 << 20  # bytes gathered before they are handed to the feeding thread
QUEUED_BATCHES = 4


@dataclass
class _Part:
    name: str = ""
    filename: str | None = None
    value: bytearray = field(default_factory=bytearray)
    sink: UploadSink | None = None


class _UploadParser:
    """Callbacks for python-multipart; runs in the feeding thread (file writes and hashing block)."""

    def __init__(self, boundary: bytes, models_dir: Path, max_bytes: int, expected: int | None):
        self.models_dir, self.max_bytes, self.expected = models_dir, max_bytes, expected
        self.fields: dict[str, str] = {}
        self.staged: StagedFile | None = None
        self.part = _Part()
        self._header_field = bytearray()
        self._header_value = bytearray()
        self._headers: dict[str, str] = {}
        self.parser = MultipartParser(boundary, {
            "on_part_begin": self._begin, "on_header_field": self._hfield, "on_header_value": self._hvalue,
            "on_header_end": self._hend, "on_headers_finished": self._headers_done,
            "on_part_data": self._data, "on_part_end": self._end})

    def _begin(self):
        self.part, self._headers = _Part(), {}

    def _hfield(self, data, start, end):
        self._header_field += data[start:end]

    def _hvalue(self, data, start, end):
        self._header_value += data[start:end]

    def _hend(self):
        self._headers[self._header_field.decode("latin-1").lower()] = self._header_value.decode("utf-8", "replace")
        self._header_field, self._header_value = bytearray(), bytearray()

    def _headers_done(self):
        _, options = parse_options_header(self._headers.get("content-disposition", ""))
        self.part.name = options.get(b"name", b"").decode("utf-8", "replace")
        filename = options.get(b"filename")
        if filename is not None:
            if self.part.name != "file" or self.staged is not None or self.part.sink is not None:
                raise InvalidInput("send exactly one file, in the form field named 'file'")
            self.part.filename = filename.decode("utf-8", "replace")
            self.part.sink = UploadSink(self.models_dir, self.part.filename, self.max_bytes, self.expected)

    def _data(self, data, start, end):
        if self.part.sink is not None:
            self.part.sink.write(memoryview(data)[start:end])
        else:
            self.part.value += data[start:end]
            if len(self.part.value) > FIELD_LIMIT:
                raise TooLarge(f"the form field {self.part.name!r} is too long")

    def _end(self):
        if self.part.sink is not None:
            self.staged = self.part.sink.finish()
            self.part.sink = None
        elif self.part.name:
            self.fields[self.part.name] = self.part.value.decode("utf-8", "replace")

    def feed_all(self, chunks: list[bytes]) -> None:
        for chunk in chunks:
            self.parser.write(chunk)

    def abort(self) -> None:
        if self.part.sink is not None:
            self.part.sink.discard()
        if self.staged is not None:
            self.staged.path.unlink(missing_ok=True)


class _Feeder:
    """Feeds the parser in a thread of its own while the event loop receives the next batches, so receiving
    and hashing + writing overlap instead of taking turns (a bounded queue keeps memory flat)."""

    def __init__(self, reader: _UploadParser):
        self.reader = reader
        self.batches: queue.Queue[list[bytes] | None] = queue.Queue(maxsize=QUEUED_BATCHES)
        self.error: BaseException | None = None
        self.stopped = False
        self.thread = threading.Thread(target=self._run, name="upload-feed", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while (batch := self.batches.get()) is not None:
            if self.error is None and not self.stopped:
                try:
                    self.reader.feed_all(batch)
                except BaseException as exc:  # handed to the request, which raises it
                    self.error = exc

    def _raise_error(self) -> None:
        if self.error is not None:
            raise self.error

    async def put(self, batch: list[bytes]) -> None:
        self._raise_error()
        try:
            self.batches.put_nowait(batch)
        except queue.Full:
            await anyio.to_thread.run_sync(self.batches.put, batch)

    async def finish(self) -> None:
        """Wait until every batch is fed; raises what the parser or the sink raised."""
        await anyio.to_thread.run_sync(self.batches.put, None)
        await anyio.to_thread.run_sync(self.thread.join)
        self._raise_error()

    async def stop(self) -> None:
        """Drop what is queued and wait for the thread (the batch it is feeding is the last)."""
        self.stopped = True
        with anyio.CancelScope(shield=True):
            while True:
                try:
                    self.batches.get_nowait()
                except queue.Empty:
                    break
            self.batches.put_nowait(None)
            await anyio.to_thread.run_sync(self.thread.join)


async def read_model_upload(request: Request, models_dir: Path, max_bytes: int) -> tuple[dict[str, str], StagedFile]:
    """Parse a model upload; returns the text fields and the staged file (the caller must store or remove it)."""
    content_type, options = parse_options_header(request.headers.get("content-type", ""))
    boundary = options.get(b"boundary")
    if content_type != b"multipart/form-data" or not boundary:
        raise InvalidInput("send the upload as multipart/form-data with the model in the field 'file'")
    length = request.headers.get("content-length")
    expected = int(length) if length and length.isdigit() else None
    if expected is not None and expected > max_bytes + FIELD_LIMIT * 8:
        raise TooLarge(f"the upload is larger than this site's limit of {max_bytes / 1024**3:.1f} GB")
    reader = _UploadParser(boundary, models_dir, max_bytes, expected)
    feeder = _Feeder(reader)
    chunks: list[bytes] = []  # gathered, not concatenated: the parser takes them one by one
    gathered = 0
    try:
        async for chunk in request.stream():
            chunks.append(chunk)
            gathered += len(chunk)
            if gathered >= BATCH:
                await feeder.put(chunks)
                chunks, gathered = [], 0
        if chunks:
            await feeder.put(chunks)
        await feeder.finish()
        await anyio.to_thread.run_sync(reader.parser.finalize)
    except BaseException:
        await feeder.stop()
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(reader.abort)
        raise
    if reader.staged is None:
        reader.abort()
        raise InvalidInput("no file received: put the model in the form field named 'file'")
    return reader.fields, reader.staged
