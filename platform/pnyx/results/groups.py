"""Opinion groups: voters who vote alike, and what every group agrees on (as Polis does).

Pure code on vote arrays (numpy, no database), so that it runs the same in the results service,
the simulator and the tests:

1. The vote matrix, voters × proposals, agree +1 / disagree −1 / neutral 0, is sparse: a
   voter sees a few dozen proposals out of thousands. Each voted cell is centred on its
   proposal's mean; an unseen cell counts as that mean (0 once centred), so that absence says
   nothing.
2. Its first two principal components, by orthogonal (block power) iteration on the sparse
   cells only: no dense matrix, a few milliseconds per iteration at 1,000,000 votes. A voter's
   projection is scaled by sqrt(proposals / their votes), Polis's correction for sparse voters
   (who would otherwise all sit near the centre).
3. k-means on the projections for k = 2 … 5 (k-means++ seeding, a fixed seed: the same votes
   give the same groups; on a sample of 20,000 voters at most, then every voter joins the
   nearest centre), keeping the k with the best silhouette on a sample of voters.
4. Per group and proposal, the agree rate (a + 1)/(n + 2). A proposal's group-informed
   consensus is the product of its groups' agree rates: high only when every group agrees,
   whatever their sizes, so a majority group cannot carry it alone; it is listed as agreed by
   every group when a majority of each agrees. Its division is the gap between the most and
   the least agreeing group; it is listed as dividing them from 30 points. A group's distinctive proposals are those it
   agrees with more than the other voters do, clearly (by 1.96 standard errors or more).

Only voters with at least ``MIN_VOTES`` votes are placed (fewer place them by chance), and only
proposals with ``MIN_PROPOSAL_VOTES`` votes among them count.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

MIN_VOTES = 7
MIN_PROPOSAL_VOTES = 5
MIN_VOTERS = 30  # fewer placed voters: no groups
MAX_GROUPS = 5
MIN_GROUP_VOTES = 3  # a group's rate on a proposal counts from this many of its votes
SHARED_AGREEMENT = 0.5  # "what every group agrees on": a majority of each group agrees
DIVIDING_GAP = 0.3  # "what divides the groups": 30 points or more between two groups
DISTINCT_Z = 1.96  # a distinctive proposal: its group agrees more than the others at 95 %
SILHOUETTE_SAMPLE = 2_000
KMEANS_SAMPLE = 20_000
ITERATIONS = 60
SHOWN = 10

AGREE, DISAGREE, NEUTRAL = 1.0, -1.0, 0.0


class GroupRates(NamedTuple):
    """One proposal across the groups: agree rate and number of votes of each group."""

    proposal_id: int
    consensus: float  # group-informed consensus: the product of the groups' agree rates
    division: float  # the most agreeing group's rate minus the least agreeing one's
    agree: tuple[float, ...]
    votes: tuple[int, ...]


class OpinionGroup(NamedTuple):
    label: str  # "A", "B", ...
    voters: int
    share: float  # of the placed voters
    distinctive: tuple[tuple[int, float, float], ...]  # (proposal, its rate, the others' rate)


class OpinionGroups(NamedTuple):
    placed: int  # voters placed in a group (MIN_VOTES votes or more)
    groups: tuple[OpinionGroup, ...]  # empty: too few voters to tell groups apart
    consensus: tuple[GroupRates, ...]  # agreed by a majority of each group, most agreed first
    division: tuple[GroupRates, ...]  # 30 points or more between groups, most dividing first
    silhouette: float  # how well apart the groups are, −1 … 1


NO_GROUPS = OpinionGroups(0, (), (), (), 0.0)


def find_groups(
    voters: np.ndarray,
    proposals: np.ndarray,
    values: np.ndarray,
    *,
    seed: int = 0,
    shown: int = SHOWN,
    min_voters: int = MIN_VOTERS,
) -> OpinionGroups:
    """Opinion groups of the votes (voter id, proposal id, value: +1 agree, −1 disagree,
    0 neutral), one vote per voter and proposal."""
    # One order whatever order the database read them in: sums, and so the groups, depend on it.
    order = np.lexsort((np.asarray(proposals), np.asarray(voters)))
    voters = np.asarray(voters)[order]
    proposals = np.asarray(proposals)[order]
    values = np.asarray(values, dtype=np.float64)[order]
    _, rows = np.unique(voters, return_inverse=True)
    keep = np.bincount(rows)[rows] >= MIN_VOTES
    rows, cols, values = rows[keep], np.asarray(proposals)[keep], values[keep]
    proposal_ids, cols = np.unique(cols, return_inverse=True)
    keep = np.bincount(cols)[cols] >= MIN_PROPOSAL_VOTES
    if not keep.any():
        return NO_GROUPS
    rows, cols, values = rows[keep], cols[keep], values[keep]
    _, rows = np.unique(rows, return_inverse=True)
    proposal_ids, cols = np.unique(proposal_ids[cols], return_inverse=True)
    n, m = int(rows.max()) + 1, len(proposal_ids)
    if n < min_voters or m < 2:
        return OpinionGroups(n, (), (), (), 0.0)

    per_proposal = np.bincount(cols, minlength=m)
    centred = values - (np.bincount(cols, weights=values, minlength=m) / per_proposal)[cols]
    basis = _principal_axes(rows, cols, centred, n, m, seed)
    per_voter = np.bincount(rows, minlength=n)
    points = _times(rows, cols, centred, basis, n) * np.sqrt(m / per_voter)[:, None]
    labels, silhouette = _best_clustering(points, seed)
    # Groups numbered by size, largest first: "A" is the largest.
    sizes = np.bincount(labels)
    labels = np.argsort(np.argsort(-sizes, kind="stable"))[labels]
    sizes = np.bincount(labels)  # a centre no voter joined is the last label, and dropped
    k = len(sizes)
    group_of_vote = labels[rows]
    cell = group_of_vote * m + cols
    agreed = np.bincount(cell, weights=(values == AGREE), minlength=k * m).reshape(k, m)
    voted = np.bincount(cell, minlength=k * m).reshape(k, m)
    rates = (agreed + 1) / (voted + 2)
    seen_by_all = (voted >= MIN_GROUP_VOTES).all(axis=0)
    consensus = np.prod(rates, axis=0)
    division = rates.max(axis=0) - rates.min(axis=0)
    agreed_by_all = seen_by_all & (rates.min(axis=0) > SHARED_AGREEMENT)
    dividing = seen_by_all & ~agreed_by_all & (division >= DIVIDING_GAP)

    def listed(order: np.ndarray, among: np.ndarray) -> tuple[GroupRates, ...]:
        chosen = [j for j in order if among[j]][:shown]
        return tuple(
            GroupRates(
                int(proposal_ids[j]),
                float(consensus[j]),
                float(division[j]),
                tuple(float(r) for r in rates[:, j]),
                tuple(int(v) for v in voted[:, j]),
            )
            for j in chosen
        )

    groups = []
    for g in range(k):
        others_agreed = agreed.sum(axis=0) - agreed[g]
        others_voted = voted.sum(axis=0) - voted[g]
        others = (others_agreed + 1) / (others_voted + 2)
        # How much more the group agrees than the others, in standard errors (a two-proportion
        # z score): only a clear difference makes a proposal distinctive of the group.
        spread = np.sqrt(
            rates[g] * (1 - rates[g]) / (voted[g] + 2) + others * (1 - others) / (others_voted + 2)
        )
        lift = np.where(
            (voted[g] >= MIN_GROUP_VOTES) & (others_voted >= MIN_GROUP_VOTES),
            (rates[g] - others) / spread,
            -np.inf,
        )
        top = [j for j in np.argsort(-lift, kind="stable")[:3] if lift[j] > DISTINCT_Z]
        distinctive = tuple(
            (int(proposal_ids[j]), float(rates[g, j]), float(others[j])) for j in top
        )
        groups.append(
            OpinionGroup(chr(ord("A") + g), int(sizes[g]), float(sizes[g] / n), distinctive)
        )
    return OpinionGroups(
        n,
        tuple(groups),
        listed(np.argsort(-consensus, kind="stable"), agreed_by_all),
        listed(np.argsort(-division, kind="stable"), dividing),
        silhouette,
    )


def _times(rows, cols, cells, basis: np.ndarray, n: int) -> np.ndarray:
    """The sparse matrix (rows, cols, cells) times ``basis`` (proposals × k): voters × k."""
    return np.stack(
        [
            np.bincount(rows, weights=cells * basis[cols, i], minlength=n)
            for i in range(basis.shape[1])
        ],
        axis=1,
    )


def _principal_axes(rows, cols, cells, n: int, m: int, seed: int, k: int = 2) -> np.ndarray:
    """The first ``k`` right singular vectors of the sparse centred matrix (proposals × k)."""
    rng = np.random.default_rng(seed)
    basis, _ = np.linalg.qr(rng.standard_normal((m, k)))
    for _ in range(ITERATIONS):
        left = _times(rows, cols, cells, basis, n)
        back = np.stack(
            [np.bincount(cols, weights=cells * left[rows, i], minlength=m) for i in range(k)],
            axis=1,
        )
        following, _ = np.linalg.qr(back)
        # Converged when the two bases span the same plane (their principal angles' cosines,
        # the singular values of following.T @ basis, are all 1).
        if np.linalg.svd(following.T @ basis, compute_uv=False).min() > 1 - 1e-8:
            return following
        basis = following
    return basis


def _squared_distances(points: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """Points × centres squared distances, as |p|² − 2 p·c + |c|² (no points × centres × dims
    array)."""
    return np.maximum(
        (points**2).sum(axis=1)[:, None] - 2 * points @ centres.T + (centres**2).sum(axis=1),
        0.0,
    )


def _kmeans(points: np.ndarray, k: int, rng: np.random.Generator, rounds: int = 50):
    """Lloyd's k-means with k-means++ seeding: (labels, centres)."""
    centres = points[[rng.integers(len(points))]]
    for _ in range(1, k):
        nearest = _squared_distances(points, centres).min(axis=1)
        total = nearest.sum()
        if total == 0:
            break
        centres = np.vstack([centres, points[rng.choice(len(points), p=nearest / total)]])
    labels = np.full(len(points), -1)
    for _ in range(rounds):
        following = _squared_distances(points, centres).argmin(axis=1)
        if (following == labels).all():
            break
        labels = following
        sizes = np.bincount(labels, minlength=len(centres))
        for dim in range(points.shape[1]):
            sums = np.bincount(labels, weights=points[:, dim], minlength=len(centres))
            centres[sizes > 0, dim] = sums[sizes > 0] / sizes[sizes > 0]
    return labels, centres


