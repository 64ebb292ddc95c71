"""The browsing clients of measure 6, in their own process: ``python -m bench.browse_client PLAN.json``.

Each client is a coroutine with its own keep-alive connection (aiohttp, whose
HTTP parser is in C), alternating a listing page and a model page, so the
clients cost the shared 2 CPUs little and the server is what is measured
(as curl is for the upload).  Prints ``{"latencies": [s...], "errors": [...],
"seconds": wall}`` as JSON.
"""

from __future__ import annotations

import asyncio
import json
import random
import sys
import time
from pathlib import Path

import aiohttp

SORTS = ("newest", "most_liked", "most_downloaded")


def urls(base: str, ids: list[int], count: int, seed: int) -> list[str]:
    """One client's pages: listing pages (random page and sort) and model pages, alternately."""
    rng, pages = random.Random(seed), max(1, len(ids) // 20)
    return [f"{base}/api/v1/models/{rng.choice(ids)}" if index % 2 else
            f"{base}/api/v1/models?page={rng.randint(1, pages)}&limit=20&sort={rng.choice(SORTS)}"
            for index in range(count)]


async def client(pages: list[str], start: asyncio.Event, latencies: list[float], errors: list[str]) -> None:
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=1)) as session:
        await start.wait()
        for url in pages:
            began = time.perf_counter()
            try:
                async with session.get(url, timeout=aiohttp.ClientTimeout(total=60)) as reply:
                    await reply.read()
                    status = reply.status
            except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
                status = type(exc).__name__
            latencies.append(time.perf_counter() - began)
            if status != 200:
                errors.append(f"{status} {url}")


async def browse(plan: dict) -> dict:
    latencies, errors, start = [], [], asyncio.Event()
    bases = plan["bases"]  # the app processes: client n talks to one of them, as a balancer would send it
    tasks = [asyncio.create_task(client(urls(bases[n % len(bases)], plan["ids"], plan["requests"], plan["seed"] + n),
                                        start, latencies, errors)) for n in range(plan["clients"])]
    await asyncio.sleep(0.2)  # every client has its session before the clock starts
    began = time.perf_counter()
    start.set()
    await asyncio.gather(*tasks)
    return {"latencies": latencies, "errors": errors, "seconds": time.perf_counter() - began}


def main() -> None:
    plan = json.loads(Path(sys.argv[1]).read_text())
    print(json.dumps(asyncio.run(browse(plan))))


if __name__ == "__main__":
    main()
