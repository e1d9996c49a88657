"""Sequence latency under load on PostgreSQL, at scale, against a trivial endpoint.

Run: ``PYTHONPATH=platform:. python tests/benchmarks/bench_sequence.py`` (or
``make bench ONLY=sequence_p95``: ``ONLY=sequence`` also runs the other scripts that mention
sequences). Needs PostgreSQL on 127.0.0.1:5432 (user ``postgres``, trust auth), Redis on
127.0.0.1:6379 and ``infra/create-test-db.sh``. ``BENCH_SEQ_REUSE=1`` keeps the data of an
earlier run (to iterate on the code: loading takes 30–60 s).

- setup: (re)creates the database ``pnyx_bench_seq`` and migrates it (owner role); one tenant
  (``bench.localhost``) and one open consultation through the services; then, at SQL level as
  the owner (row-level security is forced on it too: ``app.tenant_id`` is set in the loading
  transaction), 3,000 authors and 150,000 participants to vote, 10,000 accepted proposals
  (8 themes on ~60 % of them), 1,000,000 votes (by ~145,000 of them, each 1–20 votes (mostly
  few), the draw cut at exactly 1,000,000; at most one per proposal, on
  the 9,500 oldest proposals: the 500 newest have none, as new ones would), the 11 counter rows
  of each proposal computed from the votes in one ``INSERT … SELECT … GROUP BY GROUPING SETS``,
  then ANALYZE.
- Pnyx (``pnyx.wsgi:app``) is served by gunicorn as in ``bench_vote_throughput`` (as in
  production: 1 gthread worker per CPU × 8 threads), on PostgreSQL as ``pnyx_app`` (RLS on) and Redis (database 9, flushed
  first): the sequence pools follow the change log in Redis. Jobs are only enqueued (JOBS_MODE
  rq, no worker): web processes do not run them (the lockstep detection, every 500 votes, reads
  every vote of the consultation; inline it would run inside the 500th vote's request).
- load: CLIENTS processes, each one keep-alive connection, WARMUP s unmeasured (the workers
  built their pools before serving) and DURATION s measured. Each client plays voters one
  after the other: mostly existing participants with 1–20 votes of history (session cookies signed with the
  app's SECRET_KEY as Flask signs them, ``{"voter": {"t": tenant, "id": participant}}``), the
  others fresh anonymous voters (their first sequence creates them). A voter asks for 2–4
  sequences and, after each, votes on one of its cards half of the time (with its card key): a
  third of the requests are votes, so the pools follow the change log under load. Only the
  sequence GETs are measured; every answer must be 200 and every vote trusted.
- baseline ("hello"): ``GET /static/pnyx.css`` on the tenant host, the app's cheapest route
  (host → tenant from the per-process cache, a static file), same server, same clients.
- ROUNDS rounds, interleaved (sequences, hello, sequences, hello), each printed; the figures
  are the round of lower sequence p95 with its own hello. This machine is shared: what else
  runs on it only ever adds latency, so the better round is the closer to the code's own.

Prints ``bench sequence_p95: <ms> ms ratio <r> vs hello`` (r = sequence GETs/s of the mixed
run over hello GETs/s), ``bench sequence_p50: <ms> ms``, a table of rates and latencies, and
the CPU time per request of the gunicorn workers and of the database's backends (less
sensitive than latencies to whatever else the machine runs). Bounded: stops within DEADLINE seconds,
stops every server it started. Traffic goes to 127.0.0.1 only.
"""

from __future__ import annotations

import http.client
import json
import multiprocessing
import os
import random
import signal
import sys
import tempfile
import time
from pathlib import Path

from tests.benchmarks.bench_vote_throughput import (
    GUNICORN_SHOWN,
    KEYS,
    QUALIFICATIONS,
    Client,
    percentile,
    server_cpu,
    start_server,
    stop_all,
    stop_server,
)
from tests.benchmarks.bench_vote_throughput import server_env as vote_server_env

