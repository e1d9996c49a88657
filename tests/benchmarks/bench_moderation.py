""" "Next proposal" on the moderation desk: latency with 10,000 pending proposals in 10 tenants.

Run: ``PYTHONPATH=platform:. python tests/benchmarks/bench_moderation.py`` (or
``make bench ONLY=moderation``). Needs PostgreSQL on 127.0.0.1:5432 (user ``postgres``, trust
auth, for ``infra/create-test-db.sh``) and Redis on 127.0.0.1:6379.

- setup: (re)creates the database ``pnyx_bench_mod``, migrates it, provisions 10 tenants with
  one open consultation each (through the services), 50 author participants per tenant and
  1,000 pending proposals per tenant (bulk-inserted at SQL level as the owner role, one
  transaction per tenant with ``app.tenant_id`` set: RLS is forced on the owner too), their
  texts drawn from a French vocabulary so that near-duplicate search has real work, their
  ``created_at`` spread over 3 days and interleaved across tenants. Five moderators, assigned
  to overlapping sets of tenants (all 10; 0–4; 5–9; 0–1; 2–9). Locks live in Redis (database 12,
  under a key prefix of this run, removed at the end).
- measured, in process against PostgreSQL + Redis, the app connecting as the role under RLS:
  ``moderation_next``: what ``GET /api/v1/moderation/next`` does, minus HTTP — open a desk
  session (the moderator's assignments read under the ``own_assignments`` policy, then the
  session bound to their tenants), take the oldest free proposal with its Redis lock, and build
  the desk item with its pre-checks (personal data, links, insults, language, top-5 similar
  through the per-process duplicate index, already built: its first build is reported apart).
  CALLS calls, cycling through the five moderators; after each call (not timed) the moderator
  decides (accept, refuse or postpone in turn), so the queue moves as on a real desk.
  ``moderation_next_lock_only``: the same without the desk item (lock + proposal only).
  ``moderation_next_http``: the real ``GET /api/v1/moderation/next`` through Flask's test
  client (bearer token, every hook, JSON), no network.
  ``moderation_next_concurrent``: 4 moderators in 4 threads at once (one Python process: the
  GIL is part of that figure); every proposal served once only is checked.
- baseline ``pending_select``: a session bound to the same 10 tenants reading the oldest
  pending proposal by the same index (no lock, no checks, no assignments read).

Prints ``bench moderation_next_p95: <ms> ms ratio <r> vs pending_select`` and the others.
"""

from __future__ import annotations

import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT / "platform"), str(ROOT)]

DB_NAME = "pnyx_bench_mod"
APP_URL = f"postgresql+psycopg://pnyx_app:pnyx_app@127.0.0.1:5432/{DB_NAME}"
OWNER_URL = f"postgresql+psycopg://pnyx_owner:pnyx_owner@127.0.0.1:5432/{DB_NAME}"
REDIS_URL = "redis://127.0.0.1:6379/12"
REDIS_PREFIX = f"pnyx-bench-mod-{os.getpid()}:"
VAR_DIR = tempfile.mkdtemp(prefix="pnyx-bench-mod-")
TENANTS = 10
PER_TENANT = 1_000
AUTHORS = 50
CALLS = 400
HTTP_CALLS = 150
THREADS = 4
PER_THREAD = 60
ASSIGNMENTS = {
    "m0": range(10),
    "m1": range(0, 5),
    "m2": range(5, 10),
    "m3": range(0, 2),
    "m4": range(2, 10),
}

SUBJECTS = (
    "les transports en commun",
    "les pistes cyclables",
    "la piscine municipale",
    "les bibliothèques",
    "les écoles",
    "les maisons de santé",
    "les jardins partagés",
    "les marchés de producteurs",
    "les logements sociaux",
    "les parcs",
    "les services publics",
    "les commerces de proximité",
    "la collecte des déchets",
    "l'éclairage public",
    "les aides aux associations",
)
VERBS = (
    "développer",
    "ouvrir plus tard",
    "rendre gratuits",
    "multiplier",
    "rénover",
    "sécuriser",
    "mieux financer",
    "rapprocher des habitants",
    "verdir",
    "moderniser",
)
PLACES = (
    "dans les quartiers",
    "en zone rurale",
    "le dimanche",
    "pour les seniors",
    "pour les jeunes",
    "près des gares",
    "en centre-ville",
    "dans chaque commune",
    "l'été",
    "",
)


