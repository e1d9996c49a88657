"""No lost or double-counted vote: concurrent clients end with counters equal to the votes table."""

from __future__ import annotations

import random
import threading

from sqlalchemy import case, func, select

from pnyx.consultations.models import (
    COUNTED_KEYS,
    QUALIFICATION_BITS,
    QUALIFICATIONS,
    SEGMENTS,
    ProposalCounter,
    Vote,
    column_name,
)
from tests import factories

CLIENTS, ROUNDS = 8, 12


def expected_counters(session, proposal_ids):
    """Counters recomputed from the votes table, per (proposal, segment, column)."""
    expected = {}
    columns = []
    for trusted in (False, True):
        for key in COUNTED_KEYS:
            if key in QUALIFICATION_BITS:
                hit = Vote.qualifications.op("&")(QUALIFICATION_BITS[key]) != 0
            else:
                hit = Vote.key == key
            condition = hit if not trusted else hit & Vote.trusted
            columns.append((column_name(key, trusted), func.sum(case((condition, 1), else_=0))))
    for segment_column, prefix in (
        (None, "all"),
        (Vote.territory, "territory"),
        (Vote.age_band, "age"),
    ):
        group = [Vote.proposal_id] + ([segment_column] if segment_column is not None else [])
        rows = session.execute(
            select(*group, *(c for _, c in columns))
            .where(Vote.proposal_id.in_(proposal_ids))
            .group_by(*group)
        )
        for row in rows:
            segment = "all" if segment_column is None else f"{prefix}:{row[1]}"
            values = row[len(group) :]
            expected[(row[0], segment)] = {
                name: int(v or 0) for (name, _), v in zip(columns, values, strict=True)
            }
    return expected


def at_once(voter) -> None:
    """``voter(seed)`` in CLIENTS threads at once (each waits at the test's barrier)."""
    threads = [threading.Thread(target=voter, args=(seed,)) for seed in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def counter_mismatches(session, proposal_ids) -> list:
    """(proposal, segment, {column: (counter, votes table)}) wherever the two differ."""
    expected = expected_counters(session, proposal_ids)
    counters = session.scalars(
        select(ProposalCounter).where(ProposalCounter.proposal_id.in_(proposal_ids))
    ).all()
    assert len(counters) == len(proposal_ids) * len(SEGMENTS)
    zero = dict.fromkeys((column_name(k, t) for t in (False, True) for k in COUNTED_KEYS), 0)
    mismatches = []
    for row in counters:
        actual = {name: getattr(row, name) for name in zero}
        wanted = expected.get((row.proposal_id, row.segment), zero)
        if actual != wanted:
            mismatches.append(
                (
                    row.proposal_id,
                    row.segment,
                    {k: (actual[k], wanted[k]) for k in actual if actual[k] != wanted[k]},
                )
            )
    return mismatches


def test_concurrent_voters_keep_counters_exact(world, database, config):
    c = factories.consultation(database, world.alpha_id)
    proposals = [
        factories.proposal(
            database,
            world.alpha_id,
            c.id,
            f"Il faut une idée partagée {i}",
            author=f"author{i}@alpha.test",
        )
        for i in range(4)
    ]
    ids = [p.id for p in proposals]
    errors: list[str] = []
    start = threading.Barrier(CLIENTS)

    def voter(seed: int) -> None:
        rng = random.Random(seed)
        client = world.client("alpha")
        cards = client.get(f"/api/v1/consultations/{c.id}/sequence").get_json()["cards"]
        keys = {card["proposal"]["id"]: card["card_key"] for card in cards}
        start.wait()
        for _ in range(ROUNDS):
            pid = rng.choice(ids)
            if rng.random() < 0.15:
                response = client.delete(f"/api/v1/proposals/{pid}/vote")
            else:
                key = rng.choice(("agree", "disagree", "neutral"))
                quals = rng.sample(QUALIFICATIONS[key], rng.randint(0, 2))
                card_key = keys.get(pid) if rng.random() < 0.7 else None
                response = client.put(
                    f"/api/v1/proposals/{pid}/vote",
                    json={"key": key, "qualifications": quals, "card_key": card_key},
                )
            if response.status_code != 200:
                errors.append(f"{response.status_code} {response.get_data(as_text=True)}")

    at_once(voter)
    assert errors == []

    with database.session(tenant_id=world.alpha_id) as s:
        assert counter_mismatches(s, ids) == []
        counters = s.scalars(
            select(ProposalCounter).where(ProposalCounter.proposal_id.in_(ids))
        ).all()
        votes_cast = s.scalar(
            select(func.count()).select_from(Vote).where(Vote.proposal_id.in_(ids))
        )
    assert votes_cast > 0
    total_raw = sum(
        r.raw_agree + r.raw_disagree + r.raw_neutral for r in counters if r.segment == "all"
    )
    assert total_raw == votes_cast


def test_votes_changing_the_same_proposal_at_once_never_deadlock(world, database):
    """Clients vote on one proposal again and again, first votes and changed votes mixed: the
    proposal's counter rows are taken by all of them at once, by two different statements (a
    deadlock would answer 500)."""
    c = factories.consultation(database, world.alpha_id)
    pid = factories.proposal(
        database, world.alpha_id, c.id, "Il faut une idée disputée", author="author@alpha.test"
    ).id
    errors: list[str] = []
    start = threading.Barrier(CLIENTS)

    def voter(seed: int) -> None:
        rng = random.Random(seed)
        changing = world.client("alpha")
        start.wait()
        for _ in range(3 * ROUNDS):
            key = rng.choice(("agree", "disagree", "neutral"))
            # A first vote (one statement) or a changed one (a locked read, then updates).
            client = changing if rng.random() < 0.5 else world.client("alpha")
            response = client.put(f"/api/v1/proposals/{pid}/vote", json={"key": key})
            if response.status_code != 200:
                errors.append(f"{response.status_code} {response.get_data(as_text=True)[:300]}")

    at_once(voter)
    assert errors == []
    with database.session(tenant_id=world.alpha_id) as s:
        assert counter_mismatches(s, [pid]) == []