ROOT = Path(__file__).resolve().parents[2]
DB_NAME = "pnyx_bench_seq"
APP_URL = f"postgresql+psycopg://pnyx_app:pnyx_app@127.0.0.1:5432/{DB_NAME}"
OWNER_URL = f"postgresql+psycopg://pnyx_owner:pnyx_owner@127.0.0.1:5432/{DB_NAME}"
REDIS_URL = "redis://127.0.0.1:6379/9"
SLUG = "bench"
HOST = f"{SLUG}.localhost"  # the Host header of bench_vote_throughput's Client too

AUTHORS = 3_000
VOTERS = 150_000
PROPOSALS = 10_000
UNVOTED = 500  # the newest proposals, without votes yet (under the floor)
VOTES = 1_000_000
TAGS = 8

CLIENTS = 8
WARMUP = 8.0  # unmeasured: connections opened, statements prepared (pools: built before serving)
DURATION = 15.0
ROUNDS = 2  # interleaved (sequences, hello, sequences, hello); the round of lower p95 is kept
HELLO_WARMUP = 1.0
HELLO_DURATION = 8.0
KNOWN_VOTERS = 0.7  # share of voters played with an existing participant's session
KNOWN_PER_CLIENT = 400
HELLO_PATH = "/static/pnyx.css"
DEADLINE = 280  # seconds, for the whole script
MAX_ERRORS_SHOWN = 5


# --------------------------------------------------------------------------------------- setup


def server_env(var_dir: str) -> dict[str, str]:
    env = vote_server_env(var_dir)
    env.update(
        DATABASE_URL=APP_URL,
        DATABASE_OWNER_URL=OWNER_URL,
        BENCH_DATABASE_URL=APP_URL,
        REDIS_URL=REDIS_URL,
        REDIS_PREFIX="pnyx-bench-seq:",
        # Web processes only enqueue jobs (the lockstep detection every 500 votes reads every
        # vote of the consultation): a worker would run them, elsewhere. Inline, the web worker
        # that casts the 500th vote would run it within that request.
        JOBS_MODE="rq",
    )
    return env


def _counter_columns() -> list[tuple[str, str]]:
    """(column, SQL condition on a vote) for every counter column, raw then trusted."""
    from pnyx.consultations.models import COUNTED_KEYS, QUALIFICATION_BITS, column_name

    conditions = {k: f"key = '{k}'" for k in KEYS}
    conditions.update({q: f"qualifications & {bit} <> 0" for q, bit in QUALIFICATION_BITS.items()})
    return [
        (column_name(key, trusted), conditions[key] + (" AND trusted" if trusted else ""))
        for trusted in (False, True)
        for key in COUNTED_KEYS
    ]