def text_of(rng: random.Random) -> str:
    verb, subject, place = rng.choice(VERBS), rng.choice(SUBJECTS), rng.choice(PLACES)
    return f"Il faut {verb} {subject} {place}".strip()[:140]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def setup():
    from sqlalchemy import create_engine, select, text

    from pnyx.consultations import service as consultations
    from pnyx.identity.service import create_staff, principal_of, use_cheap_hashing
    from pnyx.kernel.config import Config
    from pnyx.kernel.migrate import upgrade
    from pnyx.kernel.runtime import Kernel, set_kernel
    from pnyx.moderation import assignments
    from pnyx.seed import provision_tenant
    from tenants.models import Tenant

    use_cheap_hashing()
    subprocess.run(
        ["bash", str(ROOT / "infra" / "create-test-db.sh"), DB_NAME],
        check=True,
        timeout=60,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    env = {
        "DATABASE_URL": APP_URL,
        "DATABASE_OWNER_URL": OWNER_URL,
        "REDIS_URL": REDIS_URL,
        "REDIS_PREFIX": REDIS_PREFIX,
        "JOBS_MODE": "sync",
        "PLATFORM_DOMAIN": "bench.test",
        "SECRET_KEY": "bench-secret-key-not-for-production-0123456789",
        # Decisions mail their authors: to .eml files in a temporary folder (no SMTP here).
        "PNYX_VAR_DIR": VAR_DIR,
        "PNYX_TESTING": "1",
    }
    config = Config.from_env(env)
    upgrade(config)
    kernel = Kernel(config)
    set_kernel(kernel)
    database = kernel.db
    now = datetime.now(UTC)
    tenant_ids, consultation_ids = [], []
    for t in range(TENANTS):
        provision_tenant(config, slug=f"t{t}", kind="city", name=f"Ville {t}", database=database)
        with database.session() as s:
            tenant_id = s.scalar(select(Tenant.id).where(Tenant.slug == f"t{t}"))
        with database.scope(tenant_id=tenant_id) as s:
            c = consultations.create_consultation(
                s,
                {
                    "slug": "territoire",
                    "question": "Comment améliorer les conditions de vie dans votre territoire ?",
                    "starts_at": now - timedelta(days=30),
                    "ends_at": now + timedelta(days=60),
                },
            )
        tenant_ids.append(tenant_id)
        consultation_ids.append(c.id)
    rng = random.Random(7)
    owner = create_engine(OWNER_URL)
    with owner.connect() as conn:
        for tenant_id, consultation_id in zip(tenant_ids, consultation_ids, strict=True):
            with conn.begin():
                conn.execute(
                    text("SELECT set_config('app.tenant_id', :t, true)"), {"t": str(tenant_id)}
                )
                authors = (
                    conn.execute(
                        text(
                            "INSERT INTO participants (tenant_id, territory, created_at) "
                            "SELECT :t, 'unknown', now() FROM generate_series(1, :n) RETURNING id"
                        ),
                        {"t": tenant_id, "n": AUTHORS},
                    )
                    .scalars()
                    .all()
                )
                rows = [
                    {
                        "t": tenant_id,
                        "c": consultation_id,
                        "a": rng.choice(authors),
                        "content": text_of(rng),
                        "at": now - timedelta(seconds=rng.uniform(0, 3 * 86_400)),
                    }
                    for _ in range(PER_TENANT)
                ]
                conn.execute(
                    text(
                        "INSERT INTO proposals (tenant_id, consultation_id, author_id, content, "
                        "language, status, created_at) "
                        "VALUES (:t, :c, :a, :content, 'fr', 'pending', :at)"
                    ),
                    rows,
                )
        with conn.begin():
            conn.execute(text("ANALYZE proposals"))
    owner.dispose()
    moderators = {}
    with database.scope() as s:
        for name in ASSIGNMENTS:
            moderators[name] = principal_of(
                create_staff(
                    s, email=f"{name}@bench.test", password="bench-password-1", role="moderator"
                )
            )
        operator = principal_of(
            create_staff(s, email="op@bench.test", password="bench-password-1", role="operator")
        )
    for name, indexes in ASSIGNMENTS.items():
        for i in indexes:
            with database.scope() as s:
                assignments.assign(s, operator, moderators[name].id, tenant_ids[i], now)
    return config, kernel, tenant_ids, moderators


def main() -> int:
    started = time.monotonic()
    config, kernel, tenant_ids, moderators = setup()
    from sqlalchemy import select

    from pnyx.consultations.models import Consultation, Proposal
    from pnyx.moderation import assignments, prechecks, service

    database, store, jobs = kernel.db, kernel.store, kernel.jobs
    print(f"setup: {time.monotonic() - started:.1f} s", flush=True)

    # The per-process duplicate indexes, built once (the first desk call of a consultation:
    # lexical at once, the sentence vectors by a background thread, waited for here so that
    # the timed calls below measure the steady state).
    build, keys = [], []
    t_warm = time.perf_counter()
    with database.session(tenant_ids=tenant_ids) as s:
        for consultation in s.scalars(select(Consultation)):
            proposal = s.scalar(
                select(Proposal).where(Proposal.consultation_id == consultation.id).limit(1)
            )
            t0 = time.perf_counter()
            prechecks.prechecks(s, proposal)
            build.append((time.perf_counter() - t0) * 1000)
            keys.append((consultation.tenant_id, consultation.id))
    prechecks.INDEXES.wait()
    warm_s = time.perf_counter() - t_warm
    semantic_on = all(prechecks.INDEXES.index_of(*key).semantic for key in keys)

    decisions = ("accept", "refuse", "postpone")
    names = list(moderators)

    def desk_call(who, *, with_item: bool = True):
        t0 = time.perf_counter()
        with database.session(staff_id=who.id) as s:
            assignments.open_desk(s, who)
            found = service.next_proposal(s, store, who, datetime.now(UTC))
            if found and with_item:
                service.desk_item(s, store, *found)
            s.commit()
        return (time.perf_counter() - t0) * 1000, found[0].id if found else None

    def decide(who, proposal_id, i):
        with database.scope(staff_id=who.id) as s:
            assignments.open_desk(s, who)
            service.decide(
                s,
                who,
                proposal_id,
                decisions[i % 3],
                store=store,
                jobs=jobs,
                now=datetime.now(UTC),
                reason="test" if decisions[i % 3] == "refuse" else None,
            )

    def baseline_call():
        t0 = time.perf_counter()
        with database.session(tenant_ids=tenant_ids) as s:
            s.execute(
                select(Proposal)
                .where(Proposal.status == "pending")
                .order_by(Proposal.created_at, Proposal.id)
                .limit(1)
            ).first()
            s.commit()
        return (time.perf_counter() - t0) * 1000

    for i in range(20):  # warm-up: connections, statement caches
        _, pid = desk_call(moderators[names[i % len(names)]])
        decide(moderators[names[i % len(names)]], pid, i)
        baseline_call()

    full, lock_only, base = [], [], []
    for i in range(CALLS):
        who = moderators[names[i % len(names)]]
        if i % 2:
            ms, pid = desk_call(who, with_item=False)
            lock_only.append(ms)
        else:
            ms, pid = desk_call(who)
            full.append(ms)
        assert pid is not None
        decide(who, pid, i)
        base.append(baseline_call())

    # Through HTTP (Flask's test client, in process): bearer token, hooks, schema, JSON.
    from pnyx.app import create_app

    app = create_app(config)
    http = []
    clients = {}
    for name in names:
        c = app.test_client()
        token = c.post(
            "/api/v1/auth/token",
            json={"email": f"{name}@bench.test", "password": "bench-password-1"},
            base_url="http://admin.bench.test",
        ).get_json()["token"]
        clients[name] = (c, {"Authorization": f"Bearer {token}"})
    for i in range(HTTP_CALLS + 10):
        name = names[i % len(names)]
        c, headers = clients[name]
        t0 = time.perf_counter()
        response = c.get(
            "/api/v1/moderation/next", base_url="http://admin.bench.test", headers=headers
        )
        ms = (time.perf_counter() - t0) * 1000
        assert response.status_code == 200, response.get_json()
        pid = response.get_json()["proposal"]["id"]
        if i >= 10:
            http.append(ms)
        decide(moderators[name], pid, i)
    app.extensions["pnyx"].close()

    # Several moderators at once: every proposal served to one of them only.
    concurrent: list[float] = []
    served: list[int] = []
    lock = threading.Lock()
    barrier = threading.Barrier(THREADS)

    def worker(who):
        barrier.wait()
        for i in range(PER_THREAD):
            ms, pid = desk_call(who)
            with lock:
                concurrent.append(ms)
                served.append(pid)
            decide(who, pid, i)

    threads = [threading.Thread(target=worker, args=(moderators[n],)) for n in names[:THREADS]]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    twice = sorted(pid for pid, n in Counter(served).items() if n > 1)
    assert not twice and len(served) == THREADS * PER_THREAD, f"served twice: {twice}"

    p95, b95 = percentile(full, 0.95), percentile(base, 0.95)
    print(
        f"pending: {TENANTS * PER_TENANT:,} in {TENANTS} tenants; {len(full)} desk calls, "
        f"{len(lock_only)} lock-only, {len(http)} HTTP, {len(concurrent)} concurrent "
        f"({THREADS} threads); duplicate index build per consultation: "
        f"median {statistics.median(build):.0f} ms"
    )
    print(f"bench moderation_next_p95: {p95:.1f} ms ratio {p95 / b95:.1f} vs pending_select")
    print(f"bench moderation_next_p50: {percentile(full, 0.5):.1f} ms")
    print(f"bench moderation_next_lock_only_p95: {percentile(lock_only, 0.95):.1f} ms")
    print(f"bench moderation_next_http_p95: {percentile(http, 0.95):.1f} ms")
    print(
        f"bench moderation_next_concurrent_p95: {percentile(concurrent, 0.95):.1f} ms "
        f"({THREADS} moderators at once)"
    )
    print(f"bench pending_select_p95: {b95:.2f} ms (p50 {percentile(base, 0.5):.2f} ms)")
    print(f"bench moderation_index_build: {statistics.median(build):.0f} ms per 1,000 proposals")
    print(
        f"# near-duplicates: {'semantic (sentence encoder)' if semantic_on else 'lexical only'}; "
        f"{TENANTS * PER_TENANT:,} proposals indexed and encoded in {warm_s:.1f} s "
        "(first desk call per consultation, then the background encoding)"
    )

    from redis import Redis

    redis = Redis.from_url(REDIS_URL)
    keys = list(redis.scan_iter(f"{REDIS_PREFIX}*"))
    if keys:
        redis.delete(*keys)
    kernel.close()
    shutil.rmtree(VAR_DIR, ignore_errors=True)
    print(f"total: {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
