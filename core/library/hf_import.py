"""Download one model file from the Hugging Face Hub (the download half of §2.3's import).

``download_from_hub`` checks the names it is given, asks the Hub about the repo
once (``model_info``: the commit to pin, the file list to choose from), then
downloads ONE file with ``hf_hub_download`` into a staging folder inside the
caller's ``dest_dir`` and moves it up, so a multi-GB file is written once and
never lands in the Hub cache.  The caller ingests the file itself.

Offline is the app's default (``HF_HUB_OFFLINE=1``).  ``huggingface_hub`` reads
that variable once, when it is first imported, and then refuses every request;
we ask it (``constants.is_offline_mode()``) before doing anything, so an import
in offline mode fails in milliseconds with a message that says what to do.

Every failure is a :class:`HubImportError` whose message a user can act on, and
leaves nothing in ``dest_dir``.  ``huggingface_hub`` is imported lazily: this
module costs nothing until an import is asked for.
"""

from __future__ import annotations

import errno
import json
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, Callable

from core.errors import InvalidInput

ProgressCallback = Callable[[int, int], None]

UNREACHABLE = ("cannot reach the Hugging Face Hub (offline?) — download the file yourself "
               "and drop it into models_dir/")
OFFLINE = (UNREACHABLE + " (this app runs with HF_HUB_OFFLINE=1; start it with HF_HUB_OFFLINE=0 "
           "to let it download from the Hub)")
LOGIN_HINT = "log in with `hf auth login` or set HF_TOKEN"

# Hub rules for repo names: letters, digits, "-", "_", "."; at most 96 characters.
_REPO_ID = re.compile(r"(?:[A-Za-z0-9][\w.-]*/)?[A-Za-z0-9][\w.-]*")
_REVISION = re.compile(r"[A-Za-z0-9_][\w.\-/]*")
_MAX_REPO_ID = 96
_MAX_REVISION = 255
_MAX_FILENAME = 1000

# Words in a file name that mark a variant of the main weights (half precision, EMA).
_VARIANT_WORDS = frozenset({"fp16", "bf16", "half", "ema", "emaonly", "nonema", "noema"})
_LISTED_AT_MOST = 10


class HubImportError(InvalidInput):
    """An import from the Hub failed; the message says why and what to do."""


def download_from_hub(repo_id: str, filename: str | None, revision: str | None, dest_dir: Path, *,
                      endpoint: str | None = None, progress: ProgressCallback | None = None,
                      timeout_s: float = 30) -> Path:
    """Download one file of a Hub model repo into ``dest_dir`` and return its path.

    ``filename`` None means "the repo's one .safetensors file" (see ``choose_file``).
    ``revision`` is a branch, tag or commit (default ``main``); the download is
    pinned to the commit the Hub resolved it to, so file list and bytes agree.
    ``endpoint`` overrides ``HF_ENDPOINT`` (a mirror; the tests' fake hub).
    ``progress(downloaded_bytes, total_bytes)`` is called as bytes arrive
    (``total_bytes`` is 0 while unknown); an exception it raises cancels the
    download.  ``timeout_s`` bounds each wait for the Hub's answer.

    The file keeps its base name (a same-named file in ``dest_dir`` is replaced).
    Raises :class:`HubImportError`; on any failure ``dest_dir`` is left as it was.
    """
    check_repo_id(repo_id)
    if filename is not None:
        check_filename(filename)
    if revision is not None:
        check_revision(revision)
    endpoint = _check_endpoint(endpoint)
    dest_dir = Path(dest_dir)
    if not dest_dir.is_dir():
        raise HubImportError(f"the download folder {dest_dir} does not exist")
    _refuse_if_offline()

    where = _Where(repo_id, filename, revision)
    info = _call_hub(lambda: _model_info(repo_id, revision, endpoint, timeout_s), where)
    files = [sibling.rfilename for sibling in (info.siblings or [])]
    if filename is None:
        filename = choose_file(repo_id, files)
    elif info.siblings is not None and filename not in files:
        raise HubImportError(_file_missing_message(repo_id, filename, revision, files))
    where = _Where(repo_id, filename, revision, gated=bool(info.gated))
    commit = info.sha or revision
    return _call_hub(lambda: _download(repo_id, filename, commit, dest_dir, endpoint, progress, timeout_s),
                     where)


