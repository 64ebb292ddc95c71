"""Load: 50 concurrent clients for 60 s of mixed browsing, search, likes and comments against one instance.

``python -m bench.load [--clients N] [--seconds S] [--quick]`` (or the ``load`` measure of ``python -m bench``).
The server's database is seeded with users, models and published images (``bench.search_data``) before it
starts; each client is a thread with its own keep-alive session and account, picking actions at random:
model listings and pages, search, the gallery, creators, comment listings, like/unlike, posting a comment.
Any non-2xx answer or failed request is an error; "database is locked" is counted in answers and in the
server log. At the end every touched model's comment and like counts must equal the rows behind them.
The target is 0 errors and 0 "database is locked"; latencies are reported, not judged.
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

from bench import server as srv
from bench.common import Row, Workspace, format_table, median, p95
from bench.search_data import LibrarySizes, build_library
from tests.live_server import LiveServer

LOCKED = "database is locked"
SORTS = ("newest", "most_liked", "most_downloaded")


@dataclass(frozen=True)
class Sizes:
    clients: int
    seconds: float
    library: LibrarySizes
    accounts: int  # clients share these (registering runs bcrypt)


FULL = Sizes(clients=50, seconds=60, library=LibrarySizes(users=200, models=2_000, images=5_000), accounts=25)
QUICK = Sizes(clients=4, seconds=5, library=LibrarySizes(users=10, models=50, images=50), accounts=2)


@dataclass
class Tally:
    """What the clients saw (appended from many threads; list.append is atomic)."""

    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    locked: list[str] = field(default_factory=list)
    touched: set[int] = field(default_factory=set)


@dataclass
class Client:
    server: LiveServer
    headers: dict[str, str]
    model_ids: list[int]
    words: list[str]
    rng: random.Random
    tally: Tally
    session: requests.Session = field(default_factory=requests.Session)

    def request(self, method: str, path: str, **kwargs) -> None:
        began = time.perf_counter()
        try:
            reply = self.session.request(method, self.server.api(path), timeout=60, **kwargs)
            status, text = reply.status_code, reply.text
        except requests.RequestException as exc:
            status, text = type(exc).__name__, str(exc)
        self.tally.latencies.append(time.perf_counter() - began)
        if LOCKED in text:
            self.tally.locked.append(f"{method} {path}")
        if not isinstance(status, int) or not 200 <= status < 300:
            self.tally.errors.append(f"{status} {method} {path}: {text[:120]}")

    def model(self) -> int:
        return self.rng.choice(self.model_ids)

    def act(self) -> None:
        """One action, weighted roughly as people use a site: mostly reading."""
        rng, roll = self.rng, self.rng.random()
        if roll < 0.25:
            self.request("GET", f"/api/v1/models?page={rng.randint(1, 20)}&limit=20&sort={rng.choice(SORTS)}")
        elif roll < 0.45:
            self.request("GET", f"/api/v1/models/{self.model()}")
        elif roll < 0.60:
            self.request("GET", "/api/v1/models", params={"query": rng.choice(self.words[:500]), "limit": 20})
        elif roll < 0.70:
            self.request("GET", "/api/v1/images", params={"query": rng.choice(self.words[:500]), "limit": 20})
        elif roll < 0.75:
            self.request("GET", "/api/v1/creators", params={"query": rng.choice(self.words[:200])[:3]})
        elif roll < 0.82:
            self.request("GET", f"/api/v1/models/{self.model()}/comments")
        elif roll < 0.94:
            model = self.model()
            self.tally.touched.add(model)
            self.request(rng.choice(("PUT", "DELETE")), f"/api/v1/models/{model}/like", headers=self.headers)
        else:
            model = self.model()
            self.tally.touched.add(model)
            self.request("POST", f"/api/v1/models/{model}/comments", headers=self.headers,
                         json={"body": f"load test comment {rng.random():.6f}"})

    def run(self, start: threading.Barrier, deadline_s: float) -> None:
        start.wait()
        deadline = time.monotonic() + deadline_s
        while time.monotonic() < deadline:
            self.act()
        self.session.close()


def seed(server: LiveServer, sizes: Sizes) -> tuple[list[int], list[str]]:
    """The library, written before the server starts; a few models (the touched ones) get activity."""
    from core.migrations import open_store
    from core.tables import AiModel

    store = open_store(str(server.db_path))
    try:
        words = build_library(store.db, sizes.library, vocab_size=5_000)
        ids = [row.id for row in AiModel.select(AiModel.id).order_by(AiModel.id)]
    finally:
        store.close()
    return ids[:max(10, len(ids) // 20)], words


def wrong_counts(server: LiveServer, model_ids: set[int]) -> list[str]:
    """Models whose stored comment/like counts differ from the rows behind them."""
    query = ("SELECT m.id, m.comment_count, (SELECT COUNT(*) FROM comment c WHERE c.model_id = m.id), "
             "m.like_count, (SELECT COUNT(*) FROM model_like l WHERE l.model_id = m.id) FROM model m WHERE m.id = ?")
    with sqlite3.connect(server.db_path, timeout=60) as db:
        rows = [db.execute(query, (model_id,)).fetchone() for model_id in sorted(model_ids)]
    return [f"model {r[0]}: comments {r[1]} vs {r[2]}, likes {r[3]} vs {r[4]}" for r in rows
            if r[1] != r[2] or r[3] != r[4]]


def hammer(server: LiveServer, sizes: Sizes, model_ids: list[int], words: list[str]) -> Tally:
    accounts = [srv.register(server, f"loader{n}") for n in range(sizes.accounts)]
    tally, start = Tally(), threading.Barrier(sizes.clients)
    clients = [Client(server, accounts[n % len(accounts)], model_ids, words, random.Random(n), tally)
               for n in range(sizes.clients)]
    threads = [threading.Thread(target=c.run, args=(start, sizes.seconds)) for c in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return tally


def measure(ws: Workspace, sizes: Sizes) -> list[Row]:
    server = LiveServer(ws.path("load"))
    model_ids, words = seed(server, sizes)
    srv.launch(server)
    try:
        with ws.profiled(server.process.pid, "load"):
            tally = hammer(server, sizes, model_ids, words)
        log_locked = server.log_path.read_text(errors="replace").count(LOCKED)
        counts = wrong_counts(server, tally.touched)
    finally:
        server.stop()
    requests_made = len(tally.latencies)
    locked = len(tally.locked) + log_locked
    return [Row(f"7 load: {sizes.clients} clients × {sizes.seconds:.0f} s mixed (browse, search, like, comment) p95",
                p95(tally.latencies) * 1000, None, "ms", "0 errors, 0 'database is locked', exact counts",
                not tally.errors and not locked and not counts,
                detail={"requests": requests_made, "per_second": round(requests_made / sizes.seconds, 1),
                        "median_ms": median(tally.latencies) * 1000, "errors": len(tally.errors),
                        "first_errors": tally.errors[:5], "database_is_locked": locked, "wrong_counts": counts[:5]})]


def run(ws: Workspace) -> list[Row]:
    """The ``load`` measure of ``python -m bench``."""
    return measure(ws, QUICK if ws.quick else FULL)


def main(argv: list[str] | None = None) -> int:
    import tempfile

    parser = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=FULL.clients)
    parser.add_argument("--seconds", type=float, default=FULL.seconds)
    parser.add_argument("--quick", action="store_true", help="4 clients for 5 s on a small library (a smoke run)")
    args = parser.parse_args(argv)
    base = QUICK if args.quick else FULL
    sizes = base if args.quick else Sizes(args.clients, args.seconds, base.library, min(base.accounts, args.clients))
    with tempfile.TemporaryDirectory(prefix="visionary-load-") as tmp:
        rows = measure(Workspace(Path(tmp)), sizes)
    print(format_table(rows))
    print(rows[0].detail)
    return 0 if rows[0].met else 1


if __name__ == "__main__":
    sys.exit(main())
