"""The one application context, built once in ``visionary_app.py`` and passed down.

Everything long-lived that the services need lives here, never in module globals: the settings, the open
store, the login throttle, the models-folder scanner, the upkeep threads (followers' notifier, rankings'
ageing), the generation backend (a local process or a Ray pool, ``core.generation.backend``), the generation
queue and the read cache.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from core.accounts.credential_cache import CredentialCache
from core.accounts.throttle import LoginThrottle, RegistrationThrottle
from core.config import Config
from core.generation.backend import GenerationBackend
from core.generation.queue import GenerationQueue
from core.generation.worker import GenerationWorker
from core.library.ingest import IncomingClaim
from core.library.scanner import Scanner, ScanReport
from core.library.trending import ageing_writer
from core.notifications import fanout_writer
from core.periodic import Periodic
from core.read_cache import ReadCache
from core.store import Store
from core.upload_handles import UploadHandles


@dataclass
class AppContext:
    config: Config
    store: Store
    throttle: LoginThrottle | None = None  # failed logins, counted in the store (every process alike)
    credentials: CredentialCache = field(default_factory=CredentialCache)  # API clients' Basic auth
    registrations: RegistrationThrottle | None = None  # new accounts per client, counted in the store
    scanner: Scanner | None = None
    generator: GenerationBackend | None = None  # where images are made: the local process, or the Ray pool
    queue: GenerationQueue | None = None
    reads: ReadCache | None = None  # model listings and pages, until the library changes
    uploads: UploadHandles = field(default_factory=UploadHandles)  # files uploaded for a form, by handle
    incoming: IncomingClaim | None = None  # this process's locked staging folder (core.library.ingest)
    fanout: Periodic | None = None  # tells followers of new publications (started by the server)
    ageing: Periodic | None = None  # ages the period rankings' counters (started by the server)

    def __post_init__(self):
        if self.throttle is None:
            self.throttle = LoginThrottle(self.store)
        if self.registrations is None:
            self.registrations = RegistrationThrottle(self.store)
        if self.scanner is None:
            self.scanner = Scanner(self.store, self.config.models_path)
        if self.generator is None:
            self.generator = GenerationWorker(self.config.cache_models)
        if self.queue is None:
            self.queue = GenerationQueue(self._runs_at_once(), name=self.config.device,
                                         max_per_owner=self.config.max_queued_per_user)
        if self.reads is None:
            self.reads = ReadCache(self.store)
        if self.fanout is None:
            self.fanout = fanout_writer(self.store)
        if self.ageing is None:
            self.ageing = ageing_writer(self.store)

    @property
    def worker_secret(self) -> bytes | None:
        """Signs the generation replicas' file grants (``core.generation.file_grants``); None without a pool."""
        return getattr(self.generator, "secret", None)

    def _runs_at_once(self) -> int:
        """Jobs the queue hands to the generator at once: on a Ray pool, one per replica it may grow to."""
        if self.generator.kind == "ray":
            return max(self.config.max_concurrent_generations, self.config.ray_replica_range[1])
        return self.config.max_concurrent_generations

    def rescan_models(self, progress=None) -> ScanReport:
        """Re-read models_dir; local files are owned by --local-owner, the first admin or the site."""
        from core.accounts.accounts import local_owner

        return self.scanner.scan(local_owner(self.store, self.config.local_owner).id, progress)

    def stop_generation(self) -> None:
        """Refuse new generations, cancel waiting ones and stop the running ones with the generation process
        (killed if it does not end by itself within ``QUIT_GRACE_S``): their callers get a "shutting down"
        error at once, so the server's shutdown never waits for a long generation."""
        self.queue.shutdown(wait=False)
        self.generator.close()

    def close(self) -> None:
        self.stop_generation()
        self.fanout.close()
        self.ageing.close()
        self.store.close()
        if self.incoming is not None:
            self.incoming.release()
