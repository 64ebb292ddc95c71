"""Background upkeep of an app process: a thread that runs one job again and again (telling followers of new
publications, ageing the period rankings' counters).  Every process runs its own; the jobs take turns through
the database, so several processes never do one piece of work twice."""

from __future__ import annotations

import logging
import threading
from typing import Callable

log = logging.getLogger("visionary.upkeep")


class Periodic:
    """Runs ``job`` every ``interval`` seconds (``at_start``: also as soon as started; at once again while it
    returns True: more is waiting) until closed.  A failing job — a lost database — is said once, in one line,
    and tried again at the next turn."""

    def __init__(self, name: str, interval: float, job: Callable[[], bool], what: str, at_start: bool = False):
        self.name, self.interval, self.job, self.what, self.at_start = name, interval, job, what, at_start
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> "Periodic":
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        failing, wait = False, 0 if self.at_start else self.interval
        while not self._stop.wait(wait):
            wait = self.interval
            try:
                while self.job() and not self._stop.is_set():
                    pass
                failing = False
            except Exception as exc:
                if not failing:
                    first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                    log.warning("%s failed (will retry): %s", self.what, first_line)
                failing = True

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
