"""Opinion groups on synthetic populations whose groups and opinions are known."""

from __future__ import annotations

import numpy as np

from pnyx.results.groups import MIN_VOTES, NO_GROUPS, find_groups, from_json

# What each kind of proposal gets from the two planted groups: P(agree) for A, for B.
BOTH_AGREE, BOTH_REJECT, A_ONLY, B_ONLY = (0.92, 0.92), (0.05, 0.05), (0.95, 0.05), (0.05, 0.95)
# The majority's darling: A (60 % of voters) loves it, B mostly does not; its overall agree rate
# (0.98 × 0.6 + 0.35 × 0.4 = 0.73) beats a proposal both groups like moderately (0.70).
MAJORITY_DARLING, MODERATE_BOTH = (0.98, 0.35), (0.70, 0.70)
KINDS = (
    [BOTH_AGREE] * 10
    + [BOTH_REJECT] * 10
    + [A_ONLY] * 10
    + [B_ONLY] * 10
    + [MAJORITY_DARLING] * 3
    + [MODERATE_BOTH] * 3
)


def planted(voters=800, share_a=0.6, seen=(12, 30), seed=3):
    """Votes of two planted groups, each voter on a random subset of the proposals; the
    proposal ids are 1000 + their index in KINDS."""
    rng = np.random.default_rng(seed)
    group = (rng.random(voters) >= share_a).astype(int)  # 0: A, 1: B
    rows, cols, values = [], [], []
    for v in range(voters):
        for p in rng.choice(len(KINDS), rng.integers(*seen), replace=False):
            agree = KINDS[p][group[v]]
            r = rng.random()
            value = 1 if r < agree else (0 if r < agree + (1 - agree) * 0.15 else -1)
            rows.append(v)
            cols.append(1000 + p)
            values.append(value)
    return np.array(rows), np.array(cols), np.array(values), group


def kinds_of(items):
    return {KINDS[item.proposal_id - 1000] for item in items}


def test_two_planted_groups_are_found_with_their_sizes():
    rows, cols, values, group = planted()
    found = find_groups(rows, cols, values)
    assert [g.label for g in found.groups] == ["A", "B"]
    assert found.placed == len(group)
    assert abs(found.groups[0].share - (group == 0).mean()) < 0.03
    assert found.silhouette > 0.5


def test_consensus_needs_every_group_and_division_finds_the_split():
    found = find_groups(*planted()[:3])
    assert kinds_of(found.consensus) == {BOTH_AGREE}
    assert kinds_of(found.division) <= {A_ONLY, B_ONLY}
    # A proposal both groups like moderately is agreed by every group; the majority's darling,
    # though more voters agree with it overall, divides them.
    everything = find_groups(*planted()[:3], shown=len(KINDS))
    assert kinds_of(everything.consensus) == {BOTH_AGREE, MODERATE_BOTH}
    assert kinds_of(everything.division) == {A_ONLY, B_ONLY, MAJORITY_DARLING}
    assert not {i.proposal_id for i in everything.consensus} & {
        i.proposal_id for i in everything.division
    }
    a, b = found.groups
    assert {KINDS[pid - 1000] for pid, _rate, _others in a.distinctive} <= {
        A_ONLY,
        MAJORITY_DARLING,
    }
    assert {KINDS[pid - 1000] for pid, _rate, _others in b.distinctive} == {B_ONLY}
    for _pid, rate, others in b.distinctive:
        assert rate > 0.8 and others < 0.2


def test_the_same_votes_give_the_same_groups_and_survive_json():
    import json

    votes = planted(voters=300)[:3]
    first, second = find_groups(*votes), find_groups(*votes)
    assert first == second
    # In whatever order the database reads them.
    order = np.random.default_rng(7).permutation(len(votes[0]))
    assert find_groups(*(column[order] for column in votes)) == first
    assert from_json(json.loads(json.dumps(first))) == first


def test_too_few_voters_or_votes_make_no_groups():
    rows, cols, values, _ = planted(voters=20)
    assert find_groups(rows, cols, values).groups == ()
    sparse = planted(voters=400, seen=(1, MIN_VOTES))  # everyone under MIN_VOTES votes
    assert find_groups(*sparse[:3]) == NO_GROUPS
    empty = np.zeros(0, dtype=np.int64)
    assert find_groups(empty, empty, empty) == NO_GROUPS
