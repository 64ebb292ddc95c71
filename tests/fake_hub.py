"""A local stand-in for the Hugging Face Hub that the real ``huggingface_hub`` client downloads from.

Repos are folders: ``root/<owner>/<name>/...`` is the model repo ``owner/name``,
its files are the repo's files.  The server answers the routes that
``HfApi.model_info``, ``HfApi.list_repo_tree``/``list_repo_files`` and
``hf_hub_download`` use (read from huggingface_hub 2.4's source):

- ``GET /api/models/{repo}`` and ``/api/models/{repo}/revision/{rev}``: model info
  with ``sha`` and ``siblings``;
- ``GET /api/models/{repo}/tree/{rev}[/{path}]``: the file listing;
- ``HEAD``/``GET /{repo}/resolve/{rev}/{path}``: the file, with the headers
  ``get_hf_file_metadata`` reads (``X-Repo-Commit``, ``ETag``, ``Content-Length``).
  Weight files (``.safetensors``/``.ckpt``/``.bin``/``.pt``) behave like the Hub's
  LFS files: a 302 to a "CDN" on another origin (``localhost`` instead of
  ``127.0.0.1``, same server) carrying ``X-Linked-Etag`` (sha256) and
  ``X-Linked-Size``, which is the path the client takes for real model weights;
- ``Range`` requests (206 + ``Content-Range``), as used to resume a download;
- 404s with ``X-Error-Code`` ``RepoNotFound`` / ``RevisionNotFound`` /
  ``EntryNotFound``; 401 ``GatedRepo`` for repos listed in ``gated`` and 401
  ``RepoNotFound`` for repos listed in ``private``, like the Hub without a token.

Revisions: ``main`` and the repo's commit id (a hash of its files).  Every
request is recorded in ``requests`` as ``(method, path)``.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

LFS_SUFFIXES = (".safetensors", ".ckpt", ".bin", ".pt", ".pth")
_CHUNK = 1 << 16

_API_INFO = re.compile(r"/api/models/([^/]+/[^/]+)(?:/revision/([^/]+))?")
_API_TREE = re.compile(r"/api/models/([^/]+/[^/]+)/tree/([^/]+)(?:/(.+))?")
_RESOLVE = re.compile(r"/([^/]+/[^/]+)/resolve/([^/]+)/(.+)")
_CDN = re.compile(r"/_cdn/([^/]+/[^/]+)/([0-9a-f]{40})/(.+)")
_RANGE = re.compile(r"bytes=(\d*)-(\d*)")


class FakeHub:
    """``with FakeHub(root) as hub:`` serves ``root``'s repos at ``hub.url`` until the block ends."""

    def __init__(self, root: Path, *, gated: set[str] | frozenset[str] = frozenset(),
                 private: set[str] | frozenset[str] = frozenset()):
        self.root = Path(root)
        self.gated = frozenset(gated)
        self.private = frozenset(private)
        self.requests: list[tuple[str, str]] = []
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        assert self._server is not None, "FakeHub is not running"
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def cdn_url(self) -> str:
        """Same server, another origin: the client treats it like the Hub's CDN."""
        return f"http://localhost:{self.port}"

    def __enter__(self) -> FakeHub:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="fake-hub", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._server is not None and self._thread is not None
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    # --- the repos on disk --------------------------------------------------------------------

    def repo_dir(self, repo_id: str) -> Path | None:
        owner, _, name = repo_id.partition("/")
        if not _is_plain(owner) or not _is_plain(name):
            return None
        folder = self.root / owner / name
        return folder if folder.is_dir() else None

    def files(self, repo_id: str) -> list[str]:
        folder = self.repo_dir(repo_id)
        assert folder is not None
        return sorted(path.relative_to(folder).as_posix() for path in folder.rglob("*") if path.is_file())

    def commit(self, repo_id: str) -> str:
        """A stable 40-hex commit id: changes whenever a file's name or bytes change."""
        digest = hashlib.sha1()
        for name in self.files(repo_id):
            digest.update(name.encode() + b"\0" + _sha256(self.repo_dir(repo_id) / name).encode() + b"\0")
        return digest.hexdigest()

    def file_path(self, repo_id: str, name: str) -> Path | None:
        folder = self.repo_dir(repo_id)
        if folder is None or not all(_is_plain(part) for part in name.split("/")):
            return None
        path = folder / name
        return path if path.is_file() else None


