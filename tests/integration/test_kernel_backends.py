"""The kernel's backends against real peers: S3 over HTTP (a local S3 server), RQ on real Redis."""

from __future__ import annotations

import pytest

from pnyx.kernel.jobs import Jobs
from pnyx.kernel.storage import LocalStorage, S3Storage


def test_s3_storage_round_trip(s3_endpoint):
    storage = S3Storage("pnyx-test", endpoint_url=s3_endpoint, public_url="https://cdn.example")
    storage.client.create_bucket(
        Bucket="pnyx-test", CreateBucketConfiguration={"LocationConstraint": "eu-west-3"}
    )
    storage.put("tenants/1/logo.svg", b"<svg/>")
    assert storage.get("tenants/1/logo.svg") == b"<svg/>"
    head = storage.client.head_object(Bucket="pnyx-test", Key="tenants/1/logo.svg")
    assert head["ContentType"] == "image/svg+xml"
    assert storage.url("tenants/1/logo.svg") == "https://cdn.example/tenants/1/logo.svg"
    storage.delete("tenants/1/logo.svg")
    with pytest.raises(storage.client.exceptions.NoSuchKey):
        storage.get("tenants/1/logo.svg")


def test_local_storage_refuses_escaping_keys(tmp_path):
    storage = LocalStorage(tmp_path)
    storage.put("a/b.txt", b"x")
    assert storage.get("a/b.txt") == b"x" and storage.url("a/b.txt") == "/files/a/b.txt"
    for key in ("../x", "/etc/passwd", "a/../../x", ""):
        with pytest.raises(ValueError):
            storage.put(key, b"x")


CALLS: list[dict] = []


def record(**kwargs):
    """A job: records its arguments and returns them."""
    CALLS.append(kwargs)
    return kwargs


def test_inline_jobs_run_at_once():
    CALLS.clear()
    assert Jobs("inline").enqueue("tests.integration.test_kernel_backends.record", tenant_id=7) == {
        "tenant_id": 7
    }
    assert CALLS == [{"tenant_id": 7}]
    with pytest.raises(ValueError):
        Jobs("inline").enqueue("record")


@pytest.mark.redis
def test_rq_jobs_go_through_redis_and_a_worker(config):
    from rq import SimpleWorker

    jobs = Jobs("rq", config.redis_url)
    jobs.redis.flushdb()
    job = jobs.enqueue("tests.integration.test_kernel_backends.record", tenant_id=3, proposal_id=9)
    assert jobs.queue("default").count == 1
    SimpleWorker([jobs.queue("default")], connection=jobs.redis).work(burst=True)
    job.refresh()
    assert job.get_status() == "finished"
    assert job.return_value() == {"tenant_id": 3, "proposal_id": 9}
    sync = Jobs("sync", config.redis_url)
    assert sync.enqueue("tests.integration.test_kernel_backends.record", tenant_id=4) == {
        "tenant_id": 4
    }


@pytest.mark.postgres
def test_pooled_connection_lost_while_idle_is_replaced(config):
    """No ping per checkout: a connection used a moment ago is trusted, one that rested is
    checked, and a dead one is replaced before the request sees it."""
    from sqlalchemy import create_engine, text

    from pnyx.kernel.db import PING_IDLE_AFTER, make_engine

    engine = make_engine(config.database_url, pool_size=1, max_overflow=0)
    try:
        with engine.connect() as conn:
            first_pid = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
        killer = create_engine(config.database_url)  # same role: may end its own backends
        with killer.connect() as conn:  # the server closes it while it rests in the pool
            assert conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": first_pid})
        killer.dispose()
        record = engine.pool._pool.queue[0]  # its rest, back-dated past the threshold
        record.info["checked_in_at"] -= PING_IDLE_AFTER + 1
        with engine.connect() as conn:
            second_pid = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
            # The check ran outside a transaction: the request's own starts clean.
            assert conn.execute(text("SELECT 1")).scalar_one() == 1
        assert second_pid != first_pid
    finally:
        engine.dispose()
