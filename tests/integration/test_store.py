"""The shared store means the same on Redis and in memory."""

import os
import time

import pytest

from pnyx.kernel.store import MemoryStore, RedisStore

BACKENDS = ["memory"] + (["redis"] if os.environ.get("REDIS_URL") else [])


@pytest.fixture(params=BACKENDS)
def store(request):
    if request.param == "memory":
        yield MemoryStore()
        return
    store = RedisStore(os.environ["REDIS_URL"], prefix=f"test-store-{time.monotonic_ns()}:")
    yield store
    for key in store.redis.scan_iter(store.prefix + "*"):
        store.redis.delete(key)


def test_counters_expire_with_their_first_window(store):
    assert [store.incr("c", ttl=0.2) for _ in range(3)] == [1, 2, 3]
    time.sleep(0.3)
    assert store.incr("c", ttl=0.2) == 1
    assert store.incr("forever") == 1 and store.incr("forever") == 2


def test_several_counters_in_one_call_count_and_expire_each(store):
    assert store.incr_many([]) == []
    assert store.incr_many([("a", 0.2), ("b", None)]) == [1, 1]
    assert store.incr_many([("a", 0.2), ("b", None), ("a", 0.2)]) == [2, 2, 3]
    time.sleep(0.3)
    assert store.incr_many([("a", 0.2), ("b", None)]) == [1, 3]
    assert store.incr("a", ttl=0.2) == 2  # the same counters as incr's


def test_set_only_new_and_compare_operations(store):
    assert store.set("lock", "a", ttl=5, only_new=True)
    assert not store.set("lock", "b", ttl=5, only_new=True)
    assert store.get("lock") == "a"
    assert not store.compare_and_expire("lock", "b", 10)
    assert store.compare_and_expire("lock", "a", 0.2)
    assert not store.compare_and_delete("lock", "b")
    assert store.compare_and_delete("lock", "a") and store.get("lock") is None
    store.set("short", "x", ttl=0.1)
    time.sleep(0.2)
    assert store.get("short") is None


def test_logs_keep_their_tail_and_say_when_a_start_is_gone(store):
    assert store.log_read("log") == (None, 0, None)
    assert [store.log_append("log", str(i), keep=3) for i in range(1, 4)] == [1, 2, 3]
    epoch = store.log_read("log").epoch
    assert epoch and store.log_read("log", 1) == (epoch, 3, ["2", "3"])
    assert store.log_read("log", 3) == (epoch, 3, [])
    assert store.log_append("log", "4", keep=3) == 4 and store.log_append("log", "5", keep=3) == 5
    assert store.log_read("log", 2) == (epoch, 5, ["3", "4", "5"])  # positions stay absolute
    assert store.log_read("log", 1).entries is None  # trimmed away: the reader must start over
    assert store.log_read("log") == (epoch, 5, None)
    store.delete("log", "log:base", "log:epoch")  # lost (a store flushed): a new epoch
    assert store.log_append("log", "6", keep=3) == 1
    assert store.log_read("log", 0).epoch not in (None, epoch)
