"""Coordinated voting ("lockstep") detection for one consultation: pure, stdlib + numpy.

A brigade — people following a shared link, or scripted sessions — votes the same proposals
the same way within a short time. We look for pairs of voters with many such co-votes, keep
the pairs whose count is far above what independent voters would show, and return the
connected groups with their evidence. Collapsing a group to one voice (:func:`weights`) and
weighting new sessions less (:func:`history_weight`) are left to the caller's scoring.

Co-vote: the same proposal, the same key, both votes in the same time bin. Bins are
``2 × window`` wide on two grids offset by ``window``, so two votes less than ``window``
apart always share a bin, and two votes more than ``2 × window`` apart never do.

Null model: an independent voter who cast ``n_u`` votes picked proposal ``p`` with
probability ``n_u × s_p`` (``s_p`` = p's share of all votes) and its key with the proposal's
observed key frequencies, so two voters share ``λ = n_u n_v Σ_p s_p² q_p`` co-votes on
average (``q_p`` = chance two votes on p agree). Ignoring time and the cap at probability 1
both make λ larger, so the test errs towards calling honest voters honest. An edge is kept
when ``P(Poisson(λ) ≥ c) ≤ max_pvalue``.

Cost: pairs are generated inside (proposal, key, bin) buckets in voter-hash order, each vote
meeting at most ``neighbors`` others per bucket, so a burst of 100,000 votes on one proposal
costs ``neighbors × 100,000`` pairs, not 10¹⁰. Members of a large brigade still meet the same
neighbours in every bucket they share, so their pair counts build up; the cap can hide a
small brigade drowned in a bucket more than ``neighbors`` times its size. Pair records are
processed in hash partitions of ``max_pair_records``, which bounds memory. Measured on
1,100,000 votes: spread over two months, 2–7 s and ~350 MB; 30,000 voters packed into two
days on 1,500 proposals, 12–23 s and ~600 MB (a shared 2-core machine).

Limit: the null model knows popularity, not rotation. If a sequence showed the same few
proposals to everyone within hours, honest voters would co-vote more than λ predicts.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

KEYS: tuple[str, ...] = ("agree", "disagree", "neutral")
_KEY_INDEX = {key: i for i, key in enumerate(KEYS)}
_LOG10 = math.log(10.0)


class Vote(NamedTuple):
    """One vote: who, on what, which key, when (seconds since any fixed origin)."""

    voter: Hashable
    proposal: Hashable
    key: str
    at: float


@dataclass(frozen=True, slots=True)
class LockstepGroup:
    """Voters who voted in lockstep, with the evidence a moderator can check.

    ``shared``: (proposal, key, members who cast it) for the votes at least half the members
    cast, most shared first; ``first_at``/``last_at`` bound those votes in time. Edge figures
    describe the pairs that tied the group: their number, the co-votes per pair, and the
    surprise ``-log10 P`` of the pairs' co-vote counts under the null model.
    """

    members: tuple[Hashable, ...]
    shared: tuple[tuple[Hashable, str, int], ...]
    first_at: float
    last_at: float
    edges: int
    median_covotes: float
    min_covotes: int
    median_surprise: float
    min_surprise: float

    @property
    def size(self) -> int:
        return len(self.members)

    @property
    def span_seconds(self) -> float:
        return self.last_at - self.first_at


@dataclass(frozen=True, slots=True)
class _VoteArrays:
    voter: np.ndarray  # int64 voter index
    proposal: np.ndarray  # int64 proposal index
    key: np.ndarray  # int8 key index
    at: np.ndarray  # float64 seconds
    voter_ids: list[Hashable]
    proposal_ids: list[Hashable]


def _to_arrays(votes: Iterable[Vote | tuple[Hashable, Hashable, str, float]]) -> _VoteArrays:
    """Index ids, then keep each voter's last vote per proposal (votes are changeable)."""
    voter_index: dict[Hashable, int] = {}
    proposal_index: dict[Hashable, int] = {}
    voters: list[int] = []
    proposals: list[int] = []
    keys: list[int] = []
    times: list[float] = []
    for voter, proposal, key, at in votes:
        voters.append(voter_index.setdefault(voter, len(voter_index)))
        proposals.append(proposal_index.setdefault(proposal, len(proposal_index)))
        try:
            keys.append(_KEY_INDEX[key])
        except KeyError:
            raise ValueError(f"unknown vote key {key!r}; expected one of {KEYS}") from None
        times.append(at)
    voter = np.asarray(voters, dtype=np.int64)
    proposal = np.asarray(proposals, dtype=np.int64)
    key_arr = np.asarray(keys, dtype=np.int8)
    at_arr = np.asarray(times, dtype=np.float64)
    if len(voter):
        order = np.lexsort((at_arr, proposal, voter))
        voter, proposal, key_arr, at_arr = (a[order] for a in (voter, proposal, key_arr, at_arr))
        last = np.ones(len(voter), dtype=bool)
        last[:-1] = (voter[1:] != voter[:-1]) | (proposal[1:] != proposal[:-1])
        voter, proposal, key_arr, at_arr = (a[last] for a in (voter, proposal, key_arr, at_arr))
    return _VoteArrays(voter, proposal, key_arr, at_arr, list(voter_index), list(proposal_index))