def _silhouette(points: np.ndarray, labels: np.ndarray, rng: np.random.Generator) -> float:
    """Mean silhouette on a sample of at most SILHOUETTE_SAMPLE points."""
    if len(points) > SILHOUETTE_SAMPLE:
        chosen = rng.choice(len(points), SILHOUETTE_SAMPLE, replace=False)
        points, labels = points[chosen], labels[chosen]
    k = int(labels.max()) + 1
    sizes = np.bincount(labels, minlength=k)
    if (sizes > 0).sum() < 2:
        return -1.0
    distances = np.sqrt(_squared_distances(points, points))
    mean_to = np.full((len(points), k), np.inf)
    for c in np.flatnonzero(sizes):
        mean_to[:, c] = distances[:, labels == c].mean(axis=1)
    # The mean distance to one's own group, oneself left out.
    own = mean_to[np.arange(len(points)), labels] * sizes[labels] / np.maximum(sizes[labels] - 1, 1)
    mean_to[np.arange(len(points)), labels] = np.inf
    nearest_other = mean_to.min(axis=1)
    score = (nearest_other - own) / np.maximum(np.maximum(own, nearest_other), 1e-12)
    score[sizes[labels] == 1] = 0.0
    return float(score.mean())


def _best_clustering(points: np.ndarray, seed: int) -> tuple[np.ndarray, float]:
    """Labels (0 … k−1) of the k in 2 … MAX_GROUPS whose k-means has the best silhouette, and
    that silhouette. k-means runs on a sample of KMEANS_SAMPLE points at most; every point then
    joins its nearest centre."""
    sample = points
    if len(points) > KMEANS_SAMPLE:
        sample = points[
            np.random.default_rng(seed).choice(len(points), KMEANS_SAMPLE, replace=False)
        ]
    best_centres, best_quality = None, -1.0
    for k in range(2, MAX_GROUPS + 1):
        if k > len(sample):
            break
        labels, centres = _kmeans(sample, k, np.random.default_rng(seed + k))
        used = np.unique(labels)  # a cluster left empty is dropped
        quality = _silhouette(sample, np.searchsorted(used, labels), np.random.default_rng(seed))
        if quality > best_quality + 1e-9:
            best_centres, best_quality = centres[used], quality
    if best_centres is None:
        return np.zeros(len(points), dtype=np.int64), -1.0
    return _squared_distances(points, best_centres).argmin(axis=1), best_quality


def from_json(data: list) -> OpinionGroups:
    """An :class:`OpinionGroups` back from its JSON copy (nested lists)."""
    placed, found, consensus, division, silhouette = data

    def rates(items: list) -> tuple[GroupRates, ...]:
        return tuple(
            GroupRates(pid, together, gap, tuple(agree), tuple(votes))
            for pid, together, gap, agree, votes in items
        )

    return OpinionGroups(
        placed,
        tuple(
            OpinionGroup(label, voters, share, tuple(tuple(item) for item in distinctive))
            for label, voters, share, distinctive in found
        ),
        rates(consensus),
        rates(division),
        silhouette,
    )
