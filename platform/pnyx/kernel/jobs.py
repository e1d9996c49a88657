"""Background jobs: enqueued by name, with ids not objects, run by RQ or inline.

``inline`` (embedded default) runs the job at once in the caller's process; ``sync`` pushes it
through a real Redis queue and runs it at once (tests); ``rq`` leaves it to ``pnyx worker``. A job
is a plain function named by its dotted path (``"pnyx.results.jobs.refresh_scores"``), so a lower
floor can ask a higher one for work without importing it. Jobs must be idempotent: they are
retried.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)

QUEUES = ("default", "mail", "reports")


def resolve(name: str) -> Callable[..., Any]:
    module, _, attr = name.rpartition(".")
    if not module:
        raise ValueError(f"job name must be a dotted path, not {name!r}")
    return getattr(importlib.import_module(module), attr)


class Jobs:
    """The platform's job queue (one per process)."""

    def __init__(self, mode: str = "inline", redis_url: str | None = None) -> None:
        self.mode = mode
        self.redis_url = redis_url
        self._queues: dict[str, Any] = {}
        self._redis = None

    @property
    def redis(self):
        if self._redis is None:
            from redis import Redis

            self._redis = Redis.from_url(self.redis_url)
        return self._redis

    def queue(self, name: str = "default"):
        if name not in self._queues:
            from rq import Queue

            self._queues[name] = Queue(name, connection=self.redis, is_async=self.mode == "rq")
        return self._queues[name]

    def enqueue(self, name: str, *, queue: str = "default", **kwargs: Any) -> Any:
        """Run or enqueue the job ``name`` with keyword arguments (ids and plain values)."""
        if self.mode == "inline":
            return resolve(name)(**kwargs)
        from rq import Retry

        job = self.queue(queue).enqueue(
            name, kwargs=kwargs, retry=Retry(max=3, interval=[5, 30, 120]), result_ttl=3600
        )
        return job.return_value() if self.mode == "sync" else job
