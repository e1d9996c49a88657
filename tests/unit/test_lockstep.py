"""Coordinated-vote detection on synthetic consultations with known brigades."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pytest

from pnyx.moderation.lockstep import (
    KEYS,
    LockstepGroup,
    Vote,
    find_lockstep_groups,
    history_weight,
    voter_weights,
    weights,
)

DAY = 86_400.0
HOUR = 3_600.0


@dataclass
class SyntheticConsultation:
    votes: list[Vote]
    brigades: list[set[str]]
    honest: set[str]
    targets: list[dict[int, str]] = field(default_factory=list)


def simulate_consultation(
    *,
    honest: int = 4_000,
    proposals: int = 300,
    days: float = 60,
    brigades: tuple[int, ...] = (400,),
    targets: int = 20,
    participation: float = 0.9,
    flip: float = 0.05,
    burst_hours: float = 3.0,
    seed: int = 1,
) -> SyntheticConsultation:
    """A consultation with known truth.

    Honest voters arrive uniformly over ``days``, vote 10–60 proposals picked by popularity
    (log-normal), each key drawn from the proposal's own agree/disagree/neutral rates, a vote
    every 5–40 s. Each brigade follows one shared link: its members arrive within a
    ``burst_hours`` burst, vote each of ``targets`` proposals with probability
    ``participation`` on the brigade's key (flipped with probability ``flip``), then cast
    0–10 votes of their own.
    """
    rng = np.random.default_rng(seed)
    popularity = rng.lognormal(0.0, 1.0, proposals)
    share = popularity / popularity.sum()
    cumulative = np.cumsum(rng.dirichlet([2.0, 1.5, 1.0], proposals), axis=1)
    votes: list[Vote] = []

    def own_votes(voter: str, start: float, n: int, avoid: frozenset[int] = frozenset()) -> None:
        chosen = rng.choice(proposals, size=n, replace=False, p=share)
        times = start + np.cumsum(rng.uniform(5, 40, n))
        draws = rng.random(n)
        keys = (draws > cumulative[chosen, 0]).astype(int) + (draws > cumulative[chosen, 1])
        for proposal, key, at in zip(chosen.tolist(), keys.tolist(), times.tolist(), strict=True):
            if proposal not in avoid:
                votes.append(Vote(voter, proposal, KEYS[key], at))

    honest_ids = {f"h{i}" for i in range(honest)}
    for voter in sorted(honest_ids):
        own_votes(voter, rng.uniform(0, days * DAY), int(rng.integers(10, 61)))

    crews: list[set[str]] = []
    plans: list[dict[int, str]] = []
    for b, size in enumerate(brigades):
        chosen = rng.choice(proposals, size=targets, replace=False).tolist()
        plan = {p: KEYS[int(rng.integers(0, 2))] for p in chosen}
        burst = rng.uniform(0, days * DAY - burst_hours * HOUR)
        crew = set()
        for m in range(size):
            voter = f"b{b}-{m}"
            crew.add(voter)
            at = burst + rng.uniform(0, burst_hours * HOUR - 20 * 40)
            for proposal, key in plan.items():
                at += rng.uniform(5, 40)
                if rng.random() < participation:
                    if rng.random() < flip:
                        key = KEYS[(KEYS.index(key) + int(rng.integers(1, 3))) % 3]
                    votes.append(Vote(voter, proposal, key, at))
            own_votes(voter, at, int(rng.integers(1, 11)), frozenset(plan))
        crews.append(crew)
        plans.append(plan)
    order = rng.permutation(len(votes))
    return SyntheticConsultation([votes[i] for i in order], crews, honest_ids, plans)


def flagged(groups: list[LockstepGroup]) -> set[str]:
    return {m for g in groups for m in g.members}


@pytest.fixture(scope="module")
def consultation() -> SyntheticConsultation:
    # 10 % of voters in one brigade, plus two small ones at the size limit of interest.
    return simulate_consultation(honest=4_000, brigades=(400, 60, 30), seed=11)


@pytest.fixture(scope="module")
def background() -> list[Vote]:
    """Honest votes only, to set the baseline rates a small scenario is judged against."""
    return simulate_consultation(honest=1_000, brigades=(), seed=2).votes


@pytest.fixture(scope="module")
def groups(consultation: SyntheticConsultation) -> list[LockstepGroup]:
    return find_lockstep_groups(consultation.votes)


def test_brigades_found_with_high_recall(
    consultation: SyntheticConsultation, groups: list[LockstepGroup]
) -> None:
    found = flagged(groups)
    for crew in consultation.brigades:
        assert len(crew & found) / len(crew) >= 0.9, len(crew)


def test_honest_voters_rarely_flagged(
    consultation: SyntheticConsultation, groups: list[LockstepGroup]
) -> None:
    wrongly = flagged(groups) & consultation.honest
    assert len(wrongly) / len(consultation.honest) <= 0.005


def test_honest_population_alone_yields_almost_no_group() -> None:
    alone = simulate_consultation(honest=4_000, brigades=(), seed=3)
    wrongly = flagged(find_lockstep_groups(alone.votes))
    assert len(wrongly) / len(alone.honest) <= 0.005


def test_each_brigade_is_one_group_with_its_evidence(
    consultation: SyntheticConsultation, groups: list[LockstepGroup]
) -> None:
    for crew, plan in zip(consultation.brigades, consultation.targets, strict=True):
        group = max(groups, key=lambda g: len(crew & set(g.members)))
        assert len(crew & set(group.members)) >= 0.9 * len(crew)
        assert len(set(group.members) - crew) <= 2
        shared = {(p, key) for p, key, _ in group.shared}
        assert len(shared & set(plan.items())) >= 0.9 * len(plan)
        assert group.span_seconds <= 3 * HOUR
        assert group.min_covotes >= 8 and group.min_surprise >= 6.0
    assert [g.size for g in groups] == sorted((g.size for g in groups), reverse=True)


def test_same_votes_spread_over_weeks_are_not_lockstep(background: list[Vote]) -> None:
    """Agreeing with many others is not coordination: time is part of lockstep."""
    rng = np.random.default_rng(5)
    plan = {p: KEYS[p % 2] for p in range(20)}

    def crew(arrivals: np.ndarray) -> list[Vote]:
        return [
            Vote(f"v{m}", p, key, at + 30.0 * i)
            for m, at in enumerate(arrivals.tolist())
            for i, (p, key) in enumerate(plan.items())
        ]

    spread = crew(rng.uniform(0, 60 * DAY, 100))
    assert find_lockstep_groups(spread + background) == []
    burst = crew(10 * DAY + rng.uniform(0, 2 * HOUR, 100))
    assert [g.size for g in find_lockstep_groups(burst + background)] == [100]


def test_small_overlap_and_small_groups_are_ignored(background: list[Vote]) -> None:
    five = [Vote(f"v{m}", p, "agree", 1_000.0 + m + p) for m in range(30) for p in range(5)]
    assert find_lockstep_groups(five + background, min_overlap=8) == []  # 5 co-votes < 8
    trio = [Vote(f"t{m}", p, "agree", 1_000.0 + 30 * p) for m in range(3) for p in range(20)]
    assert find_lockstep_groups(trio + background, min_group=5) == []
    assert [g.size for g in find_lockstep_groups(trio + background, min_group=3)] == [3]


def test_only_the_last_vote_of_a_voter_on_a_proposal_counts(background: list[Vote]) -> None:
    base = [Vote(f"v{m}", p, "agree", 1_000.0 + 30 * p) for m in range(10) for p in range(20)]
    assert [g.size for g in find_lockstep_groups(base + background)] == [10]
    changes = [Vote(f"v{m}", p, "disagree", 5_000.0 + 30 * p) for m in range(5) for p in range(20)]
    # v0–v4 turned every vote to "disagree" an hour later: two groups of five.
    found = find_lockstep_groups(changes + base + background)
    assert sorted(g.size for g in found) == [5, 5]


def test_pair_cap_and_partitions_keep_large_brigades_together() -> None:
    crowd = simulate_consultation(honest=1_500, brigades=(300,), seed=8)
    reference = find_lockstep_groups(crowd.votes)
    capped = find_lockstep_groups(crowd.votes, neighbors=10)
    split = find_lockstep_groups(crowd.votes, max_pair_records=20_000)
    for result in (capped, split):
        assert len(flagged(result) & crowd.brigades[0]) >= 0.9 * 300
        assert not flagged(result) & crowd.honest
    assert [g.members for g in split] == [g.members for g in reference]


def test_input_validation_and_empty_input() -> None:
    assert find_lockstep_groups([]) == []
    with pytest.raises(ValueError, match="unknown vote key"):
        find_lockstep_groups([("v", "p", "yes", 0.0)])


def _group(*members: str) -> LockstepGroup:
    return LockstepGroup(tuple(members), (), 0.0, 1.0, 1, 10.0, 10, 9.0, 9.0)


def test_weights_collapse_each_group_to_one_voice() -> None:
    result = weights([_group("a", "b", "c", "d"), _group("x", "y")])
    assert result == {"a": 0.25, "b": 0.25, "c": 0.25, "d": 0.25, "x": 0.5, "y": 0.5}
    assert sum(result.values()) == pytest.approx(2.0)
    assert weights([]) == {}


def test_history_weight_rises_with_votes_cast() -> None:
    assert history_weight(0) == pytest.approx(0.25)
    assert history_weight(10) == pytest.approx(0.625)
    assert history_weight(20) == history_weight(500) == 1.0
    values = [history_weight(n) for n in range(25)]
    assert values == sorted(values)
    assert history_weight(3, full_at=0) == 1.0


def test_voter_weights_combine_history_and_groups() -> None:
    result = voter_weights({"a": 40, "b": 40, "new": 0, "solo": 20}, [_group("a", "b")])
    assert result == {"a": 0.5, "b": 0.5, "new": 0.25, "solo": 1.0}
