"""What the smoke runs of ``python -m bench --quick`` check (``tests/test_bench_smoke*.py``).

Every measure runs with tiny sizes and gives its rows. No timing is asserted (SPEC §6: benchmarks are never
tests); only that each measure completes, reports numbers and writes them to the results file. The measures are
run in three groups, one process and one test file each, so that the test files spread over the workers.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.live_server import ROOT, offline_env

# Each measure's rows start with its number.
MEASURES = {"txt2img": "1 ", "switch": "2 ", "upload": "3 ", "search": "4 ", "startup": "5 ", "browse": "6 ",
            "pool": "7 ", "img2img": "8 ", "community": "9 ", "trending": "10 "}
GROUPS = {"generation": ("txt2img", "switch", "upload", "img2img"),
          "library": ("search", "startup", "browse"),
          "pool": ("pool", "community", "trending")}


def smoke_tests(group: str):
    """The module fixture and the two tests of one group's test file: ``quick_run``, then the tests."""
    names = GROUPS[group]

    @pytest.fixture(scope="module")
    def quick_run(tmp_path_factory):
        """The group's measures, quick sizes, in one process (one start-up of torch and diffusers)."""
        tmp = tmp_path_factory.mktemp("bench")
        results = tmp / "results.json"
        done = subprocess.run([sys.executable, "-m", "bench", "--quick", *names, "--json", str(results),
                               "--tmp", str(tmp)], cwd=ROOT, env=offline_env(), capture_output=True, text=True,
                              timeout=580)
        return done, json.loads(results.read_text()) if results.exists() else None

    @pytest.mark.parametrize("name", names)
    def test_measure_runs_and_gives_rows(quick_run, name):
        done, results = quick_run
        assert results is not None, done.stdout[-3000:] + done.stderr[-3000:]
        rows = [row for row in results["rows"] if row["measure"].startswith(MEASURES[name])]
        errors = [row["measure"] for row in results["rows"] if row["measure"].startswith(f"{name}: ERROR")]
        assert not errors, done.stderr[-3000:]
        assert rows, [row["measure"] for row in results["rows"]]
        assert all(isinstance(row["ours"], (int, float)) for row in rows), rows
        assert rows[0]["measure"] in done.stdout  # in the printed table

    def test_table_has_the_issue_columns_and_exit_status_is_clean(quick_run):
        done, _ = quick_run
        assert done.returncode == 0, done.stderr[-3000:]
        assert "| measure" in done.stdout and "| met? |" in done.stdout
        for column in ("ours", "baseline", "ratio", "target"):
            assert f"| {column}" in done.stdout

    return quick_run, test_measure_runs_and_gives_rows, test_table_has_the_issue_columns_and_exit_status_is_clean
