"""The one application context, built once in ``visionary_app.py`` and passed down.

Everything long-lived that the services need lives here, never in module
globals: the settings, the open store, the login throttle (and, as features
land, the pipeline cache and the generation queue).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from community.throttle import LoginThrottle
from core.config import Config
from core.store import Store


@dataclass
class AppContext:
    config: Config
    store: Store
    throttle: LoginThrottle = field(default_factory=LoginThrottle)

    def close(self) -> None:
        self.store.close()