def _agreement_rate(v: _VoteArrays) -> float:
    """K = Σ_p s_p² q_p: the chance that two random votes fall on the same proposal with
    the same key, so that an independent pair shares n_u n_v K co-votes on average."""
    n_props = len(v.proposal_ids)
    per_key = np.bincount(v.proposal * 3 + v.key, minlength=3 * n_props).reshape(n_props, 3)
    per_prop = per_key.sum(axis=1).astype(np.float64)
    q = (per_key.astype(np.float64) ** 2).sum(axis=1) / np.maximum(per_prop, 1.0) ** 2
    share = per_prop / per_prop.sum()
    return float((share**2 * q).sum())


def _covote_counts(
    v: _VoteArrays,
    window: float,
    neighbors: int,
    seed: int,
    min_votes: int,
    max_records: int = 8_000_000,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pairs (u < v) with at least ``min_votes`` co-voted proposals, and that number.

    Voters with fewer than ``min_votes`` votes cannot reach it and are left out early.
    When the pair records would pass ``max_records``, pairs are split by a hash into
    partitions handled one after the other, which bounds memory at the cost of time.
    """
    n_voters = len(v.voter_ids)
    n_props = len(v.proposal_ids)
    active = np.bincount(v.voter, minlength=n_voters)[v.voter] >= min_votes
    voter, prop, key, t = v.voter[active], v.proposal[active], v.key[active], v.at[active]
    empty = np.empty(0, dtype=np.int64)
    if len(voter) < 2:
        return empty, empty, empty
    rank = np.random.default_rng(seed).permutation(n_voters)
    t = t - t.min()
    n_bins = int(t.max() // (2 * window)) + 2
    base = (prop * 3 + key) * 2
    item = np.concatenate(
        [
            (base + g) * n_bins + np.floor((t + g * window) / (2 * window)).astype(np.int64)
            for g in (0, 1)
        ]
    )
    voter = np.concatenate([voter, voter])
    prop = np.concatenate([prop, prop])
    order = np.lexsort((rank[voter], item))
    item, voter, prop = item[order], voter[order], prop[order]

    starts = np.flatnonzero(np.r_[True, item[1:] != item[:-1]])
    sizes = np.diff(np.r_[starts, len(item)])
    nb = neighbors
    records = np.where(
        sizes <= nb, sizes * (sizes - 1) // 2, nb * (nb - 1) // 2 + (sizes - nb) * nb
    )
    parts = max(1, math.ceil(int(records.sum()) / max_records))
    packed = n_voters * n_voters * max(n_props, 1) < 2**62

    lefts, rights, counts = [], [], []
    for part in range(parts):
        code_chunks, prop_chunks = [], []
        for d in range(1, nb + 1):
            same = item[:-d] == item[d:]
            if not same.any():
                break
            a, b = voter[:-d][same], voter[d:][same]
            code = np.minimum(a, b) * n_voters + np.maximum(a, b)
            p = prop[:-d][same]
            if parts > 1:
                mine = (code.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)) >> np.uint64(40)
                mine = (mine % np.uint64(parts)) == part
                code, p = code[mine], p[mine]
            code_chunks.append(code)
            prop_chunks.append(p)
        if not code_chunks:
            break
        code = np.concatenate(code_chunks)
        p = np.concatenate(prop_chunks)
        del code_chunks, prop_chunks
        if packed:  # one int64 per (pair, proposal); a proposal counts once per pair
            code = code * n_props + p
            del p
            code.sort()
            first = np.r_[True, code[1:] != code[:-1]]
            pair = code[first] // n_props
        else:
            order = np.lexsort((p, code))
            code, p = code[order], p[order]
            first = np.r_[True, (code[1:] != code[:-1]) | (p[1:] != p[:-1])]
            pair = code[first]
        del code, first
        bounds = np.flatnonzero(np.r_[True, pair[1:] != pair[:-1], True])
        count = np.diff(bounds)
        enough = count >= min_votes
        unique = pair[bounds[:-1]][enough]
        lefts.append(unique // n_voters)
        rights.append(unique % n_voters)
        counts.append(count[enough])
    if not lefts:
        return empty, empty, empty
    return np.concatenate(lefts), np.concatenate(rights), np.concatenate(counts)


def _poisson_surprise(count: np.ndarray, mean: np.ndarray) -> np.ndarray:
    """-log10 of an upper bound on P(Poisson(mean) ≥ count): the pmf at ``count`` times the
    geometric bound 1 / (1 - mean / (count + 1)). Zero when ``mean ≥ count``."""
    c = count.astype(np.float64)
    top = int(count.max()) if len(count) else 0
    log_factorial = np.concatenate([[0.0], np.cumsum(np.log(np.arange(1, top + 1)))])
    log_pmf = -mean + c * np.log(np.maximum(mean, 1e-300)) - log_factorial[count]
    ratio = np.clip(mean / (c + 1.0), 0.0, 1.0 - 1e-12)
    log_tail = log_pmf - np.log1p(-ratio)
    return np.where(mean < c, np.maximum(-log_tail / _LOG10, 0.0), 0.0)


def _components(n: int, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Connected-component label of each of ``n`` nodes (union-find with path halving)."""
    parent = list(range(n))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in zip(left.tolist(), right.tolist(), strict=True):
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    return np.fromiter((find(x) for x in range(n)), dtype=np.int64, count=n)


def find_lockstep_groups(
    votes: Iterable[Vote | tuple[Hashable, Hashable, str, float]],
    *,
    window_seconds: float = 3 * 3600,
    min_overlap: int = 8,
    min_group: int = 5,
    max_pvalue: float = 1e-6,
    neighbors: int = 40,
    seed: int = 0,
    max_pair_records: int = 8_000_000,
) -> list[LockstepGroup]:
    """Groups of at least ``min_group`` voters who voted in lockstep, largest first.

    Two voters are linked when they share at least ``min_overlap`` co-votes (same proposal,
    same key, within about ``window_seconds``; see the module notes) and the chance of as
    many under independence is at most ``max_pvalue``. ``neighbors`` bounds the pairs
    formed per vote and bucket; ``seed`` fixes the voter-hash order; ``max_pair_records``
    bounds the pair records held at once (about 16 bytes each) by working in passes.
    """
    v = _to_arrays(votes)
    if len(v.voter) == 0:
        return []
    left, right, covotes = _covote_counts(
        v, float(window_seconds), neighbors, seed, min_overlap, max_pair_records
    )
    n_votes = np.bincount(v.voter, minlength=len(v.voter_ids)).astype(np.float64)
    expected = n_votes[left] * n_votes[right] * _agreement_rate(v)
    surprise = _poisson_surprise(covotes, expected)
    keep = surprise >= -math.log10(max_pvalue)
    left, right, covotes, surprise = left[keep], right[keep], covotes[keep], surprise[keep]
    if not len(left):
        return []

    label = _components(len(v.voter_ids), left, right)
    sizes = np.bincount(label)
    vote_order = np.argsort(label[v.voter], kind="stable")
    vote_bounds = np.searchsorted(label[v.voter][vote_order], np.arange(len(sizes) + 1))
    edge_label = label[left]
    groups: list[LockstepGroup] = []
    for root in np.flatnonzero(sizes >= min_group).tolist():
        votes_of_group = vote_order[vote_bounds[root] : vote_bounds[root + 1]]
        edges = edge_label == root
        members = np.flatnonzero(label == root)
        groups.append(_describe(v, members, votes_of_group, covotes[edges], surprise[edges]))
    groups.sort(key=lambda g: (-g.size, g.first_at))
    return groups


def _describe(
    v: _VoteArrays,
    members: np.ndarray,
    votes_of_group: np.ndarray,
    covotes: np.ndarray,
    surprise: np.ndarray,
) -> LockstepGroup:
    """Evidence of one group: the votes most members cast, when, and its edge strength."""
    cast = v.proposal[votes_of_group] * 3 + v.key[votes_of_group]
    at = v.at[votes_of_group]
    codes, counts = np.unique(cast, return_counts=True)
    common = counts >= max(2, math.ceil(len(members) / 2))
    order = np.argsort(-counts[common], kind="stable")
    shared = tuple(
        (v.proposal_ids[int(code // 3)], KEYS[int(code % 3)], int(n))
        for code, n in zip(codes[common][order], counts[common][order], strict=True)
    )
    times = at[np.isin(cast, codes[common])] if common.any() else at
    return LockstepGroup(
        members=tuple(v.voter_ids[i] for i in members.tolist()),
        shared=shared,
        first_at=float(times.min()),
        last_at=float(times.max()),
        edges=len(covotes),
        median_covotes=float(np.median(covotes)),
        min_covotes=int(covotes.min()),
        median_surprise=round(float(np.median(surprise)), 1),
        min_surprise=round(float(surprise.min()), 1),
    )


def weights(groups: Iterable[LockstepGroup]) -> dict[Hashable, float]:
    """Each member of a group weighs 1/size, so that a group counts as one voice.

    Voters absent from the result weigh 1. A voter in several groups keeps the smallest
    weight (groups are connected components, so this happens only across separate runs).
    """
    result: dict[Hashable, float] = {}
    for group in groups:
        weight = 1.0 / group.size
        for member in group.members:
            result[member] = min(weight, result.get(member, 1.0))
    return result


def history_weight(votes_cast: int, *, full_at: int = 20, floor: float = 0.25) -> float:
    """Weight of a session by its history: ``floor`` with no vote, rising linearly with the
    votes it cast to 1 at ``full_at`` votes.

    A throwaway session opened to push a few proposals weighs little; a participant who went
    through a couple of sequences (12 cards each) counts fully.
    """
    if full_at <= 0:
        return 1.0
    return floor + (1.0 - floor) * min(1.0, max(0, votes_cast) / full_at)


def voter_weights(
    votes_cast: Mapping[Hashable, int],
    groups: Iterable[LockstepGroup] = (),
    *,
    full_at: int = 20,
    floor: float = 0.25,
) -> dict[Hashable, float]:
    """Weight of each voter: :func:`history_weight` times the group weight of :func:`weights`."""
    collapsed = weights(groups)
    return {
        voter: history_weight(n, full_at=full_at, floor=floor) * collapsed.get(voter, 1.0)
        for voter, n in votes_cast.items()
    }