def _is_plain(part: str) -> bool:
    return part not in ("", ".", "..") and "\\" not in part and "\0" not in part


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _git_blob_sha1(path: Path) -> str:
    data = path.read_bytes()
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def _handler_for(hub: FakeHub) -> type[BaseHTTPRequestHandler]:
    class Handler(_HubHandler):
        pass

    Handler.hub = hub
    return Handler


class _HubHandler(BaseHTTPRequestHandler):
    hub: FakeHub
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib's name
        """Quiet: tests read ``hub.requests`` instead."""

    def do_GET(self) -> None:  # noqa: N802 - stdlib's name
        self._dispatch(send_body=True)

    def do_HEAD(self) -> None:  # noqa: N802 - stdlib's name
        self._dispatch(send_body=False)

    # --- routing ------------------------------------------------------------------------------

    def _dispatch(self, send_body: bool) -> None:
        path = urlsplit(self.path).path
        self.hub.requests.append((self.command, path))
        if match := _API_TREE.fullmatch(path):
            self._tree(unquote(match[1]), unquote(match[2]), unquote(match[3] or ""))
        elif match := _API_INFO.fullmatch(path):
            self._model_info(unquote(match[1]), unquote(match[2] or "main"))
        elif match := _CDN.fullmatch(path):
            self._cdn(unquote(match[1]), match[2], unquote(match[3]), send_body)
        elif match := _RESOLVE.fullmatch(path):
            self._resolve(unquote(match[1]), unquote(match[2]), unquote(match[3]), send_body)
        else:
            self._error(404, "NotFound", f"no route for {path}", send_body)

    def _check_repo(self, repo_id: str, revision: str, send_body: bool = True, gate: bool = False) -> bool:
        """Answer the error and return False when the repo or revision is not readable."""
        if self.hub.repo_dir(repo_id) is None or repo_id in self.hub.private:
            status = 401 if repo_id in self.hub.private else 404
            self._error(status, "RepoNotFound", "Repository not found", send_body)
            return False
        if gate and repo_id in self.hub.gated:
            self._error(401, "GatedRepo", f"Access to model {repo_id} is restricted.", send_body)
            return False
        if revision not in ("main", self.hub.commit(repo_id)):
            self._error(404, "RevisionNotFound", "Invalid rev id", send_body, repo_id)
            return False
        return True

    # --- API ----------------------------------------------------------------------------------

    def _model_info(self, repo_id: str, revision: str) -> None:
        if not self._check_repo(repo_id, revision):
            return
        self._json({
            "id": repo_id, "modelId": repo_id, "author": repo_id.split("/")[0],
            "sha": self.hub.commit(repo_id), "private": False,
            "gated": "manual" if repo_id in self.hub.gated else False, "disabled": False,
            "tags": [], "siblings": [{"rfilename": name} for name in self.hub.files(repo_id)],
        })

    def _tree(self, repo_id: str, revision: str, under: str) -> None:
        if not self._check_repo(repo_id, revision):
            return
        recursive = "recursive=true" in (urlsplit(self.path).query or "").lower()
        prefix = f"{under.strip('/')}/" if under else ""
        entries: dict[str, dict] = {}
        for name in self.hub.files(repo_id):
            if not name.startswith(prefix):
                continue
            rest = name[len(prefix):]
            if "/" in rest and not recursive:
                folder = prefix + rest.split("/")[0]
                entries.setdefault(folder, {"type": "directory", "oid": "0" * 40, "path": folder})
            else:
                entries[name] = self._tree_file(repo_id, name)
        self._json(list(entries.values()))

    def _tree_file(self, repo_id: str, name: str) -> dict:
        path = self.hub.repo_dir(repo_id) / name
        entry = {"type": "file", "oid": _git_blob_sha1(path), "size": path.stat().st_size, "path": name}
        if name.lower().endswith(LFS_SUFFIXES):
            entry["lfs"] = {"oid": _sha256(path), "size": path.stat().st_size, "pointerSize": 134}
        return entry

    # --- files --------------------------------------------------------------------------------

    def _resolve(self, repo_id: str, revision: str, name: str, send_body: bool) -> None:
        if not self._check_repo(repo_id, revision, send_body, gate=True):
            return
        commit = self.hub.commit(repo_id)
        path = self.hub.file_path(repo_id, name)
        if path is None:
            self._error(404, "EntryNotFound", f"{name} does not exist on \"{revision}\"", send_body, repo_id)
            return
        if name.lower().endswith(LFS_SUFFIXES):
            size = path.stat().st_size
            self.send_response(302)
            self.send_header("Location", f"{self.hub.cdn_url}/_cdn/{repo_id}/{commit}/{quote(name)}")
            self.send_header("X-Repo-Commit", commit)
            self.send_header("X-Linked-Etag", f'"{_sha256(path)}"')
            self.send_header("X-Linked-Size", str(size))
            self.send_header("ETag", f'"{_git_blob_sha1(path)}"')
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self._file(path, send_body, {"X-Repo-Commit": commit, "ETag": f'"{_git_blob_sha1(path)}"'})

    def _cdn(self, repo_id: str, commit: str, name: str, send_body: bool) -> None:
        path = self.hub.file_path(repo_id, name)
        if path is None or commit != self.hub.commit(repo_id):
            self._error(404, "NotFound", "no such blob", send_body)
            return
        self._file(path, send_body, {"ETag": f'"{_sha256(path)}"'})

    def _file(self, path: Path, send_body: bool, headers: dict[str, str]) -> None:
        size = path.stat().st_size
        start, end = self._byte_range(size)
        if start is None:
            self.send_response(416)
            self.send_header("Content-Range", f"bytes */{size}")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        partial = (start, end) != (0, size - 1) and "Range" in self.headers
        self.send_response(206 if partial else 200)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(end - start + 1))
        if partial:
            self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
        self.end_headers()
        if send_body:
            self._copy(path, start, end - start + 1)

    def _byte_range(self, size: int) -> tuple[int | None, int]:
        """``(first, last)`` byte to send: the whole file, or the one range asked for."""
        match = _RANGE.fullmatch(self.headers.get("Range", "").strip())
        if not match or (not match[1] and not match[2]):
            return 0, size - 1
        if not match[1]:  # "bytes=-N": the last N bytes
            return max(size - int(match[2]), 0), size - 1
        start = int(match[1])
        end = min(int(match[2]), size - 1) if match[2] else size - 1
        return (start, end) if start <= end else (None, 0)

    def _copy(self, path: Path, start: int, length: int) -> None:
        with path.open("rb") as handle:
            handle.seek(start)
            while length > 0:
                block = handle.read(min(_CHUNK, length))
                if not block:
                    break
                self.wfile.write(block)
                length -= len(block)

    # --- answers ------------------------------------------------------------------------------

    def _json(self, body: object) -> None:
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _error(self, status: int, code: str, message: str, send_body: bool, repo_id: str | None = None) -> None:
        data = json.dumps({"error": message}).encode()
        self.send_response(status)
        self.send_header("X-Error-Code", code)
        self.send_header("X-Error-Message", message)
        if repo_id is not None and self.hub.repo_dir(repo_id) is not None:
            self.send_header("X-Repo-Commit", self.hub.commit(repo_id))
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if send_body:
            self.wfile.write(data)
