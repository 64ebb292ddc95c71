"""Smoke run of ``python -m bench --quick txt2img switch upload img2img`` (``tests.bench_smoke``); the other
measures run in ``test_bench_smoke_library.py`` and ``test_bench_smoke_pool.py``."""

from __future__ import annotations

from tests.bench_smoke import GROUPS, MEASURES, smoke_tests

quick_run, test_measure_runs_and_gives_rows, test_table_has_the_issue_columns_and_exit_status_is_clean = (
    smoke_tests("generation"))


def test_the_groups_run_every_measure_once():
    names = [name for group in GROUPS.values() for name in group]
    assert sorted(names) == sorted(MEASURES)