# --- checking names (no network) --------------------------------------------------------------


def check_repo_id(repo_id: str) -> None:
    """Refuse anything but ``owner/name`` (or a bare canonical ``name``) in the Hub's alphabet."""
    if not isinstance(repo_id, str) or not repo_id:
        raise HubImportError("give the Hub repo id as owner/name, e.g. stabilityai/sdxl-turbo")
    if (len(repo_id) > _MAX_REPO_ID or not _REPO_ID.fullmatch(repo_id) or ".." in repo_id
            or "--" in repo_id or repo_id.endswith((".", "-"))):
        raise HubImportError(f"invalid Hub repo id {repo_id!r}: use owner/name with letters, digits, "
                             f"'-', '_' or '.' (at most {_MAX_REPO_ID} characters), e.g. stabilityai/sdxl-turbo")


def check_filename(filename: str) -> None:
    """A file name must be a plain relative path inside the repo: no ``..``, ``.``, ``\\`` or leading ``/``."""
    if not isinstance(filename, str) or not filename.strip():
        raise HubImportError("the file name is empty: give the path of a file in the repo, "
                             "e.g. sd_xl_base_1.0.safetensors")
    parts = filename.split("/")
    if (len(filename) > _MAX_FILENAME or filename.startswith("/") or "\\" in filename
            or any(part in ("", ".", "..") for part in parts)
            or any(ord(char) < 32 or char == "\x7f" for char in filename)):
        raise HubImportError(f"invalid file name {filename!r}: give a path inside the repo such as "
                             "unet/model.safetensors (no leading '/', no '..', no '\\')")


def check_revision(revision: str) -> None:
    """A branch, tag or commit: the git-ref alphabet, no ``..``, ``//`` or trailing ``/``."""
    if (not isinstance(revision, str) or len(revision) > _MAX_REVISION or not _REVISION.fullmatch(revision)
            or ".." in revision or "//" in revision or revision.endswith(("/", ".lock"))):
        raise HubImportError(f"invalid revision {revision!r}: give a branch, tag or commit id, e.g. main")


def _check_endpoint(endpoint: str | None) -> str | None:
    if endpoint is None:
        return None
    if not re.fullmatch(r"https?://[^\s/?#]+(/[^\s?#]*)?", endpoint or ""):
        raise HubImportError(f"invalid Hub endpoint {endpoint!r}: give a URL such as https://huggingface.co")
    return endpoint.rstrip("/")


# --- choosing the file --------------------------------------------------------------------------


def choose_file(repo_id: str, files: list[str]) -> str:
    """The repo's one ``.safetensors`` file, preferring top-level files and non-variants.

    Files at the top of the repo win over files in folders (a diffusers repo's
    ``unet/…`` parts are not a checkpoint); then names without variant words
    (``fp16``, ``ema``…) win.  If more than one is left, the user must say which.
    """
    weights = [name for name in files if name.lower().endswith(".safetensors")]
    if not weights:
        raise _no_safetensors_error(repo_id, files)
    top_level = [name for name in weights if "/" not in name]
    candidates = top_level or weights
    if len(candidates) > 1:
        main = [name for name in candidates if not _is_variant(name)]
        candidates = main or candidates
    if len(candidates) > 1:
        raise HubImportError(f"{repo_id} has several .safetensors files: {_listing(sorted(candidates))}; "
                             "say which one to import")
    return candidates[0]


def _is_variant(name: str) -> bool:
    stem = PurePosixPath(name).name.lower().removesuffix(".safetensors")
    return any(word in _VARIANT_WORDS for word in re.split(r"[^a-z0-9]+", stem))


def _no_safetensors_error(repo_id: str, files: list[str]) -> HubImportError:
    others = [name for name in files if name.lower().endswith((".ckpt", ".pt", ".pth", ".bin"))]
    if others:
        return HubImportError(f"{repo_id} has no .safetensors file; name the file to import, "
                              f"one of: {_listing(sorted(others))}")
    return HubImportError(f"{repo_id} has no .safetensors file to import")


def _listing(names: list[str]) -> str:
    shown = ", ".join(names[:_LISTED_AT_MOST])
    more = len(names) - _LISTED_AT_MOST
    return f"{shown} and {more} more" if more > 0 else shown


