"""Smoke run of ``python -m bench --quick pool community trending`` (``tests.bench_smoke``): the pool measure
starts its own two-node Ray cluster."""

from __future__ import annotations

from tests.bench_smoke import smoke_tests

quick_run, test_measure_runs_and_gives_rows, test_table_has_the_issue_columns_and_exit_status_is_clean = (
    smoke_tests("pool"))
