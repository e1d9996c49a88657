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
max_requests = 5000
max_requests_jitter = 500
accesslog = "-"
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")


def post_worker_init(worker):
    """Once the app is loaded, its objects (modules, routes, table metadata) live as long as the
    process: out of the cyclic collector's reach, they are not traversed by every full
    collection, which otherwise pauses all of the worker's threads for tens of milliseconds."""
    import gc

    gc.collect()
    gc.freeze()
