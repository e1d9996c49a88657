"""gunicorn settings for the web service (override with GUNICORN_* environment variables)."""

import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
worker_class = "gthread"
# One process per CPU, eight threads each. A process holds each open consultation's rotation
# pool (thousands of candidates, seconds of CPU to build) and follows its change log: more
# processes per CPU multiply that work and that memory for no more parallelism (the GIL lets a
# process use one CPU; its threads overlap the waits on PostgreSQL and Redis). Measured with
# bench_sequence on 2 CPUs: 2 × 8 spends 2.5 ms of worker CPU per request where 4 × 4 spent 3.0.
workers = int(os.environ.get("GUNICORN_WORKERS", multiprocessing.cpu_count()))
threads = int(os.environ.get("GUNICORN_THREADS", 8))
timeout = 30
graceful_timeout = 20
keepalive = 5
# A worker restarts after so many requests (a guard against slow leaks), and then rebuilds its
# rotation pools (post_worker_init): at 5,000 that was every half minute under load.
max_requests = 100_000
max_requests_jitter = 10_000
accesslog = os.environ.get("GUNICORN_ACCESSLOG", "-") or None  # "" turns it off
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")


def post_worker_init(worker):
    """Before the worker serves: the pools of open consultations built (its first sequences do
    not wait seconds for them; bounded to half the worker timeout), then the loaded app and its
    pools moved out of the cyclic collector's reach. Objects that live as long as the process
    are then not traversed by every full collection, which otherwise pauses all of the worker's
    threads for tens of milliseconds (a pool of 10,000 proposals is some 100,000 objects);
    replaced ones are still freed by reference counting."""
    import gc

    pnyx = getattr(worker.wsgi, "extensions", {}).get("pnyx")  # None: another app (a baseline)
    if pnyx is not None:
        _warm_pools(worker, pnyx)
    gc.collect()
    gc.freeze()


def _warm_pools(worker, pnyx) -> None:
    from datetime import UTC, datetime

    from pnyx.rotation.service import warm_pools

    try:
        built = warm_pools(
            pnyx.db, pnyx.store, datetime.now(UTC), budget=timeout / 2, between=worker.notify
        )
    except Exception:  # the worker serves anyway: pools build at their first sequence
        worker.log.exception("could not build the rotation pools in advance")
    else:
        worker.log.info("rotation pools built in advance: %d", built)