def load_sql(tenant_id: int, consultation_id: int, base: dict[str, int]) -> list[str]:
    """The loading statements, run in one transaction as the owner (ids are explicit)."""
    from pnyx.consultations.models import QUALIFICATION_BITS, SEGMENTS

    t, c = int(tenant_id), int(consultation_id)
    pb, prb, tb = base["participants"], base["proposals"], base["tags"]
    voted = PROPOSALS - UNVOTED
    bits = {key: [QUALIFICATION_BITS[q] for q in qs] for key, qs in QUALIFICATIONS.items()}
    columns = _counter_columns()
    segments = ", ".join(f"'{s}'" for s in SEGMENTS)
    # Each voter's votes: proposals start, start + step, … (mod the voted proposals), with a
    # step prime to their number, so a voter never meets a proposal twice (≤ 20 < 9,500).
    primes = [p for p in range(101, 2000) if all(p % d for d in range(2, int(p**0.5) + 1))]
    primes = [p for p in primes if voted % p]
    # Votes per voter: 1 + floor(19 u^k), k chosen for ~VOTES in all (trimmed to VOTES exactly).
    k = 2.0
    return [
        f"SELECT set_config('app.tenant_id', '{t}', true)",
        "SET LOCAL synchronous_commit = off",
        "SET LOCAL maintenance_work_mem = '256MB'",
        "SET LOCAL work_mem = '64MB'",
        "SELECT setseed(0.42)",
        # participants: authors, then voters (territory and age spread like a region's)
        f"""INSERT INTO participants (id, tenant_id, account_id, birth_year, postal_code, territory,
               created_at)
            SELECT {pb} + i, {t}, NULL,
                   CASE WHEN random() < 0.1 THEN NULL ELSE 1940 + floor(random() * 68)::int END,
                   NULL,
                   (ARRAY['rural', 'medium', 'urban', 'unknown'])[1 + (i * 7 + i / 13) % 4],
                   now() - random() * interval '30 days'
            FROM generate_series(0, {AUTHORS + VOTERS - 1}) i""",
        # proposals, oldest first; the 3 kinds of results spread by a per-proposal bias below
        f"""INSERT INTO proposals (id, tenant_id, consultation_id, author_id, content, language,
               status, created_at, decided_at, decided_by)
            SELECT {prb} + i, {t}, {c}, {pb} + (i * 7919) % {AUTHORS},
                   'Il faut améliorer le service public numéro ' || i || ' dans chaque quartier',
                   'fr', 'accepted',
                   now() - interval '30 days' + i * interval '4 minutes',
                   now() - interval '30 days' + i * interval '4 minutes' + interval '1 hour',
                   'bench'
            FROM generate_series(0, {PROPOSALS - 1}) i""",
        f"""INSERT INTO tags (id, tenant_id, consultation_id, slug, label, kind)
            SELECT {tb} + i, {t}, {c}, 'theme-' || i, 'Thème ' || i, 'theme'
            FROM generate_series(0, {TAGS - 1}) i""",
        f"""INSERT INTO proposal_tags (tenant_id, proposal_id, tag_id)
            SELECT {t}, {prb} + i, {tb} + (i * 31) % {TAGS}
            FROM generate_series(0, {PROPOSALS - 1}) i WHERE i % 5 < 3""",
        # each proposal's leaning: P(agree), P(disagree); the rest neutral
        f"""CREATE TEMP TABLE bench_bias ON COMMIT DROP AS
            SELECT i AS n, {prb} + i AS proposal_id, b.a, b.d
            FROM generate_series(0, {voted - 1}) i
            CROSS JOIN LATERAL (
              SELECT CASE i % 5
                WHEN 0 THEN 0.70 + 0.25 * random()
                WHEN 1 THEN 0.05 + 0.15 * random()
                WHEN 2 THEN 0.35 + 0.25 * random()
                WHEN 3 THEN 0.20 + 0.20 * random()
                ELSE 0.45 + 0.20 * random() END AS a,
                CASE i % 5
                WHEN 0 THEN 0.02 + 0.08 * random()
                WHEN 1 THEN 0.65 + 0.25 * random()
                WHEN 2 THEN 0.30 + 0.20 * random()
                WHEN 3 THEN 0.15 + 0.15 * random()
                ELSE 0.10 + 0.15 * random() END AS d
              WHERE i >= 0) b""",
        f"""CREATE TEMP TABLE bench_voters ON COMMIT DROP AS
            SELECT p.id, p.territory,
                   CASE WHEN p.birth_year IS NULL THEN 'unknown'
                        WHEN extract(year FROM now()) - p.birth_year < 25 THEN 'under_25'
                        WHEN extract(year FROM now()) - p.birth_year < 35 THEN '25_34'
                        WHEN extract(year FROM now()) - p.birth_year < 50 THEN '35_49'
                        WHEN extract(year FROM now()) - p.birth_year < 65 THEN '50_64'
                        ELSE '65_plus' END AS band,
                   1 + floor(19 * power(random(), {k}))::int AS n_votes,
                   floor(random() * {voted})::int AS start,
                   (ARRAY{primes})[1 + floor(random() * {len(primes)})::int] AS step
            FROM participants p
            WHERE p.tenant_id = {t} AND p.id >= {pb + AUTHORS}""",
        f"""INSERT INTO votes (tenant_id, consultation_id, proposal_id, participant_id, key,
               qualifications, trusted, territory, age_band, created_at, updated_at)
            SELECT {t}, {c}, b.proposal_id, v.id, x.key,
                   CASE WHEN x.r2 < 0.4 THEN
                     CASE x.key WHEN 'agree' THEN (ARRAY{bits["agree"]})[1 + floor(x.r2 * 7.5)::int]
                                WHEN 'disagree' THEN (ARRAY{bits["disagree"]})[1 + floor(x.r2 * 7.5)::int]
                                ELSE (ARRAY{bits["neutral"]})[1 + floor(x.r2 * 7.5)::int] END
                   ELSE 0 END,
                   x.r3 < 0.85, v.territory, v.band, x.at, x.at
            FROM bench_voters v
            CROSS JOIN LATERAL generate_series(0, v.n_votes - 1) j
            JOIN bench_bias b ON b.n = (v.start + j * v.step) % {voted}
            CROSS JOIN LATERAL (
              SELECT CASE WHEN r < b.a THEN 'agree' WHEN r < b.a + b.d THEN 'disagree'
                          ELSE 'neutral' END AS key, r2, r3, at
              FROM (SELECT random() AS r, random() AS r2, random() AS r3,
                           now() - random() * interval '29 days' AS at, j AS _j) rr) x
            LIMIT {VOTES}""",
        f"""INSERT INTO proposal_counters (tenant_id, consultation_id, proposal_id, segment,
               {", ".join(col for col, _ in columns)})
            SELECT {t}, {c}, p.id, s.segment,
                   {", ".join(f"coalesce(agg.{col}, 0)" for col, _ in columns)}
            FROM proposals p
            CROSS JOIN unnest(ARRAY[{segments}]::text[]) AS s(segment)
            LEFT JOIN (
              SELECT proposal_id,
                     CASE WHEN grouping(territory) = 0 THEN 'territory:' || territory
                          WHEN grouping(age_band) = 0 THEN 'age:' || age_band
                          ELSE 'all' END AS segment,
                     {", ".join(f"count(*) FILTER (WHERE {cond}) AS {col}" for col, cond in columns)}
              FROM votes WHERE consultation_id = {c}
              GROUP BY GROUPING SETS ((proposal_id), (proposal_id, territory),
                                      (proposal_id, age_band))
            ) agg ON agg.proposal_id = p.id AND agg.segment = s.segment
            WHERE p.consultation_id = {c}""",
        "SELECT setval('participants_id_seq', (SELECT max(id) FROM participants))",
        "SELECT setval('proposals_id_seq', (SELECT max(id) FROM proposals))",
        "SELECT setval('tags_id_seq', (SELECT max(id) FROM tags))",
    ]


