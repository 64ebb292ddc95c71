"""``--profile``: py-spy samples the process under measurement (the server, or this process) during a measure.

The raw collapsed stacks go to ``test-artifacts/bench-profile-<label>.txt``;
the functions with the most samples (own time, and time including callees)
are printed.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
from collections import Counter
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from tests.live_server import ROOT

OUT_DIR = ROOT / "test-artifacts"
RATE = 200
TOP = 12


def py_spy_binary() -> str:
    beside = Path(sys.executable).with_name("py-spy")
    found = str(beside) if beside.exists() else shutil.which("py-spy")
    if not found:
        raise RuntimeError("--profile needs py-spy: pip install -r requirements-bench.txt")
    return found


@contextmanager
def py_spy(pid: int, label: str) -> Iterator[Path]:
    """Record ``pid`` (without pausing it) while the block runs; print the summary after."""
    OUT_DIR.mkdir(exist_ok=True)
    out = OUT_DIR / f"bench-profile-{label}.txt"
    recorder = subprocess.Popen([py_spy_binary(), "record", "--pid", str(pid), "--rate", str(RATE), "--nonblocking",
                                 "--format", "raw", "--output", str(out)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        yield out
    finally:
        recorder.send_signal(signal.SIGINT)
        recorder.wait(120)
    print(summarize(out, label), flush=True)


def _stacks(path: Path) -> Iterator[tuple[list[str], int]]:
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if stack and count.isdigit():
            yield stack.split(";"), int(count)


def summarize(path: Path, label: str) -> str:
    """The top functions by own samples and by inclusive samples, as percentages of all samples."""
    if not path.exists():
        return f"[profile {label}] no samples (py-spy wrote nothing)"
    own, inclusive, total = Counter(), Counter(), 0
    for frames, count in _stacks(path):
        total += count
        own[frames[-1]] += count
        for frame in set(frames):
            inclusive[frame] += count
    if not total:
        return f"[profile {label}] no samples"
    lines = [f"[profile {label}] {total} samples, raw stacks in {path}", "  own time:"]
    lines += [f"    {100 * n / total:5.1f}%  {frame}" for frame, n in own.most_common(TOP)]
    lines.append("  including callees:")
    lines += [f"    {100 * n / total:5.1f}%  {frame}" for frame, n in inclusive.most_common(TOP)]
    return "\n".join(lines)
