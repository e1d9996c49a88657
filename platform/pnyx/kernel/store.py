"""A small shared key-value store: Redis in production, process memory on the embedded default.

Rotation keeps its pool change logs here, card keys their nonces, rate limits their windows and
moderation its locks. Only the few operations they need, with the same meaning on both backends.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Sequence
from typing import NamedTuple, Protocol


class LogTail(NamedTuple):
    """A log read at one moment: see :meth:`Store.log_read`."""

    epoch: str | None  # the log's identity: changes when it is lost and begun anew
    position: int  # how many entries were ever appended
    entries: list[str] | None  # from the asked start on; None if not asked, or trimmed away


class Store(Protocol):
    def get(self, key: str) -> str | None: ...
    def set(
        self, key: str, value: str, *, ttl: float | None = None, only_new: bool = False
    ) -> bool: ...
    def delete(self, *keys: str) -> None: ...
    def incr(self, key: str, *, ttl: float | None = None) -> int: ...
    def incr_many(self, counters: Sequence[tuple[str, float | None]]) -> list[int]: ...
    def log_append(self, key: str, value: str, *, keep: int) -> int:
        """Append to the log ``key``, which keeps its last ``keep`` entries; its new position."""
        ...

    def log_read(self, key: str, start: int | None = None) -> LogTail:
        """The log's epoch, position and (with ``start``, an earlier position) the entries
        appended since ``start``, in one snapshot — None if some of them were trimmed away."""
        ...

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
    # A log is three keys: the list of its last entries, ``:base`` (how many were trimmed from
    # its head) and ``:epoch`` (set with the first entry: a log lost with Redis gets a new one).
    _LOG_APPEND = (
        "local n = redis.call('rpush', KEYS[1], ARGV[1]) "
        "local keep = tonumber(ARGV[2]) "
        "local base = tonumber(redis.call('get', KEYS[2]) or '0') "
        "if n > keep then "
        "redis.call('ltrim', KEYS[1], n - keep, -1) "
        "base = redis.call('incrby', KEYS[2], n - keep) "
        "n = keep end "
        "redis.call('setnx', KEYS[3], ARGV[3]) "
        "return base + n"
    )
    _LOG_READ = (
        "local base = tonumber(redis.call('get', KEYS[2]) or '0') "
        "local position = base + redis.call('llen', KEYS[1]) "
        "local epoch = redis.call('get', KEYS[3]) or '' "
        "local start = tonumber(ARGV[1]) "
        "if start < 0 then return {epoch, position, 0} end "
        "if start < base then return {epoch, position, 2} end "
        "return {epoch, position, 1, redis.call('lrange', KEYS[1], start - base, -1)}"
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
        self._log_append = self.redis.register_script(self._LOG_APPEND)
        self._log_read = self.redis.register_script(self._LOG_READ)

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

    def _log_keys(self, key: str) -> list[str]:
        return [self._k(key), self._k(key + ":base"), self._k(key + ":epoch")]

    def log_append(self, key: str, value: str, *, keep: int) -> int:
        return int(
            self._log_append(keys=self._log_keys(key), args=[value, keep, secrets.token_hex(8)])
        )

    def log_read(self, key: str, start: int | None = None) -> LogTail:
        epoch, position, kind, *entries = self._log_read(
            keys=self._log_keys(key), args=[-1 if start is None else start]
        )
        return LogTail(epoch or None, int(position), list(entries[0]) if kind == 1 else None)

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

    def log_append(self, key: str, value: str, *, keep: int) -> int:
        with self._lock:
            items = self._live(key)
            if not isinstance(items, list):
                items = []
                self._data[key] = (items, None)
            items.append(value)
            base = int(self.get(key + ":base") or 0)
            if len(items) > keep:
                base += len(items) - keep
                del items[: len(items) - keep]
                self.set(key + ":base", str(base))
            self.set(key + ":epoch", secrets.token_hex(8), only_new=True)
            return base + len(items)

    def log_read(self, key: str, start: int | None = None) -> LogTail:
        with self._lock:
            items = self._live(key)
            items = items if isinstance(items, list) else []
            base = int(self.get(key + ":base") or 0)
            position = base + len(items)
            entries = None if start is None or start < base else items[start - base :]
            return LogTail(self.get(key + ":epoch"), position, entries)

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