def setup(env: dict[str, str]) -> tuple[int, int, list[int]]:
    """Fresh database with the data; returns (tenant id, consultation id, voter ids)."""
    import subprocess
    from datetime import UTC, datetime, timedelta

    from sqlalchemy import create_engine, func, select, text

    from pnyx.consultations.models import Proposal, Tag
    from pnyx.identity.models import Participant
    from pnyx.kernel.config import Config
    from pnyx.kernel.db import Database
    from pnyx.kernel.migrate import upgrade
    from pnyx.kernel.runtime import Kernel, set_kernel
    from pnyx.seed import provision_tenant
    from tenants.models import Tenant
    from tests import factories

    config = Config.from_env(env)
    if os.environ.get("BENCH_SEQ_REUSE") == "1":  # iterating on the code: keep the loaded data
        reused = reuse(config)
        if reused is not None:
            return reused
    subprocess.run(
        ["bash", str(ROOT / "infra" / "create-test-db.sh"), DB_NAME],
        check=True,
        timeout=60,
        stdout=subprocess.DEVNULL,
    )
    upgrade(config)
    set_kernel(Kernel(config))
    database = Database(config.database_url)
    provision_tenant(config, slug=SLUG, kind="region", name="Bench Région", database=database)
    with database.session() as s:
        tenant_id = s.scalar(select(Tenant.id).where(Tenant.slug == SLUG))
    now = datetime.now(UTC)
    with database.scope(tenant_id=tenant_id) as s:
        consultation = factories.create_consultation(s, starts_at=now - timedelta(days=31))
        consultation_id = consultation.id
        base = {
            "participants": (s.scalar(select(func.max(Participant.id))) or 0) + 1,
            "proposals": (s.scalar(select(func.max(Proposal.id))) or 0) + 1,
            "tags": (s.scalar(select(func.max(Tag.id))) or 0) + 1,
        }
    database.dispose()

    owner = create_engine(OWNER_URL)
    timings = []
    with owner.begin() as conn:
        for statement in load_sql(tenant_id, consultation_id, base):
            started = time.monotonic()
            conn.execute(text(statement))
            timings.append((statement.split()[0:3], time.monotonic() - started))
    with owner.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        started = time.monotonic()
        conn.execute(text("ANALYZE"))
        timings.append((["ANALYZE"], time.monotonic() - started))
    with owner.begin() as conn:
        conn.execute(text(f"SELECT set_config('app.tenant_id', '{tenant_id}', true)"))
        counts = conn.execute(
            text(
                "SELECT (SELECT count(*) FROM votes), (SELECT count(*) FROM proposals"
                " WHERE status = 'accepted'), (SELECT count(DISTINCT participant_id) FROM votes),"
                " (SELECT count(*) FROM proposal_counters),"
                " (SELECT sum(raw_agree + raw_disagree + raw_neutral) FROM proposal_counters"
                "  WHERE segment = 'all')"
            )
        ).one()
        voters = list(
            conn.scalars(
                text(
                    "SELECT participant_id FROM votes GROUP BY participant_id"
                    f" ORDER BY random() LIMIT {CLIENTS * KNOWN_PER_CLIENT}"
                )
            )
        )
    owner.dispose()
    voters = [int(v) for v in voters]
    slow = ", ".join(f"{' '.join(w)[:24]} {s:.1f}s" for w, s in timings if s > 1.0)
    print(
        f"   data: {counts[0]:,} votes by {counts[2]:,} voters on {counts[1]:,} proposals, "
        f"{counts[3]:,} counter rows (all: {counts[4]:,} votes); slow steps: {slow}",
        flush=True,
    )
    if counts[4] != counts[0]:
        raise RuntimeError("counters disagree with the votes table")
    return tenant_id, consultation_id, voters


