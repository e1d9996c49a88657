"""A small shared key-value store: Redis in production, process memory on the embedded default.

Rotation keeps its pool change logs here, card keys their nonces, rate limits their windows and
moderation its locks. Only the few operations they need, with the same meaning on both backends.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from typing import Protocol


class Store(Protocol):
    def get(self, key: str) -> str | None: ...
    def set(
        self, key: str, value: str, *, ttl: float | None = None, only_new: bool = False
    ) -> bool: ...
    def delete(self, *keys: str) -> None: ...
    def incr(self, key: str, *, ttl: float | None = None) -> int: ...
    def incr_many(self, counters: Sequence[tuple[str, float | None]]) -> list[int]: ...
    def rpush(self, key: str, *values: str) -> int: ...
    def llen(self, key: str) -> int: ...
    def lrange(self, key: str, start: int, stop: int) -> list[str]: ...
    def compare_and_delete(self, key: str, expected: str) -> bool: ...
    def compare_and_expire(self, key: str, expected: str, ttl: float) -> bool: ...


class RedisStore:
    """Keys are prefixed so that several deployments (or test runs) can share one Redis."""

    _CAD = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end"
    _INCR = (
        "local n = redis.call('incr', KEYS[1]) "
        "if n == 1 and tonumber(ARGV[1]) > 0 then redis.call('pexpire', KEYS[1], ARGV[1]) end "
        "return n"
    )
    _INCR_MANY = (
        "local counts = {} "
        "for i, key in ipairs(KEYS) do "
        "local n = redis.call('incr', key) "
        "if n == 1 and tonumber(ARGV[i]) > 0 then redis.call('pexpire', key, ARGV[i]) end "
        "counts[i] = n end "
        "return counts"
    )
    _CAE = (
        "if redis.call('get', KEYS[1]) == ARGV[1] then "
        "return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end"
    )

    def __init__(self, url: str, prefix: str = "pnyx:") -> None:
        from redis import Redis

        self.redis = Redis.from_url(url, decode_responses=True)
        self.prefix = prefix
        self._cad = self.redis.register_script(self._CAD)
        self._cae = self.redis.register_script(self._CAE)
        self._incr = self.redis.register_script(self._INCR)
        self._incr_many = self.redis.register_script(self._INCR_MANY)

    def _k(self, key: str) -> str:
        return self.prefix + key

    def get(self, key: str) -> str | None:
        return self.redis.get(self._k(key))

    def set(
        self, key: str, value: str, *, ttl: float | None = None, only_new: bool = False
    ) -> bool:
        px = int(ttl * 1000) if ttl else None
        return bool(self.redis.set(self._k(key), value, px=px, nx=only_new))

    def delete(self, *keys: str) -> None:
        if keys:
            self.redis.delete(*(self._k(k) for k in keys))

    def incr(self, key: str, *, ttl: float | None = None) -> int:
        """One round trip: the counter, with its expiry set when it is created."""
        return int(self._incr(keys=[self._k(key)], args=[int(ttl * 1000) if ttl else 0]))

    def incr_many(self, counters: Sequence[tuple[str, float | None]]) -> list[int]:
        """Several counters (key, ttl) in one round trip, each as :meth:`incr`."""
        if not counters:
            return []
        keys = [self._k(key) for key, _ in counters]
        ttls = [int(ttl * 1000) if ttl else 0 for _, ttl in counters]
        return [int(n) for n in self._incr_many(keys=keys, args=ttls)]

    def rpush(self, key: str, *values: str) -> int:
        return int(self.redis.rpush(self._k(key), *values))

    def llen(self, key: str) -> int:
        return int(self.redis.llen(self._k(key)))

    def lrange(self, key: str, start: int, stop: int) -> list[str]:
        return list(self.redis.lrange(self._k(key), start, stop))

    def compare_and_delete(self, key: str, expected: str) -> bool:
        return bool(self._cad(keys=[self._k(key)], args=[expected]))

    def compare_and_expire(self, key: str, expected: str, ttl: float) -> bool:
        return bool(self._cae(keys=[self._k(key)], args=[expected, int(ttl * 1000)]))


class MemoryStore:
    """The same operations in one process's memory, thread-safe, with expiry."""

    def __init__(self) -> None:
        self._data: dict[str, tuple[object, float | None]] = {}
        self._lock = threading.RLock()

    def _live(self, key: str):
        item = self._data.get(key)
        if item is None:
            return None
        value, expires = item
        if expires is not None and expires <= time.monotonic():
            del self._data[key]
            return None
        return value

    @staticmethod
    def _expiry(ttl: float | None) -> float | None:
        return time.monotonic() + ttl if ttl else None

    def get(self, key: str) -> str | None:
        with self._lock:
            value = self._live(key)
            return value if isinstance(value, str) else None

    def set(
        self, key: str, value: str, *, ttl: float | None = None, only_new: bool = False
    ) -> bool:
        with self._lock:
            if only_new and self._live(key) is not None:
                return False
            self._data[key] = (value, self._expiry(ttl))
            return True

    def delete(self, *keys: str) -> None:
        with self._lock:
            for key in keys:
                self._data.pop(key, None)

    def incr(self, key: str, *, ttl: float | None = None) -> int:
        with self._lock:
            current = self._live(key)
            value = int(current or 0) + 1
            expires = self._data[key][1] if current is not None else self._expiry(ttl)
            self._data[key] = (str(value), expires)
            return value

    def incr_many(self, counters: Sequence[tuple[str, float | None]]) -> list[int]:
        with self._lock:
            return [self.incr(key, ttl=ttl) for key, ttl in counters]

    def rpush(self, key: str, *values: str) -> int:
        with self._lock:
            items = self._live(key)
            if not isinstance(items, list):
                items = []
                self._data[key] = (items, None)
            items.extend(values)
            return len(items)

    def llen(self, key: str) -> int:
        with self._lock:
            items = self._live(key)
            return len(items) if isinstance(items, list) else 0

    def lrange(self, key: str, start: int, stop: int) -> list[str]:
        with self._lock:
            items = self._live(key)
            if not isinstance(items, list):
                return []
            return list(items[start : (None if stop == -1 else stop + 1)])

    def compare_and_delete(self, key: str, expected: str) -> bool:
        with self._lock:
            if self._live(key) == expected:
                del self._data[key]
                return True
            return False

    def compare_and_expire(self, key: str, expected: str, ttl: float) -> bool:
        with self._lock:
            if self._live(key) == expected:
                self._data[key] = (expected, self._expiry(ttl))
                return True
            return False


def make_store(redis_url: str | None, prefix: str = "pnyx:") -> Store:
    return RedisStore(redis_url, prefix) if redis_url else MemoryStore()
