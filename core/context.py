"""The one application context, built once in ``visionary_app.py`` and passed down.

Everything long-lived that the services need lives here, never in module
globals: the settings, the open store, the login throttle, the models-folder scanner,
the generation process (with its pipeline cache), the generation queue and the read cache.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from community.credential_cache import CredentialCache
from community.throttle import LoginThrottle
from core.config import Config
from core.generation_queue import GenerationQueue
from core.generation_worker import GenerationWorker
from core.read_cache import ReadCache
from core.scanner import ScanReport, Scanner
from core.store import Store


@dataclass
class AppContext:
    config: Config
    store: Store
    throttle: LoginThrottle = field(default_factory=LoginThrottle)
    credentials: CredentialCache = field(default_factory=CredentialCache)  # API clients' Basic auth
    scanner: Scanner | None = None
    generator: GenerationWorker | None = None  # the generation process, with its pipeline cache
    queue: GenerationQueue | None = None
    reads: ReadCache | None = None  # model listings and pages, until the library changes

    def __post_init__(self):
        if self.scanner is None:
            self.scanner = Scanner(self.store, self.config.models_path)
        if self.generator is None:
            self.generator = GenerationWorker(self.config.cache_models)
        if self.queue is None:
            self.queue = GenerationQueue(self.config.max_concurrent_generations, name=self.config.device)
        if self.reads is None:
            self.reads = ReadCache(self.store)

    def rescan_models(self, progress=None) -> ScanReport:
        """Re-read models_dir; local files are owned by --local-owner, the first admin or the site."""
        from community.accounts import local_owner

        return self.scanner.scan(local_owner(self.store, self.config.local_owner).id, progress)

    def close(self) -> None:
        self.queue.shutdown(wait=False)
        self.generator.close()
        self.store.close()