def reuse(config) -> tuple[int, int, list[int]] | None:
    """BENCH_SEQ_REUSE=1: the database of an earlier run, if it is there and complete (the votes
    cast by earlier runs stay: they went through the app, counters included)."""
    from sqlalchemy import create_engine, text

    from pnyx.kernel.runtime import Kernel, set_kernel

    owner = create_engine(OWNER_URL)
    try:
        with owner.begin() as conn:
            tenant_id = conn.scalar(text("SELECT id FROM tenants WHERE slug = :s"), {"s": SLUG})
            if tenant_id is None:
                return None
            conn.execute(text(f"SELECT set_config('app.tenant_id', '{int(tenant_id)}', true)"))
            consultation_id = conn.scalar(text("SELECT min(id) FROM consultations"))
            if conn.scalar(text("SELECT count(*) FROM votes")) < VOTES:
                return None
            voters = list(
                conn.scalars(
                    text(
                        "SELECT participant_id FROM votes GROUP BY participant_id"
                        f" ORDER BY random() LIMIT {CLIENTS * KNOWN_PER_CLIENT}"
                    )
                )
            )
    except Exception:  # noqa: BLE001 - no database yet: load it
        return None
    finally:
        owner.dispose()
    set_kernel(Kernel(config))
    print("   data: reused (BENCH_SEQ_REUSE=1)", flush=True)
    return int(tenant_id), int(consultation_id), [int(v) for v in voters]


def session_cookies(env: dict[str, str], tenant_id: int, voters: list[int]) -> list[str]:
    """``pnyx_session`` cookies of existing anonymous voters, signed as Flask signs them."""
    from flask import Flask

    from pnyx.app import create_app
    from pnyx.kernel.config import Config

    app: Flask = create_app(Config.from_env(env))
    serializer = app.session_interface.get_signing_serializer(app)
    name = app.config["SESSION_COOKIE_NAME"]
    return [
        f"{name}={serializer.dumps({'voter': {'t': tenant_id, 'id': v}, '_permanent': True})}"
        for v in voters
    ]


def flush_redis() -> None:
    from redis import Redis

    Redis.from_url(REDIS_URL, socket_timeout=5).flushdb()


# ------------------------------------------------------------------------------------- clients


