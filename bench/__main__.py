"""``python -m bench [NAME ...] [--quick] [--profile] [--json PATH]``: run the measures, print the table.

Every measure builds its data in one tmp folder (removed at the end), runs its
two sides alternately and returns rows; a measure that fails becomes an
``ERROR`` row and the exit status is 1.  Missed targets do not change the exit
status: nothing here is a test.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import json
import os
import platform
import sys
import tempfile
import time
import traceback
from pathlib import Path

from bench.common import Row, Workspace, format_table

MEASURES = (("txt2img", "bench.txt2img"), ("switch", "bench.switch"), ("upload", "bench.upload"),
            ("search", "bench.search"), ("startup", "bench.startup"), ("browse", "bench.browse"),
            ("pool", "bench.pool"), ("img2img", "bench.img2img"), ("community", "bench.community"),
            ("trending", "bench.trending"))
DEFAULT_JSON = Path(__file__).resolve().parent / "results.json"


def parse_args(argv: list[str]) -> argparse.Namespace:
    names = [name for name, _ in MEASURES]
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", metavar="NAME", help=f"measures to run (default: all): {', '.join(names)}")
    parser.add_argument("--quick", action="store_true", help="tiny sizes, one round (a smoke run; numbers mean little)")
    parser.add_argument("--profile", action="store_true", help="record each measured process with py-spy")
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON, help=f"results file (default {DEFAULT_JSON})")
    parser.add_argument("--tmp", default="/tmp", help="where the tmp folder goes (default /tmp)")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.names) - set(names))
    if unknown:
        parser.error(f"unknown measure {', '.join(unknown)}: choose from {', '.join(names)}")
    return args


def run_measure(name: str, module: str, ws: Workspace) -> list[Row]:
    started = time.monotonic()
    print(f"[bench] {name} ...", flush=True)
    try:
        rows = importlib.import_module(module).run(ws)
    except Exception as exc:  # one failing measure must not hide the others
        traceback.print_exc()
        first_line = (str(exc).strip().splitlines() or [""])[0]
        rows = [Row(f"{name}: ERROR {type(exc).__name__}: {first_line}"[:160], None, None, "", "-", None)]
    print(f"[bench] {name} done in {time.monotonic() - started:.0f} s", flush=True)
    return rows


def machine() -> dict:
    return {"cpus": os.cpu_count(), "load_average": os.getloadavg(), "python": platform.python_version(),
            "platform": platform.platform()}


def write_results(path: Path, rows: list[Row], argv: list[str], seconds: float) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({
        "command": " ".join(["python -m bench", *argv]), "finished": dt.datetime.now().isoformat(timespec="seconds"),
        "duration_s": round(seconds, 1), "machine": machine(), "rows": [row.as_dict() for row in rows],
    }, indent=2, default=str))


def quiet_libraries() -> None:
    """No download/loading progress bars from diffusers and the Hub in the table's output."""
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("DIFFUSERS_VERBOSITY", "error")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    quiet_libraries()
    args = parse_args(argv)
    wanted = [(name, module) for name, module in MEASURES if not args.names or name in args.names]
    started = time.monotonic()
    profiler = None
    if args.profile:
        from bench.profile import py_spy as profiler
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="visionary-bench-", dir=args.tmp) as tmp:
        ws = Workspace(Path(tmp), quick=args.quick, profiler=profiler)
        for name, module in wanted:
            rows += run_measure(name, module, ws)
    seconds = time.monotonic() - started
    print(format_table(rows))
    print(f"\n{len(rows)} rows in {seconds:.0f} s on {os.cpu_count()} CPUs (load {os.getloadavg()[0]:.1f}); "
          f"results in {args.json}")
    write_results(args.json, rows, argv, seconds)
    return 1 if any(row.ours is None and "ERROR" in row.measure for row in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
