"""Convert a pickle checkpoint (.ckpt/.pt/.pth/.bin) to safetensors, safely.

The calling process never unpickles anything.  The work happens in a separate
short-lived child (`core/library/pickle_worker.py`) that

* runs under ``resource`` limits set in ``preexec_fn``: CPU seconds, address
  space, output file size, open files, no core dumps;
* gets its own empty network namespace where the OS allows it (an
  unprivileged user + network namespace on Linux); where it does not, the
  conversion still runs and the result says ``network_isolated=False``;
* has a wall-clock timeout and a minimal environment (``python -I``);
* loads with ``torch.load(weights_only=True, mmap=True, map_location="cpu")``,
  keeps only ``str -> Tensor`` entries and writes them with safetensors.

The parent then validates the output as any upload (`validate_safetensors`),
hashes it, and moves it into place atomically.  On any failure no output file
is left behind.

Command line: ``python -m core.library.pickle_import IN [OUT]``.
"""

from __future__ import annotations

import json
import logging
import os
import resource
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from core.library.file_hashes import FileHashes, hash_file
from core.library.modelfile_errors import PICKLE_FORMATS, ModelFileError
from core.library.modelfiles import sniff_format
from core.library.safetensors_check import SafetensorsHeader, validate_safetensors

log = logging.getLogger(__name__)

WORKER = Path(__file__).with_name("pickle_worker.py")
_GIB = 1 << 30
_CLONE_NEWNET = 0x40000000
_CLONE_NEWUSER = 0x10000000


@dataclass(frozen=True)
class ConversionLimits:
    """Limits for the conversion child; ``None`` sizes scale with the input."""

    cpu_seconds: int = 1800
    wall_seconds: float = 3600.0
    memory_bytes: int | None = None  # default: 4 GiB + 3 x input size
    output_bytes: int | None = None  # default: 2 x input size + 64 MiB
    open_files: int = 256

    def resolved(self, input_size: int) -> ConversionLimits:
        return ConversionLimits(
            cpu_seconds=self.cpu_seconds,
            wall_seconds=self.wall_seconds,
            memory_bytes=self.memory_bytes or 4 * _GIB + 3 * input_size,
            output_bytes=self.output_bytes or 2 * input_size + (64 << 20),
            open_files=self.open_files,
        )


@dataclass(frozen=True)
class ConversionResult:
    """The converted, re-validated and re-hashed safetensors file."""

    path: Path
    hashes: FileHashes
    size: int
    header: SafetensorsHeader
    dropped: tuple[str, ...]  # non-tensor entries left out (first 50)
    network_isolated: bool

    @property
    def sha256(self) -> str:
        return self.hashes.sha256


def convert_pickle_to_safetensors(src: str | os.PathLike, dst: str | os.PathLike, *,
                                  limits: ConversionLimits | None = None) -> ConversionResult:
    """Convert pickle checkpoint ``src`` into safetensors file ``dst`` (replaced atomically).

    Raises `ModelFileError` when ``src`` is not a pickle, when the loader
    refuses it (it holds more than tensors: possibly malicious), when a limit
    is hit, or when it holds no tensors.  ``dst`` is untouched on failure.
    """
    src, dst = Path(src).resolve(), Path(dst).resolve()
    if src == dst:
        raise ModelFileError("the converted file must not overwrite the original")
    fmt = sniff_format(src)
    if fmt not in PICKLE_FORMATS:
        raise ModelFileError(f"'{src.name}' is not a pickle checkpoint (its content looks like: {fmt})")
    limits = (limits or ConversionLimits()).resolved(src.stat().st_size)
    fd, tmp_name = tempfile.mkstemp(dir=dst.parent, prefix=f".{dst.name}.", suffix=".partial")
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        report = _run_worker(src, tmp, limits)
        header = validate_safetensors(tmp)
        hashes = hash_file(tmp)
        _fsync(tmp)
        os.replace(tmp, dst)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(dst.parent)
    isolated = report.get("netns") is not None and report.get("netns") != _own_netns()
    if not isolated:
        log.warning("pickle conversion of %s ran without network isolation "
                    "(user namespaces are not available here)", src.name)
    return ConversionResult(dst, hashes, header.file_size, header,
                            tuple(report.get("dropped", ())), isolated)


def _run_worker(src: Path, out: Path, limits: ConversionLimits) -> dict:
    """Run the worker child and return its JSON report; raise ModelFileError on failure."""
    command = [sys.executable, "-I", str(WORKER), str(src), str(out)]
    returncode, stdout, stderr = run_sandboxed(command, limits, what=f"converting '{src.name}'")
    report = _parse_report(stdout)
    if returncode == 0 and report.get("ok"):
        return report
    raise ModelFileError(_failure_message(src.name, returncode, report, stderr, limits))


def run_sandboxed(command: list[str], limits: ConversionLimits, *, what: str = "the conversion") -> tuple[int, bytes, bytes]:
    """Run ``command`` under the sandbox; returns ``(returncode, stdout, stderr)``.

    ``limits`` must be resolved (no ``None`` sizes).  Raises `ModelFileError`
    when the process cannot start or passes the wall-clock limit (it is killed).
    """
    try:
        proc = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            env=_minimal_env(), cwd="/", close_fds=True, start_new_session=True,
            preexec_fn=_child_setup(limits),
        )
    except (OSError, subprocess.SubprocessError) as e:
        raise ModelFileError(f"could not start the conversion process: {e}") from None
    try:
        stdout, stderr = proc.communicate(timeout=limits.wall_seconds)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise ModelFileError(f"{what} took longer than {limits.wall_seconds:g} s and was stopped") from None
    return proc.returncode, stdout, stderr