def client_main(kind, port, consultation_id, cookies, seed, t0, t1, out):
    """Run until ``t1``; requests started after ``t0`` and finished before ``t1`` are measured."""
    rnd = random.Random(seed)
    client = Client(port)
    result = {
        "seq": [],
        "votes": [],
        "hello": [],
        "errors": 0,
        "shown": [],
        "fresh": 0,
        "requests": 0,
    }
    sequence_path = f"/api/v1/consultations/{consultation_id}/sequence"

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
        result["requests"] += 1
        if status != 200:
            error(f"{method} {path} -> {status} {data[:300]!r}")
        return status, data, start >= t0 and end <= t1, (end - start) * 1000

    try:
        if kind == "hello":
            while time.monotonic() < t1:
                status, _, measured, ms = timed("GET", HELLO_PATH)
                if measured and status == 200:
                    result["hello"].append(ms)
        else:
            known = list(cookies)
            rnd.shuffle(known)
            while time.monotonic() < t1:
                if known and rnd.random() < KNOWN_VOTERS:
                    client.cookie = known.pop()
                else:
                    client.cookie = None  # a fresh anonymous voter, created by its first GET
                    result["fresh"] += 1
                for _ in range(rnd.randint(2, 4)):
                    if time.monotonic() >= t1:
                        break
                    status, data, measured, ms = timed("GET", sequence_path)
                    if status != 200:
                        time.sleep(0.05)
                        break
                    if measured:
                        result["seq"].append(ms)
                    cards = json.loads(data)["cards"]
                    if not cards:
                        error("GET sequence: no card")
                        break
                    if rnd.random() >= 0.5:
                        continue
                    card = rnd.choice(cards)
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
                    answer = json.loads(data)
                    if not answer.get("counted_for_scores"):
                        error(f"vote not counted as trusted: {answer}")
                    if measured:
                        result["votes"].append(ms)
    except Exception as exc:  # noqa: BLE001 - reported to the parent, which exits non-zero
        error(f"client crashed: {exc!r}")
    out.put(result)


