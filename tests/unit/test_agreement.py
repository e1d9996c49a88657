"""Agreement beyond chance: voters shown the same cards are not a brigade; a plan is."""

from __future__ import annotations

import random

from pnyx.moderation.agreement import find_coordinated, group_agreement
from pnyx.moderation.lockstep import KEYS, LockstepGroup, Vote, find_lockstep_groups


def _group(members) -> LockstepGroup:
    return LockstepGroup(tuple(members), (), 0.0, 1.0, 1, 10.0, 10, 9.0, 9.0)


def crowd(*, plan: bool, voters: int = 40, cards: int = 20, seed: int = 1) -> list[Vote]:
    """``voters`` arriving within an hour, all served the same ``cards`` proposals; their keys
    independent draws (plan=False) or one plan with 5 % flips (plan=True); plus a background of
    1,000 voters on 200 proposals (those cards among them) spread over a month."""
    rng = random.Random(seed)
    votes = []
    keys = {p: KEYS[p % 2] for p in range(cards)}
    for v in range(voters):
        at = rng.uniform(0, 3600)
        for p in range(cards):
            at += rng.uniform(5, 40)
            key = keys[p] if plan and rng.random() > 0.05 else rng.choice(KEYS)
            votes.append(Vote(f"c{v}", p, key, at))
    for v in range(1_000):
        at = rng.uniform(86_400, 30 * 86_400)
        for p in rng.sample(range(200), 15):
            votes.append(Vote(f"b{v}", p, rng.choice(KEYS), at))
            at += 30
    return votes


def test_same_cards_are_chance_agreement_and_a_plan_is_not():
    members = [f"c{v}" for v in range(40)]
    (honest,) = group_agreement(crowd(plan=False), [_group(members)], window_seconds=3 * 3600)
    (brigade,) = group_agreement(crowd(plan=True), [_group(members)], window_seconds=3 * 3600)
    assert honest.pairs == brigade.pairs == 200
    assert abs(honest.kappa) < 0.1 and honest.chance == honest.expected / honest.covoted
    assert brigade.kappa > 0.8 and brigade.z > 20


def test_chance_is_taken_without_the_group_so_a_huge_brigade_is_still_found():
    # 2,000 voters of one plan outnumber the background: they still agree beyond chance.
    votes = crowd(plan=True, voters=2_000)
    members = [f"c{v}" for v in range(2_000)]
    (brigade,) = group_agreement(votes, [_group(members)], window_seconds=3 * 3600)
    assert brigade.chance < 0.4 and brigade.kappa > 0.8


def test_find_coordinated_keeps_the_plan_and_drops_the_crowd():
    # Popularity alone calls the crowd shown the same cards lockstep; agreement does not.
    assert [g.size for g in find_lockstep_groups(crowd(plan=False))] == [40]
    assert find_coordinated(crowd(plan=False)) == []
    found = find_coordinated(crowd(plan=True))
    assert [group.size for group, _ in found] == [40]