def _parse_report(stdout: bytes) -> dict:
    for line in reversed(stdout.decode("utf-8", "replace").splitlines()):
        if line.startswith("{"):
            try:
                data = json.loads(line)
            except ValueError:
                return {}
            return data if isinstance(data, dict) else {}
    return {}


def _failure_message(name: str, returncode: int, report: dict, stderr: bytes,
                     limits: ConversionLimits) -> str:
    """Turn the child's exit status and report into a message a user can act on."""
    kind, error = report.get("kind"), report.get("error", "")
    if kind == "refused":
        return (f"'{name}' was refused and not converted: {error}. A checkpoint that needs "
                "code to load may be malicious; ask its author for a safetensors version.")
    if kind == "no-tensors":
        return f"'{name}' could not be converted: {error}"
    if kind == "memory" or returncode == -signal.SIGKILL:
        return (f"converting '{name}' ran out of its memory limit "
                f"({limits.memory_bytes / _GIB:.1f} GiB) and was stopped")
    if kind == "output-limit" or returncode == -signal.SIGXFSZ:
        return f"converting '{name}' would write more than {limits.output_bytes} bytes and was stopped"
    if returncode == -signal.SIGXCPU:
        return f"converting '{name}' used more than {limits.cpu_seconds} s of CPU time and was stopped"
    if error:
        return f"'{name}' could not be converted: {error}"
    tail = stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or ["no output"]
    return f"the conversion process for '{name}' failed (exit status {returncode}): {tail[0][:300]}"


def _minimal_env() -> dict[str, str]:
    """Only what the child needs: no credentials, proxies or PYTHON* variables."""
    return {
        "PATH": os.defpath,
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "CUDA_VISIBLE_DEVICES": "",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "MALLOC_ARENA_MAX": "2",
        "HF_HUB_OFFLINE": "1",
    }


def _child_setup(limits: ConversionLimits) -> Callable[[], None]:
    """The ``preexec_fn``: everything is computed here, in the parent, so the
    function that runs in the forked child only makes system calls."""
    settings = [
        (resource.RLIMIT_CPU, limits.cpu_seconds, limits.cpu_seconds + 5),
        (resource.RLIMIT_AS, limits.memory_bytes, limits.memory_bytes),
        (resource.RLIMIT_FSIZE, limits.output_bytes, limits.output_bytes),
        (resource.RLIMIT_NOFILE, limits.open_files, limits.open_files),
        (resource.RLIMIT_CORE, 0, 0),
    ]
    rlimits = [(which, *_clamp(which, soft, hard)) for which, soft, hard in settings]
    unshare = _unshare_function()

    def setup() -> None:
        for which, soft, hard in rlimits:
            resource.setrlimit(which, (soft, hard))
        if unshare is not None:
            unshare()

    return setup


def _clamp(which: int, soft: int, hard: int) -> tuple[int, int]:
    """An unprivileged process cannot raise its hard limit: stay within it."""
    _, current_hard = resource.getrlimit(which)
    if current_hard != resource.RLIM_INFINITY:
        hard = min(hard, current_hard)
        soft = min(soft, hard)
    return soft, hard


def _unshare_function() -> Callable[[], None] | None:
    """A call that moves the calling process into a new, empty network namespace.

    Tries an unprivileged user + network namespace, then a network namespace
    alone (enough when running as root).  Failures are silent: the worker
    reports which namespace it ended up in and the parent compares.
    """
    if not sys.platform.startswith("linux"):
        return None
    attempts = (_CLONE_NEWUSER | _CLONE_NEWNET, _CLONE_NEWNET)
    if hasattr(os, "unshare"):  # Python 3.12+
        def unshare_os() -> None:
            for flags in attempts:
                try:
                    os.unshare(flags)
                    return
                except OSError:
                    continue
        return unshare_os
    try:
        import ctypes

        libc_unshare = ctypes.CDLL(None, use_errno=True).unshare
        libc_unshare.argtypes = [ctypes.c_int]
    except (OSError, AttributeError):
        return None

    def unshare_libc() -> None:
        for flags in attempts:
            if libc_unshare(flags) == 0:
                return

    return unshare_libc


def _own_netns() -> str | None:
    try:
        return os.readlink("/proc/self/ns/net")
    except OSError:
        return None


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(path: Path) -> None:
    try:
        _fsync(path)
    except OSError:  # not every platform / filesystem can fsync a directory
        pass


def main(argv: list[str] | None = None) -> int:
    """``python -m core.library.pickle_import IN [OUT]``: convert on the command line."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) not in (1, 2) or args[0] in ("-h", "--help"):
        print("usage: python -m core.library.pickle_import IN.ckpt [OUT.safetensors]", file=sys.stderr)
        return 2
    src = Path(args[0])
    dst = Path(args[1]) if len(args) == 2 else src.with_suffix(".safetensors")
    if dst.exists():
        print(f"error: {dst} already exists", file=sys.stderr)
        return 1
    try:
        result = convert_pickle_to_safetensors(src, dst)
    except (ModelFileError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(f"wrote {result.path} ({result.size} bytes, {len(result.header.tensors)} tensors, "
          f"sha256 {result.sha256})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