def drive(kind, port, consultation_id, cookies, warmup, duration, round_no=0) -> dict:
    ctx = multiprocessing.get_context("fork")
    out = ctx.Queue()
    t0 = time.monotonic() + warmup
    t1 = t0 + duration
    share = max(1, len(cookies) // CLIENTS)
    procs = [
        ctx.Process(
            target=client_main,
            args=(
                kind,
                port,
                consultation_id,
                cookies[i * share : (i + 1) * share],  # a voter is never played twice at once
                1000 * round_no + i,
                t0,
                t1,
                out,
            ),
            daemon=True,
        )
        for i in range(CLIENTS)
    ]
    for p in procs:
        p.start()
    results = []
    try:
        for _ in procs:
            results.append(out.get(timeout=warmup + duration + 30))
    finally:
        for p in procs:
            p.join(timeout=5)
            if p.is_alive():
                p.terminate()
    merged = {
        "seq": [],
        "votes": [],
        "hello": [],
        "errors": 0,
        "shown": [],
        "fresh": 0,
        "requests": 0,
    }
    for r in results:
        for key in merged:
            merged[key] += r[key]
    merged["duration"] = duration
    return merged


def measured_drive(proc, *args) -> dict:
    """``drive``, with the CPU time the server's workers and database backends spent meanwhile."""
    result, app_seconds, db_seconds = server_cpu(proc, DB_NAME, drive, *args)
    result["cpu_app"], result["cpu_db"] = app_seconds, db_seconds
    return result


def wait_ready(port: int, path: str, proc, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {proc.returncode}")
        try:
            client = Client(port)
            status, data = client.request("GET", path)
            client.conn.close()
            if status == 200:
                return
            last = f"{status} {data[:200]!r}"
        except (OSError, http.client.HTTPException) as exc:
            last = repr(exc)
        time.sleep(0.1)
    raise RuntimeError(f"server on port {port} not ready: {last}")


# ---------------------------------------------------------------------------------------- main


def _deadline(signum, frame):
    raise TimeoutError(f"bench sequence: over {DEADLINE} s, stopping")


def main() -> int:
    signal.signal(signal.SIGALRM, _deadline)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    signal.alarm(DEADLINE)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="pnyx-bench-seq-") as var_dir:
        env = server_env(var_dir)
        try:
            flush_redis()
            tenant_id, consultation_id, voters = setup(env)
            cookies = session_cookies(env, tenant_id, voters)
            flush_redis()  # the setup's own log entries: the servers start from an empty log
            print(f"   setup: {time.monotonic() - started:.1f} s", flush=True)
            proc, port = start_server("pnyx.wsgi:app", env, [])
            try:
                ready = time.monotonic()
                wait_ready(port, f"/api/v1/consultations/{consultation_id}/sequence", proc)
                print(f"   first sequence: {time.monotonic() - ready:.1f} s", flush=True)
                rounds = []
                for round_no in range(ROUNDS):
                    warmup = WARMUP if round_no == 0 else HELLO_WARMUP  # pools built by then
                    seq = measured_drive(
                        proc, "pnyx", port, consultation_id, cookies, warmup, DURATION
                    )
                    hello = measured_drive(
                        proc, "hello", port, consultation_id, [], HELLO_WARMUP, HELLO_DURATION
                    )
                    rounds.append((seq, hello))
                    print(
                        f"   round {round_no + 1}: sequence p95 "
                        f"{percentile(seq['seq'], 95):.1f} ms, p50 {percentile(seq['seq'], 50):.1f}"
                        f" ms; hello {len(hello['hello']) / hello['duration']:.0f} req/s",
                        flush=True,
                    )
            finally:
                stop_server(proc)
        finally:
            stop_all()
            signal.alarm(0)
            try:
                flush_redis()
            except Exception as exc:  # noqa: BLE001 - best effort at exit
                print(f"   could not flush Redis db 9: {exc}", file=sys.stderr)

    errors = 0
    for seq, hello in rounds:
        errors += seq["errors"] + hello["errors"]
        for message in seq["shown"] + hello["shown"]:
            print(f"   error: {message}", file=sys.stderr)
    # The better round (see the module's docstring): the machine's noise only adds latency.
    seq, hello = min(rounds, key=lambda pair: percentile(pair[0]["seq"], 95))
    seq_rate = len(seq["seq"]) / seq["duration"]
    hello_rate = len(hello["hello"]) / hello["duration"]
    ratio = seq_rate / hello_rate if hello_rate else 0.0
    p50, p95, p99 = (percentile(seq["seq"], q) for q in (50, 95, 99))
    print(f"bench sequence_p95: {p95:.1f} ms ratio {ratio:.3f} vs hello")
    print(f"bench sequence_p50: {p50:.1f} ms")
    print(
        f"   {'(better round, 8 clients)':<26} {'req/s':>7} {'p50 ms':>8} {'p95 ms':>8}"
        f" {'p99 ms':>8} {'n':>7}"
    )
    for label, values, duration in (
        ("GET sequence", seq["seq"], seq["duration"]),
        ("PUT vote (same run)", seq["votes"], seq["duration"]),
        (f"GET {HELLO_PATH}", hello["hello"], hello["duration"]),
    ):
        print(
            f"   {label:<26} {len(values) / duration:>7.0f} {percentile(values, 50):>8.1f}"
            f" {percentile(values, 95):>8.1f} {percentile(values, 99):>8.1f} {len(values):>7}"
        )
    for label, run in (("sequences + votes", seq), ("hello", hello)):
        # CPU over the whole drive (warm-up included) per request sent: a cost per request,
        # less sensitive than latencies to what else the machine runs.
        per = 1000 / run["requests"] if run["requests"] else float("nan")
        print(
            f"   CPU per request, {label}: gunicorn workers {run['cpu_app'] * per:.1f} ms, "
            f"PostgreSQL {run['cpu_db'] * per:.1f} ms"
        )
    print(
        f"   ({CLIENTS} client processes; {ROUNDS} rounds of {DURATION:.0f} s of sequences and "
        f"votes (after {WARMUP:.0f} s of warm-up in the first), {seq['fresh']} fresh voters and "
        f"the rest with history, then {HELLO_DURATION:.0f} s of hello; gunicorn -c {GUNICORN_SHOWN}; "
        f"{time.monotonic() - started:.0f} s in all; load average {os.getloadavg()[0]:.1f} "
        f"on {os.cpu_count()} CPUs)"
    )
    if errors:
        print(f"   {errors} errors: this run does not count", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
