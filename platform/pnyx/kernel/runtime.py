"""The kernel's backends for one process, picked from the configuration."""

from __future__ import annotations

from functools import cached_property

from .config import Config
from .db import Database
from .jobs import Jobs
from .signing import Signer
from .storage import Storage, make_storage


class Kernel:
    """Database, jobs, storage and signing for one process (web or worker)."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.db = Database(config.database_url)
        self.jobs = Jobs(config.jobs_mode, config.redis_url)
        self.signer = Signer(config.secret_key)

    @cached_property
    def storage(self) -> Storage:
        return make_storage(self.config)

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
