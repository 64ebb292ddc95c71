"""Benchmarks of SPEC §6: each target measured side by side with its baseline in one run.

``make bench`` (or ``python -m bench [NAME ...] [--quick] [--profile]``) runs
them and prints one table; ``bench/results.json`` keeps the last run.  One
module per measure (txt2img, switch, upload, search, startup, browse), each
with a ``run(workspace) -> list[Row]``; ``common`` holds the row, statistics,
alternation and table; ``server`` the app-under-test helpers.
"""
