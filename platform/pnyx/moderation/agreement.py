"""Agreement beyond chance inside a lockstep group: pure (stdlib, and the lockstep module).

:func:`pnyx.moderation.lockstep.find_lockstep_groups` links voters whose same-key co-votes are
far more than popularity predicts. Rotation breaks that null model: a sequence shows the same
few proposals to everyone who arrives within the same hour, so honest voters who came at the
same time co-vote a lot — but they agree only as often as chance says, while a brigade agrees
on nearly everything it votes together.

So for a group we sample pairs of members and, for each pair, take every proposal both voted
within ``window`` seconds of each other: ``m`` such proposals, ``c`` of them with the same key,
``e = Σ q_p`` expected same-key votes, where ``q_p = Σ_k share_pk²`` is the chance that two
votes on ``p`` agree. Pooled over the pairs, Cohen's kappa ``κ = (C/M − E/M) / (1 − E/M)``
is the agreement beyond chance: about 0 for voters served the same cards, near 1 for voters
following one plan (0.8 with 5 % of their votes flipped). ``q_p`` is taken from the votes of
everyone but the group: a brigade large enough to make most of a proposal's votes would
otherwise define chance itself, and look like chance. A group is kept when ``κ ≥ min_kappa`` and
the same-key count is ``min_z`` standard deviations above chance (a small group's κ rests on
few votes).
"""

from __future__ import annotations

import random
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass

from .lockstep import LockstepGroup, find_lockstep_groups


@dataclass(frozen=True, slots=True)
class Agreement:
    """Pooled over ``pairs`` sampled member pairs that co-voted: ``covoted`` proposals voted
    by both within the window, ``same`` of them with the same key, ``expected`` same keys by
    chance."""

    pairs: int
    covoted: int
    same: int
    expected: float
    variance: float = 0.0  # Σ q (1 − q): of the same-key count under chance

    @property
    def z(self) -> float:
        """Same-key votes above chance, in standard deviations (pairs share members, so this
        overstates the evidence of a large group; it guards small ones)."""
        return (self.same - self.expected) / self.variance**0.5 if self.variance > 0 else 0.0

    @property
    def rate(self) -> float:
        return self.same / self.covoted if self.covoted else 0.0

    @property
    def chance(self) -> float:
        return self.expected / self.covoted if self.covoted else 0.0

    @property
    def kappa(self) -> float:
        if not self.covoted or self.chance >= 1.0:
            return 0.0
        return (self.rate - self.chance) / (1.0 - self.chance)


def _same_key_chance(per_key: dict[str, int]) -> float | None:
    total = sum(per_key.values())
    return sum(n * n for n in per_key.values()) / (total * total) if total else None


def group_agreement(
    votes: Iterable[Sequence],
    groups: Sequence[LockstepGroup],
    *,
    window_seconds: float,
    pairs: int = 200,
    seed: int = 0,
) -> list[Agreement]:
    """The :class:`Agreement` of each group, on votes (voter, proposal, key, seconds).

    A voter's last vote on a proposal counts. Up to ``pairs`` pairs per group are sampled
    (every pair when the group has fewer), with a fixed ``seed``.
    """
    latest: dict[tuple[Hashable, Hashable], tuple[str, float]] = {}
    for voter, proposal, key, at in (tuple(v)[:4] for v in votes):
        previous = latest.get((voter, proposal))
        if previous is None or previous[1] <= at:
            latest[voter, proposal] = (key, at)
    counts: dict[Hashable, dict[str, int]] = {}
    ballots: dict[Hashable, dict[Hashable, tuple[str, float]]] = {}
    wanted = {member for group in groups for member in group.members}
    for (voter, proposal), (key, at) in latest.items():
        per_key = counts.setdefault(proposal, {})
        per_key[key] = per_key.get(key, 0) + 1
        if voter in wanted:
            ballots.setdefault(voter, {})[proposal] = (key, at)
    rng = random.Random(seed)
    result = []
    for group in groups:
        members = list(group.members)
        # Chance of agreeing on each proposal, from everyone's votes but the group's.
        inside: dict[Hashable, dict[str, int]] = {}
        for member in members:
            for proposal, (key, _at) in ballots.get(member, {}).items():
                per_key = inside.setdefault(proposal, {})
                per_key[key] = per_key.get(key, 0) + 1
        q: dict[Hashable, float] = {}
        for proposal, theirs in inside.items():
            outside = {k: n - theirs.get(k, 0) for k, n in counts[proposal].items()}
            chance = _same_key_chance(outside)
            q[proposal] = chance if chance is not None else _same_key_chance(counts[proposal])
        n = len(members)
        if n * (n - 1) // 2 <= pairs:
            chosen = [(members[i], members[j]) for i in range(n) for j in range(i + 1, n)]
        else:
            chosen = []
            while len(chosen) < pairs:
                i, j = rng.sample(range(n), 2)
                chosen.append((members[i], members[j]))
        used = covoted = same = 0
        expected = variance = 0.0
        for u, v in chosen:
            mine, theirs = ballots.get(u, {}), ballots.get(v, {})
            if len(theirs) < len(mine):
                mine, theirs = theirs, mine
            m = 0
            for proposal, (key, at) in mine.items():
                other = theirs.get(proposal)
                if other is not None and abs(other[1] - at) <= window_seconds:
                    m += 1
                    same += other[0] == key
                    expected += q[proposal]
                    variance += q[proposal] * (1.0 - q[proposal])
            if m:
                used += 1
                covoted += m
        result.append(Agreement(used, covoted, same, expected, variance))
    return result


MIN_KAPPA = 0.5  # honest voters served the same cards: κ ≈ 0–0.4; a plan with 5 % flips: 0.8
MIN_Z = 6.0  # honest groups of five seen up to z ≈ 5; five voters of one plan on 20 cards: ≈ 11


def find_coordinated(
    votes: Iterable[Sequence],
    *,
    window_seconds: float = 3 * 3600,
    min_kappa: float = MIN_KAPPA,
    min_z: float = MIN_Z,
    **options,
) -> list[tuple[LockstepGroup, Agreement]]:
    """Lockstep groups (:func:`find_lockstep_groups` with ``options``) whose members also agree
    beyond chance (κ ≥ ``min_kappa`` and z ≥ ``min_z``), each with its :class:`Agreement`;
    largest first."""
    votes = list(votes)
    groups = find_lockstep_groups(votes, window_seconds=window_seconds, **options)
    agreements = group_agreement(votes, groups, window_seconds=window_seconds)
    return [
        (group, agreement)
        for group, agreement in zip(groups, agreements, strict=True)
        if agreement.kappa >= min_kappa and agreement.z >= min_z
    ]
