"""Votes per second through the full HTTP stack on PostgreSQL, against a bare insert endpoint.

Run: ``PYTHONPATH=platform:. python tests/benchmarks/bench_vote_throughput.py`` (or
``make bench ONLY=vote_throughput``). Needs PostgreSQL on 127.0.0.1:5432 (user ``postgres``,
trust auth) and ``infra/create-test-db.sh``.

- setup: (re)creates the database ``pnyx_bench``, migrates it, provisions one tenant
  (``bench.localhost``) with one open consultation of 500 accepted proposals by 100 authors
  (through the services), and a ``bench_rows`` table for the baseline; then ANALYZE. Pnyx runs as in production: on
  PostgreSQL and Redis (database 10, the benchmark's own: emptied before and after the run).
- Pnyx (``pnyx.wsgi:app``) and the bare app (``tests/benchmarks/bare_app.py``: one Flask POST
  inserting one row through a pooled Core engine, same driver, same role) are served by gunicorn
  with the SAME settings — production's (``infra/gunicorn.conf.py``: 1 gthread worker per CPU,
  8 threads each) — never at the same time.
- load: CLIENTS processes, each one keep-alive HTTP/1.1 connection, WARMUP s unmeasured then
  DURATION s measured. On Pnyx each client plays successive anonymous voters: GET the voter's
  sequence of cards (``/consultations/<id>/sequence``, chosen by rotation; it sets the voter's
  session cookie), PUT a vote with the card key on each card in order (some with a
  qualification), then a new voter with no cookie. Only the vote PUTs count (the sequence GETs
  are part of the load, not of the figure). On the bare app each request
  is one POST of one row. Every answer must be 200 (and every vote must count as trusted, i.e.
  its card key was accepted); any error is printed and the script exits non-zero.
- Measurements are INTERLEAVED (Pnyx, bare, Pnyx, bare: each server started afresh) and the
  better run of each is kept: the machine is noisy, and interleaving spreads its drift over both.

Prints ``bench vote_throughput: <v> votes/s ratio <r> vs bare_insert``, ``bench bare_insert:
<v> req/s``, a table of latencies (p50/p95) and the CPU time per write of the gunicorn workers
and of the database's backends (Pnyx's per vote, its sequence GETs included). Bounded: the
whole script stops within 2 minutes, and every server it started is stopped on exit, errors
included. Traffic goes to 127.0.0.1 only.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import multiprocessing
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
DB_NAME = "pnyx_bench"
APP_URL = f"postgresql+psycopg://pnyx_app:pnyx_app@127.0.0.1:5432/{DB_NAME}"
OWNER_URL = f"postgresql+psycopg://pnyx_owner:pnyx_owner@127.0.0.1:5432/{DB_NAME}"
SLUG = "bench"
HOST = f"{SLUG}.localhost"
PROPOSALS = 500
AUTHORS = 100  # rotation serves at most one proposal per author in a sequence
# Production's settings (infra/gunicorn.conf.py: 1 worker per CPU, 8 threads each, pools
# built before serving), without the access log; GUNICORN_* variables of the environment that
# would change them are not passed on (server_env).
GUNICORN = ["-c", str(ROOT / "infra" / "gunicorn.conf.py"), "--log-level", "warning"]
GUNICORN_SHOWN = "infra/gunicorn.conf.py (1 worker per CPU × 8 threads)"
CLIENTS = 4
WARMUP = 2.0
DURATION = 10.0  # measured seconds per run, shortened when setup was slow (see fit_duration)
MIN_DURATION = 4.0
ROUNDS = 2
REDIS_URL = "redis://127.0.0.1:6379/10"  # the benchmark's own database, emptied before and after
REDIS_PREFIX = f"pnyx-bench-{os.getpid()}:"
DEADLINE = 115  # seconds, for the whole script
RUN_OVERHEAD = 6.0  # seconds per run besides warm-up and measure: server start and stop
MAX_ERRORS_SHOWN = 5

KEYS = ("agree", "disagree", "neutral")
QUALIFICATIONS = {
    "agree": ("likeIt", "doable", "platitudeAgree"),
    "disagree": ("noWay", "impossible", "platitudeDisagree"),
    "neutral": ("doNotUnderstand", "noOpinion", "doNotCare"),
}

_servers: list[subprocess.Popen] = []


# --------------------------------------------------------------------------------------- setup


def server_env(var_dir: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k
        not in {
            "DATABASE_URL",
            "DATABASE_OWNER_URL",
            "DATABASE_APP_ROLE",
            "REDIS_URL",
            "REDIS_PREFIX",
        }
        and not k.startswith(("JOBS_", "S3_", "STRIPE_", "SMTP_", "GUNICORN_"))
    }
    env.update(
        DATABASE_URL=APP_URL,
        DATABASE_OWNER_URL=OWNER_URL,
        BENCH_DATABASE_URL=APP_URL,
        PLATFORM_DOMAIN="localhost",
        SECRET_KEY="bench-secret-key-not-for-production-0123456789",
        PNYX_VAR_DIR=var_dir,
        REDIS_URL=REDIS_URL,
        REDIS_PREFIX=REDIS_PREFIX,
        # Jobs are only enqueued (no worker), as in bench_sequence: the lockstep detection that
        # every 500th vote asks for runs on workers in production, not in the web processes.
        JOBS_MODE="rq",
        PYTHONPATH=os.pathsep.join([str(ROOT / "platform"), str(ROOT)]),
        GUNICORN_ACCESSLOG="",  # no access log: the figures measure the app, not log writing
    )
    env.pop("PNYX_TESTING", None)
    return env


def setup(env: dict[str, str]) -> int:
    """Fresh database, migrated, one tenant and one consultation; returns the consultation id."""
    from datetime import UTC, datetime, timedelta

    from sqlalchemy import create_engine, select, text

    from pnyx.consultations import proposals, service
    from pnyx.identity.models import Account
    from pnyx.identity.participants import participant_of_account
    from pnyx.identity.service import create_account
    from pnyx.kernel.config import Config
    from pnyx.kernel.db import Database
    from pnyx.kernel.migrate import upgrade
    from pnyx.kernel.runtime import Kernel, set_kernel
    from pnyx.seed import provision_tenant
    from tenants.models import Tenant
    from tests import factories

    subprocess.run(
        ["bash", str(ROOT / "infra" / "create-test-db.sh"), DB_NAME],
        check=True,
        timeout=60,
        stdout=subprocess.DEVNULL,
    )
    config = Config.from_env(env)
    upgrade(config)
    set_kernel(Kernel(config))  # services' signals (rotation's change log) go to this run's Redis
    owner = create_engine(OWNER_URL)
    with owner.begin() as conn:
        conn.execute(
            text(
                "CREATE TABLE bench_rows (id bigserial PRIMARY KEY, payload text NOT NULL,"
                " created_at timestamptz NOT NULL DEFAULT now())"
            )
        )
        conn.execute(text("GRANT SELECT, INSERT ON bench_rows TO pnyx_app"))
        conn.execute(text("GRANT USAGE, SELECT ON SEQUENCE bench_rows_id_seq TO pnyx_app"))
    owner.dispose()

    database = Database(config.database_url)
    provision_tenant(config, slug=SLUG, kind="city", name="Bench City", database=database)
    with database.session() as s:
        tenant_id = s.scalar(select(Tenant.id).where(Tenant.slug == SLUG))
    now = datetime.now(UTC)
    with database.scope(tenant_id=tenant_id) as s:
        for a in range(AUTHORS):
            create_account(s, email=f"author{a}@bench.example", password=None)
        consultation = factories.create_consultation(s, starts_at=now - timedelta(days=1))
        consultation_id = consultation.id
    with database.scope(tenant_id=tenant_id) as s:
        authors = [
            participant_of_account(s, account_id)
            for account_id in s.scalars(select(Account.id).where(Account.email.like("author%")))
        ]
        consultation = service.get_consultation(s, consultation_id)
        for i in range(PROPOSALS):
            p = proposals.submit(
                s,
                consultation,
                authors[i % len(authors)],
                f"Il faut améliorer le service public numéro {i} dans chaque quartier",
                now,
                rate_limit=False,
            )
            proposals.decide(s, p.id, "accept", by="bench", now=now)
    database.dispose()
    # Statistics, as autovacuum keeps them in production (without them, the planner may read a
    # proposal through the tenant index instead of its primary key).
    owner = create_engine(OWNER_URL, isolation_level="AUTOCOMMIT")
    with owner.connect() as conn:
        conn.execute(text("ANALYZE"))
    owner.dispose()
    return consultation_id


# ------------------------------------------------------------------------------------- servers


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(
    app_spec: str, env: dict[str, str], extra: list[str]
) -> tuple[subprocess.Popen, int]:
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            *GUNICORN,
            "--bind",
            f"127.0.0.1:{port}",
            *extra,
            app_spec,
        ],
        cwd=ROOT,
        env=env,
        start_new_session=True,  # its own process group: stop_server kills master and workers
    )
    _servers.append(proc)
    return proc, port


def stop_server(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=10)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)
    if proc in _servers:
        _servers.remove(proc)


def stop_all() -> None:
    for proc in list(_servers):
        try:
            stop_server(proc)
        except Exception as exc:  # noqa: BLE001 - best effort at exit
            print(f"could not stop gunicorn {proc.pid}: {exc}", file=sys.stderr)


def wait_ready(port: int, method: str, path: str, body: bytes | None, proc, timeout=30.0) -> None:
    """Until one real request answers 200 (gunicorn binds before its workers have loaded)."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {proc.returncode}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            headers = {"Host": HOST, "Content-Type": "application/json"}
            conn.request(method, path, body=body, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
            conn.close()
            if resp.status == 200:
                return
            last = f"{resp.status} {data[:200]!r}"
        except OSError as exc:
            last = repr(exc)
        time.sleep(0.1)
    raise RuntimeError(f"server on port {port} not ready: {last}")


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of these processes so far (Linux /proc; 0 for one gone)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rpartition(")")[2].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
        except (OSError, IndexError, ValueError):
            pass
    return total / tick


def server_pids(proc, db_name: str) -> tuple[list[int], list[int]]:
    """The gunicorn workers of ``proc`` and the PostgreSQL backends of the bench database."""
    import subprocess

    from sqlalchemy import create_engine, text

    workers = subprocess.run(
        ["pgrep", "-P", str(proc.pid)], capture_output=True, text=True, timeout=10
    ).stdout.split()
    admin = create_engine("postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    try:
        with admin.connect() as conn:
            backends = list(
                conn.scalars(
                    text("SELECT pid FROM pg_stat_activity WHERE datname = :d"), {"d": db_name}
                )
            )
    finally:
        admin.dispose()
    return [int(p) for p in workers], [int(p) for p in backends]


# ------------------------------------------------------------------------------------- clients


class Client:
    """One keep-alive connection; remembers the ``pnyx_session`` cookie it is given."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.cookie: str | None = None

    def request(self, method: str, path: str, payload=None) -> tuple[int, bytes]:
        headers = {"Host": HOST}
        body = None
        if payload is not None:
            body = json.dumps(payload).encode()
            headers["Content-Type"] = "application/json"
        if self.cookie:
            headers["Cookie"] = self.cookie
        try:
            self.conn.request(method, path, body=body, headers=headers)
            resp = self.conn.getresponse()
            data = resp.read()
        except (OSError, http.client.HTTPException):
            self.conn.close()
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
            raise
        for value in resp.headers.get_all("Set-Cookie") or ():
            if value.startswith("pnyx_session="):
                self.cookie = value.split(";", 1)[0]
        if resp.will_close:
            self.conn.close()
        return resp.status, data


def client_main(kind: str, port: int, consultation_id: int, seed: int, t0: float, t1: float, out):
    """Run until ``t1``; requests started after ``t0`` and finished before ``t1`` are measured."""
    rnd = random.Random(seed)
    client = Client(port)
    result = {
        "count": 0,
        "sent": 0,  # writes answered 200 (votes or rows), warm-up included: for CPU per write
        "latencies": [],
        "cards_latencies": [],
        "errors": 0,
        "shown": [],
    }

    def error(message: str) -> None:
        result["errors"] += 1
        if len(result["shown"]) < MAX_ERRORS_SHOWN:
            result["shown"].append(message)

    def timed(method, path, payload=None):
        start = time.monotonic()
        try:
            status, data = client.request(method, path, payload)
        except (OSError, http.client.HTTPException) as exc:
            status, data = 0, repr(exc).encode()
        end = time.monotonic()
        measured = start >= t0 and end <= t1
        if status != 200:
            error(f"{method} {path} -> {status} {data[:300]!r}")
        return status, data, measured, (end - start) * 1000

    try:
        if kind == "bare":
            i = 0
            while time.monotonic() < t1:
                i += 1
                status, _, measured, ms = timed("POST", "/rows", {"payload": f"row {seed}-{i}"})
                result["sent"] += status == 200
                if measured and status == 200:
                    result["count"] += 1
                    result["latencies"].append(ms)
        else:
            while time.monotonic() < t1:
                client.cookie = None  # a new anonymous voter
                status, data, measured, ms = timed(
                    "GET", f"/api/v1/consultations/{consultation_id}/sequence"
                )
                if status != 200:
                    time.sleep(0.05)
                    continue
                if measured:
                    result["cards_latencies"].append(ms)
                cards = json.loads(data)["cards"]
                if not cards:
                    error("GET sequence: no card to vote on")
                    break
                for card in cards:
                    if time.monotonic() >= t1:
                        break
                    key = rnd.choice(KEYS)
                    qualifications = [rnd.choice(QUALIFICATIONS[key])] if rnd.random() < 0.4 else []
                    status, data, measured, ms = timed(
                        "PUT",
                        f"/api/v1/proposals/{card['proposal']['id']}/vote",
                        {
                            "key": key,
                            "qualifications": qualifications,
                            "card_key": card["card_key"],
                        },
                    )
                    if status != 200:
                        continue
                    result["sent"] += 1
                    answer = json.loads(data)
                    if not (answer.get("changed") and answer.get("counted_for_scores")):
                        error(f"vote not counted as a new trusted vote: {answer}")
                        continue
                    if measured:
                        result["count"] += 1
                        result["latencies"].append(ms)
    except Exception as exc:  # noqa: BLE001 - reported to the parent, which exits non-zero
        error(f"client crashed: {exc!r}")
    out.put(result)


def fit_duration(elapsed: float) -> float:
    """DURATION, or less when a slow setup (busy machine) leaves too little of DEADLINE."""
    runs = 2 * ROUNDS
    left = DEADLINE - 10 - elapsed  # 10 s of margin for the report and the clean-up
    fitted = min(DURATION, left / runs - WARMUP - RUN_OVERHEAD)
    if fitted < MIN_DURATION:
        raise RuntimeError(
            f"setup took {elapsed:.0f} s: no time left to measure within {DEADLINE} s"
        )
    return fitted


def drive(kind: str, port: int, consultation_id: int, round_no: int, duration: float) -> dict:
    ctx = multiprocessing.get_context("fork")
    out = ctx.Queue()
    t0 = time.monotonic() + WARMUP
    t1 = t0 + duration
    procs = [
        ctx.Process(
            target=client_main,
            args=(kind, port, consultation_id, 1000 * round_no + i, t0, t1, out),
            daemon=True,
        )
        for i in range(CLIENTS)
    ]
    for p in procs:
        p.start()
    results = []
    try:
        for _ in procs:
            results.append(out.get(timeout=WARMUP + duration + 30))
    finally:
        for p in procs:
            p.join(timeout=5)
            if p.is_alive():
                p.terminate()
    merged = {"count": 0, "sent": 0, "latencies": [], "cards_latencies": [], "errors": 0}
    merged["shown"] = []
    for r in results:
        merged["count"] += r["count"]
        merged["sent"] += r["sent"]
        merged["latencies"] += r["latencies"]
        merged["cards_latencies"] += r["cards_latencies"]
        merged["errors"] += r["errors"]
        merged["shown"] += r["shown"]
    merged["rate"] = merged["count"] / duration
    return merged


def server_cpu(proc, db_name: str, run, *args):
    """``run(*args)``, and the CPU seconds the server's workers and the database's backends
    spent meanwhile (backends opened meanwhile count whole): (result, workers, database)."""
    workers, backends = server_pids(proc, db_name)
    before = cpu_seconds(workers), cpu_seconds(backends)
    result = run(*args)
    opened = sorted(set(server_pids(proc, db_name)[1]) - set(backends))
    after = cpu_seconds(workers), cpu_seconds(backends + opened)
    return result, after[0] - before[0], after[1] - before[1]


def measured_drive(proc, *args) -> dict:
    """``drive``, with the server's and the database's CPU time per write answered (warm-up
    included)."""
    result, app, database = server_cpu(proc, DB_NAME, drive, *args)
    per = 1000 / result["sent"] if result["sent"] else float("nan")
    result["cpu_app_ms"], result["cpu_db_ms"] = app * per, database * per
    return result


def run_pnyx(env, consultation_id: int, round_no: int, duration: float) -> dict:
    proc, port = start_server("pnyx.wsgi:app", env, [])
    try:
        wait_ready(port, "GET", f"/api/v1/consultations/{consultation_id}/sequence", None, proc)
        return measured_drive(proc, "pnyx", port, consultation_id, round_no, duration)
    finally:
        stop_server(proc)


def run_bare(env, round_no: int, duration: float) -> dict:
    proc, port = start_server("bare_app:app", env, ["--pythonpath", str(HERE)])
    try:
        wait_ready(port, "POST", "/rows", b'{"payload": "ready"}', proc)
        return measured_drive(proc, "bare", port, 0, round_no, duration)
    finally:
        stop_server(proc)


# ---------------------------------------------------------------------------------------- main


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def forget_redis_keys() -> None:
    """Empty the benchmark's Redis database: its store keys and the jobs it enqueued."""
    try:
        from redis import Redis

        Redis.from_url(REDIS_URL, socket_timeout=5).flushdb()
    except Exception as exc:  # noqa: BLE001 - best effort at exit
        print(f"   could not empty {REDIS_URL}: {exc}", file=sys.stderr)


def _deadline(signum, frame):
    raise TimeoutError(f"bench vote_throughput: over {DEADLINE} s, stopping")


def main() -> int:
    signal.signal(signal.SIGALRM, _deadline)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    signal.alarm(DEADLINE)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="pnyx-bench-") as var_dir:
        env = server_env(var_dir)
        forget_redis_keys()
        try:
            consultation_id = setup(env)
            duration = fit_duration(time.monotonic() - started)
            print(f"   setup: {time.monotonic() - started:.1f} s", flush=True)
            pnyx_runs, bare_runs = [], []
            # Interleaved, best of ROUNDS (see the module's docstring).
            for round_no in range(ROUNDS):
                pnyx_runs.append(run_pnyx(env, consultation_id, round_no, duration))
                bare_runs.append(run_bare(env, round_no, duration))
                print(
                    f"   round {round_no + 1}: pnyx {pnyx_runs[-1]['rate']:.0f} votes/s, "
                    f"bare {bare_runs[-1]['rate']:.0f} req/s",
                    flush=True,
                )
        finally:
            stop_all()
            signal.alarm(0)
            forget_redis_keys()

    errors = sum(r["errors"] for r in pnyx_runs + bare_runs)
    for r in pnyx_runs + bare_runs:
        for message in r["shown"]:
            print(f"   error: {message}", file=sys.stderr)
    pnyx = max(pnyx_runs, key=lambda r: r["rate"])
    bare = max(bare_runs, key=lambda r: r["rate"])
    ratio = pnyx["rate"] / bare["rate"] if bare["rate"] else 0.0
    print(f"bench vote_throughput: {pnyx['rate']:.0f} votes/s ratio {ratio:.2f} vs bare_insert")
    print(f"bench bare_insert: {bare['rate']:.0f} req/s")
    print(f"   {'latency (best run)':<22} {'p50 ms':>8} {'p95 ms':>8} {'n':>7}")
    for label, values in (
        ("pnyx PUT vote", pnyx["latencies"]),
        ("pnyx GET sequence", pnyx["cards_latencies"]),
        ("bare POST row", bare["latencies"]),
    ):
        print(
            f"   {label:<22} {percentile(values, 50):>8.1f} {percentile(values, 95):>8.1f}"
            f" {len(values):>7}"
        )
    for label, run in (("pnyx, per vote", pnyx), ("bare, per row", bare)):
        print(
            f"   CPU {label}: gunicorn workers {run['cpu_app_ms']:.2f} ms, "
            f"PostgreSQL {run['cpu_db_ms']:.2f} ms"
        )
    print(
        f"   ({CLIENTS} client processes × {duration:.0f} s after {WARMUP:.0f} s warm-up, "
        f"gunicorn -c {GUNICORN_SHOWN}; {time.monotonic() - started:.0f} s in all)"
    )
    if errors:
        print(f"   {errors} errors: this run does not count", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
