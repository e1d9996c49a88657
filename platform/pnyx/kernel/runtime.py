"""The kernel's backends for one process, picked from the configuration."""

from __future__ import annotations

from functools import cached_property

from .config import Config
from .db import Database
from .jobs import Jobs
from .mail import Mailer, make_mailer
from .signing import Signer
from .storage import Storage, make_storage
from .store import Store, make_store


class Kernel:
    """Database, jobs, storage, mail and signing for one process (web or worker)."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.db = Database(config.database_url)
        self.jobs = Jobs(config.jobs_mode, config.redis_url)
        self.signer = Signer(config.secret_key)

    @cached_property
    def storage(self) -> Storage:
        return make_storage(self.config)

    @cached_property
    def store(self) -> Store:
        """Shared state (pools, nonces, limits, locks): Redis, or this process's memory."""
        return make_store(self.config.redis_url, self.config.store_prefix)

    @cached_property
    def mailer(self) -> Mailer:
        return make_mailer(self.config)

    def close(self) -> None:
        self.db.dispose()


_current: Kernel | None = None


def set_kernel(kernel: Kernel) -> None:
    """Register the process's kernel, for jobs (which receive ids, not objects)."""
    global _current
    _current = kernel


def kernel() -> Kernel:
    """The process's kernel; jobs run in a worker build one from the environment."""
    global _current
    if _current is None:
        _current = Kernel(Config.from_env())
    return _current