def _file_missing_message(repo_id: str, filename: str, revision: str | None, files: list[str]) -> str:
    at = f" at revision {revision}" if revision else ""
    weights = sorted(name for name in files if name.lower().endswith(".safetensors"))
    hint = f" (its .safetensors files: {_listing(weights)})" if weights else ""
    return f"{filename} is not a file of {repo_id}{at}{hint}"


# --- talking to the Hub -------------------------------------------------------------------------


def hub_online() -> bool:
    """Whether the Hub may be asked at all (``HF_HUB_OFFLINE`` unset or 0, as ``huggingface_hub`` reads it)."""
    from huggingface_hub import constants

    return not constants.is_offline_mode()


def _refuse_if_offline() -> None:
    if not hub_online():
        raise HubImportError(OFFLINE)


def _model_info(repo_id: str, revision: str | None, endpoint: str | None, timeout_s: float) -> Any:
    """One request, no retries: answers "does it exist, which commit, which files" or fails fast."""
    from huggingface_hub import HfApi

    return HfApi(endpoint=endpoint).model_info(repo_id, revision=revision, timeout=timeout_s)


def _download(repo_id: str, filename: str, revision: str | None, dest_dir: Path, endpoint: str | None,
              progress: ProgressCallback | None, timeout_s: float) -> Path:
    """Download into a staging folder inside ``dest_dir`` (same disk: the final move is a rename).

    ``local_dir=`` keeps the bytes out of the Hub cache; the staging folder also
    holds the bookkeeping ``.cache/`` that ``local_dir`` mode writes, and is
    removed whatever happens, so a failure leaves no partial file behind.
    """
    from huggingface_hub import hf_hub_download

    relay = _ProgressRelay(progress) if progress is not None else None
    staging = Path(tempfile.mkdtemp(prefix=".hf-import-", dir=dest_dir))
    try:
        local = Path(hf_hub_download(repo_id, filename, revision=revision, local_dir=staging,
                                     endpoint=endpoint, etag_timeout=timeout_s,
                                     tqdm_class=relay.bar_class() if relay else None))
        if relay:  # a file the Hub cache already held is copied without a bar
            size = local.stat().st_size
            relay.report(size, size)
        target = dest_dir / PurePosixPath(filename).name
        os.replace(local, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


class _ProgressRelay:
    """Forwards byte counts to the caller's ``progress``, dropping repeated identical reports."""

    def __init__(self, progress: ProgressCallback):
        self._progress = progress
        self._last: tuple[int, int] | None = None

    def report(self, done: int, total: int | None) -> None:
        now = (max(int(done), 0), int(total or 0))
        if now != self._last:
            self._last = now
            self._progress(*now)

    def bar_class(self) -> type:
        """A stand-in for ``tqdm`` that reports to this relay (``hf_hub_download(tqdm_class=...)``).

        ``huggingface_hub`` builds the bar with tqdm's keyword arguments and calls
        ``update(n)``; with Xet storage it may set ``total`` and calls
        ``update_transfer`` (network bytes) too.  Having that method makes Xet use
        ONE bar, so only bytes written to the file are counted.
        """
        relay = self

        class _ProgressBar:
            def __init__(self, *args: Any, total: int | None = None, initial: int = 0, **kwargs: Any):
                self.total = total
                self.n = initial
                relay.report(self.n, self.total)

            def __enter__(self) -> _ProgressBar:
                return self

            def __exit__(self, *exc: Any) -> None:
                self.close()

            def update(self, n: int | float | None = 1) -> None:
                self.n += int(n or 0)
                relay.report(self.n, self.total)

            def update_transfer(self, n: int | float | None = 1) -> None:
                """Network bytes (Xet): not what progress counts."""

            def set_postfix_str(self, *args: Any, **kwargs: Any) -> None:
                """Speed text for a drawn bar: nothing is drawn."""

            set_transfer_postfix_str = set_postfix_str

            def refresh(self, *args: Any, **kwargs: Any) -> None:
                relay.report(self.n, self.total)

            def close(self) -> None:
                """Nothing to release."""

        return _ProgressBar


# --- turning the Hub's errors into ours ---------------------------------------------------------


@dataclass(frozen=True)
class _Where:
    """What was being fetched, for the error message."""

    repo_id: str
    filename: str | None
    revision: str | None
    gated: bool = False

    @property
    def at(self) -> str:
        return f" at revision {self.revision}" if self.revision else ""


def _call_hub(call: Callable[[], Any], where: _Where) -> Any:
    """Run ``call`` and turn whatever the Hub client raises into a :class:`HubImportError`."""
    try:
        return call()
    except HubImportError:
        raise
    except Exception as error:  # noqa: BLE001 - the kinds we know are mapped; others re-raised as they are
        mapped = _translate(error, where)
        if mapped is None:
            raise
        raise mapped from error


def _translate(error: Exception, where: _Where) -> HubImportError | None:
    import httpx2
    from huggingface_hub import errors

    if isinstance(error, errors.OfflineModeIsEnabled):
        return HubImportError(OFFLINE)
    if isinstance(error, errors.LocalEntryNotFoundError):
        # hf_hub_download's "HEAD failed and no local copy": the reason is the cause.
        cause = error.__cause__
        mapped = _translate(cause, where) if isinstance(cause, Exception) else None
        return mapped or HubImportError(UNREACHABLE)
    if isinstance(error, errors.HfHubHTTPError):
        return _http_error(error, where)
    if isinstance(error, httpx2.TimeoutException):
        return HubImportError("the Hugging Face Hub did not answer in time (offline?) — download the file "
                              "yourself and drop it into models_dir/")
    if isinstance(error, httpx2.TransportError):
        return HubImportError(UNREACHABLE)
    if isinstance(error, errors.FileMetadataError):
        return HubImportError("the Hub endpoint did not answer like the Hugging Face Hub "
                              "(check HF_ENDPOINT, proxy and firewall settings)")
    if isinstance(error, errors.HFValidationError):
        return HubImportError(f"the Hub refused the request: {error}")
    if isinstance(error, OSError):
        return _disk_error(error, where)
    if isinstance(error, json.JSONDecodeError):
        return HubImportError("the Hub endpoint did not answer like the Hugging Face Hub (check HF_ENDPOINT)")
    if isinstance(error, ValueError) and "too large" in str(error):
        return HubImportError(f"{where.filename} is too large for a plain HTTP download; "
                              "download it yourself and drop it into models_dir/")
    return None


def _http_error(error: Any, where: _Where) -> HubImportError:
    from huggingface_hub import errors

    status = error.response.status_code if error.response is not None else None
    if isinstance(error, errors.GatedRepoError) or (where.gated and status in (401, 403)):
        return HubImportError(f"{where.repo_id} is a gated repo: accept its conditions on its Hub page, "
                              f"then {LOGIN_HINT} with a token that can read it")
    if isinstance(error, errors.RepositoryNotFoundError):
        return HubImportError(f"repo {where.repo_id} was not found on the Hugging Face Hub; check the id, "
                              f"or if it is private, {LOGIN_HINT} with a token that can read it")
    if isinstance(error, errors.RevisionNotFoundError):
        return HubImportError(f"revision {where.revision} was not found in {where.repo_id}")
    if isinstance(error, errors.RemoteEntryNotFoundError):
        return HubImportError(f"{where.filename} is not a file of {where.repo_id}{where.at}")
    if isinstance(error, errors.DisabledRepoError):
        return HubImportError(f"{where.repo_id} has been disabled on the Hub")
    if status in (401, 403):
        return HubImportError(f"the Hub refused access to {where.repo_id} (HTTP {status}): "
                              f"if it is private or gated, {LOGIN_HINT} with a token that can read it")
    if status == 429:
        return HubImportError("the Hugging Face Hub is rate-limiting this machine; try again in a few minutes")
    if status is not None and status >= 500:
        return HubImportError(f"the Hugging Face Hub had a problem (HTTP {status}); try again later")
    return HubImportError(f"the Hugging Face Hub refused the download (HTTP {status})")


def _disk_error(error: OSError, where: _Where) -> HubImportError:
    if error.errno == errno.ENOSPC:
        return HubImportError(f"not enough disk space to download {where.filename}")
    if error.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return HubImportError(f"cannot write the download to disk: {error.strerror}")
    return HubImportError(f"the download of {where.filename} from {where.repo_id} failed ({error}); "
                          "try again")
