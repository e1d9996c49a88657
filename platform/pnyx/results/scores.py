"""Scores and zones of a proposal from its trusted votes: pure math, no import of ours.

Point estimates reproduce Make.org's baseline:
rate(k) = (k + 0.33)/(n + 1) for vote keys, (k + 0.01)/(n + 1) for qualifications, n = votes;
topScore, controversy, rejection and the four zones as in the engineering guide (§4).

Where we go past the baseline, and how:

- Rate intervals are Wilson score intervals on the raw proportion k/n (good coverage down to a
  handful of votes; [0, 1] with no vote).
- Score intervals use the normal approximation of a mean of per-voter contributions
  (a voter adds +1 to topScore for an agree, +1 for a likeIt, −1 for a noWay, ...). The variance
  is exact where the data tell the joint law (keys exclude each other; a qualification implies its
  key) and conservative where they do not (two qualifications of the same key: their overlap is
  taken at the bound that maximises the variance). ``controversy`` is linearised on the branch of
  each ``min`` active at the point estimate.
- The *certain zone*: the three vote rates get simultaneous Wilson intervals (Bonferroni over the
  three, so the box covers the truth with probability >= ``confidence``); the zone is declared
  only if it is the same everywhere in that box, else the result is ``needs_more_votes``. The box
  ignores that the rates sum to one, which only makes the rule more cautious.
- ``zone_probability``: probability that the true zone is the point estimate's, under
  independent normal marginals (``1 - zone_probability`` is the proposal's uncertainty);
  ``zone_margin``: distance from the point estimate to the nearest other zone, on which
  rotation's APT index is built (``pnyx.rotation.strategies.zone_gap`` mirrors it).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache
from statistics import NormalDist

VOTE_PRIOR = 0.33
QUALIFICATION_PRIOR = 0.01

# Zone thresholds (the same for agree and disagree, which the cell table below relies on).
MAJORITY = 0.6  # agree >= .6 is consensus, disagree >= .6 is rejection
FRINGE = 0.15  # with neutral < .4: disagree < .15 is consensus, agree < .15 is rejection
LIMBO_NEUTRAL = 0.4  # neutral >= .4 is limbo (when neither rule above applies)

NEEDS_MORE_VOTES = "needs_more_votes"
DEFAULT_CONFIDENCE = 0.95

VOTE_KEYS = ("agree", "disagree", "neutral")
QUALIFICATIONS_BY_KEY: dict[str, tuple[str, str, str]] = {
    "agree": ("like_it", "doable", "platitude_agree"),
    "disagree": ("no_way", "impossible", "platitude_disagree"),
    "neutral": ("do_not_understand", "no_opinion", "do_not_care"),
}
QUALIFICATION_KEYS = tuple(q for qs in QUALIFICATIONS_BY_KEY.values() for q in qs)
# Names used by the API (Make.org's spelling) → field names.
API_NAMES: dict[str, str] = {
    "likeIt": "like_it",
    "platitudeAgree": "platitude_agree",
    "noWay": "no_way",
    "platitudeDisagree": "platitude_disagree",
    "doNotUnderstand": "do_not_understand",
    "noOpinion": "no_opinion",
    "doNotCare": "do_not_care",
}


class Zone(StrEnum):
    """Where a proposal sits on the results map."""

    CONSENSUS = "consensus"
    REJECTION = "rejection"
    LIMBO = "limbo"
    CONTROVERSY = "controversy"


@dataclass(frozen=True, slots=True)
class VoteCounts:
    """Trusted vote and qualification counts of one proposal (in one segment, or overall).

    Counts may be fractional (post-stratified counts are).
    """

    agree: float = 0
    disagree: float = 0
    neutral: float = 0
    like_it: float = 0
    doable: float = 0
    platitude_agree: float = 0
    no_way: float = 0
    impossible: float = 0
    platitude_disagree: float = 0
    do_not_understand: float = 0
    no_opinion: float = 0
    do_not_care: float = 0

    @property
    def votes(self) -> float:
        """Number of votes n (qualifications are not votes)."""
        return self.agree + self.disagree + self.neutral

    @classmethod
    def from_mapping(cls, counts: Mapping[str, float]) -> VoteCounts:
        """Counts from a mapping keyed by field names or API names (``likeIt``, ``noWay``...)."""
        return cls(**{API_NAMES.get(key, key): value for key, value in counts.items()})

    def __add__(self, other: VoteCounts) -> VoteCounts:
        return VoteCounts(*(a + b for a, b in zip(_values(self), _values(other), strict=True)))


_FIELDS = VOTE_KEYS + QUALIFICATION_KEYS


def _values(counts: VoteCounts) -> tuple[float, ...]:
    return tuple(getattr(counts, name) for name in _FIELDS)


@dataclass(frozen=True, slots=True)
class Interval:
    """A closed interval [low, high]."""

    low: float
    high: float

    def __contains__(self, value: float) -> bool:
        return self.low <= value <= self.high

    @property
    def width(self) -> float:
        return self.high - self.low


@dataclass(frozen=True, slots=True)
class Rates:
    """Baseline rates: (k + 0.33)/(n + 1) for votes, (k + 0.01)/(n + 1) for qualifications."""

    agree: float
    disagree: float
    neutral: float
    like_it: float
    doable: float
    platitude_agree: float
    no_way: float
    impossible: float
    platitude_disagree: float
    do_not_understand: float
    no_opinion: float
    do_not_care: float

    @property
    def platitude(self) -> float:
        return self.platitude_agree + self.platitude_disagree


@dataclass(frozen=True, slots=True)
class Scores:
    """Scores of one proposal: baseline point estimates, intervals, zone and certain zone."""

    votes: float
    rates: Rates
    top_score: float
    controversy: float
    rejection: float
    top_score_interval: Interval
    controversy_interval: Interval
    rejection_interval: Interval
    agree_interval: Interval
    disagree_interval: Interval
    neutral_interval: Interval
    zone: Zone
    certain_zone: Zone | None
    zone_probability: float

    @property
    def result(self) -> str:
        """The zone to publish: the certain zone, else ``needs_more_votes``."""
        return self.certain_zone.value if self.certain_zone is not None else NEEDS_MORE_VOTES


# --------------------------------------------------------------------------- rates and zones


def rates(counts: VoteCounts) -> Rates:
    """Baseline rates of every vote key and qualification."""
    return Rates(*_rate_vector(counts))


def _rate_vector(counts: VoteCounts) -> tuple[float, ...]:
    denominator = counts.votes + 1.0
    v, q = VOTE_PRIOR, QUALIFICATION_PRIOR
    return (
        (counts.agree + v) / denominator,
        (counts.disagree + v) / denominator,
        (counts.neutral + v) / denominator,
        (counts.like_it + q) / denominator,
        (counts.doable + q) / denominator,
        (counts.platitude_agree + q) / denominator,
        (counts.no_way + q) / denominator,
        (counts.impossible + q) / denominator,
        (counts.platitude_disagree + q) / denominator,
        (counts.do_not_understand + q) / denominator,
        (counts.no_opinion + q) / denominator,
        (counts.do_not_care + q) / denominator,
    )


def zone_of(agree: float, disagree: float, neutral: float) -> Zone:
    """Zone of vote rates, rules taken in order (consensus, rejection, limbo, controversy)."""
    if agree >= MAJORITY or (neutral < LIMBO_NEUTRAL and disagree < FRINGE):
        return Zone.CONSENSUS
    if disagree >= MAJORITY or (neutral < LIMBO_NEUTRAL and agree < FRINGE):
        return Zone.REJECTION
    if neutral >= LIMBO_NEUTRAL:
        return Zone.LIMBO
    return Zone.CONTROVERSY


def point_zone(counts: VoteCounts) -> Zone:
    """Zone of the baseline rates (the point estimate)."""
    n1 = counts.votes + 1.0
    return zone_of(
        (counts.agree + VOTE_PRIOR) / n1,
        (counts.disagree + VOTE_PRIOR) / n1,
        (counts.neutral + VOTE_PRIOR) / n1,
    )


# The zone depends on each rate only through the cell it falls in: agree and disagree in
# [0, .15) | [.15, .6) | [.6, 1], neutral in [0, .4) | [.4, 1]. ZONE_BY_CELL[a][d][u] is the zone
# of any point of the cell (a, d, u); it is built from zone_of, so the two never disagree.
_AD_BOUNDS = (FRINGE, MAJORITY)
_U_BOUNDS = (LIMBO_NEUTRAL,)
_AD_CELLS = ((-math.inf, FRINGE), (FRINGE, MAJORITY), (MAJORITY, math.inf))
_U_CELLS = ((-math.inf, LIMBO_NEUTRAL), (LIMBO_NEUTRAL, math.inf))
_AD_SAMPLES = (FRINGE / 2, (FRINGE + MAJORITY) / 2, (MAJORITY + 1) / 2)
_U_SAMPLES = (LIMBO_NEUTRAL / 2, (LIMBO_NEUTRAL + 1) / 2)
ZONE_BY_CELL: tuple[tuple[tuple[Zone, ...], ...], ...] = tuple(
    tuple(tuple(zone_of(a, d, u) for u in _U_SAMPLES) for d in _AD_SAMPLES) for a in _AD_SAMPLES
)


def _ad_cell(rate: float) -> int:
    return 0 if rate < FRINGE else (2 if rate >= MAJORITY else 1)


def _u_cell(rate: float) -> int:
    return 1 if rate >= LIMBO_NEUTRAL else 0


# --------------------------------------------------------------------------- intervals


@lru_cache(maxsize=64)
def z_value(confidence: float) -> float:
    """Two-sided standard normal quantile: P(|Z| <= z) = confidence."""
    return NormalDist().inv_cdf(0.5 + confidence / 2.0)


@lru_cache(maxsize=64)
def joint_z_value(confidence: float) -> float:
    """z of each of the three vote-rate intervals so that the box covers with ``confidence``."""
    return z_value(1.0 - (1.0 - confidence) / 3.0)


def wilson_interval(count: float, votes: float, z: float) -> Interval:
    """Wilson score interval of a proportion count/votes at normal quantile z."""
    if votes <= 0:
        return Interval(0.0, 1.0)
    p = count / votes
    z2n = z * z / votes
    centre = (p + z2n / 2.0) / (1.0 + z2n)
    half = z / (1.0 + z2n) * math.sqrt(max(p * (1.0 - p), 0.0) / votes + z2n / (4.0 * votes))
    return Interval(max(0.0, centre - half), min(1.0, centre + half))


def rate_interval(count: float, votes: float, confidence: float = DEFAULT_CONFIDENCE) -> Interval:
    """Wilson interval of one vote or qualification rate."""
    return wilson_interval(count, votes, z_value(confidence))


# A score's plan: for each vote key, (index of the key, its weight, ((index of a qualification of
# that key, its weight), ...)), indices into the rate vector below (vote keys, then qualifications).
_Plan = tuple[tuple[int, float, tuple[tuple[int, float], ...]], ...]
_INDEX = {name: index for index, name in enumerate(VOTE_KEYS + QUALIFICATION_KEYS)}


def _plan(weights: Mapping[str, float]) -> _Plan:
    return tuple(
        (
            _INDEX[key],
            weights.get(key, 0.0),
            tuple((_INDEX[q], weights[q]) for q in qualifications if q in weights),
        )
        for key, qualifications in QUALIFICATIONS_BY_KEY.items()
        if key in weights or any(q in weights for q in qualifications)
    )


_TOP_PLAN = _plan(
    {
        "agree": 1.0,
        "like_it": 1.0,
        "doable": 1.0,
        "no_way": -1.0,
        "impossible": -1.0,
        "platitude_agree": -1.0,
        "platitude_disagree": -1.0,
    }
)
_REJECTION_PLAN = _plan(
    {
        "disagree": 1.0,
        "no_way": 1.0,
        "impossible": 1.0,
        "like_it": -1.0,
        "doable": -1.0,
        "platitude_agree": -1.0,
        "platitude_disagree": -1.0,
    }
)
# controversy = min(agree, disagree) + min(likeIt, noWay), linearised on the active branches.
_CONTROVERSY_PLANS = {
    (vote, qualification): _plan({vote: 1.0, qualification: 1.0})
    for vote in ("agree", "disagree")
    for qualification in ("like_it", "no_way")
}


def _score_sd(values: tuple[float, ...], n: float, plan: _Plan) -> float:
    """Standard deviation of a score that is a weighted sum of rates.

    The score is the mean of per-voter contributions x = w_key + sum of w_q over the voter's
    qualifications; Var(mean) = (E[x^2] - E[x]^2) / (n + 1). Keys exclude each other and a
    qualification implies its key, so E[x^2] is exact but for the overlap of two qualifications
    of the same key, unknown: it is taken at the bound that maximises the variance.
    """
    second_moment = 0.0
    mean = 0.0
    for key_index, w_key, qualifications in plan:
        p_key = values[key_index]
        second_moment += w_key * w_key * p_key
        mean += w_key * p_key
        for position, (index, w) in enumerate(qualifications):
            p = values[index]
            mean += w * p
            second_moment += (2.0 * w_key * w + w * w) * p
            for other, w_other in qualifications[position + 1 :]:
                q = values[other]
                product = w * w_other
                overlap = min(p, q) if product > 0 else max(0.0, p + q - p_key)
                second_moment += 2.0 * product * overlap
    return math.sqrt(max(second_moment - mean * mean, 0.0) / (n + 1.0))


# --------------------------------------------------------------------------- zones with certainty


def certain_zone(counts: VoteCounts, confidence: float = DEFAULT_CONFIDENCE) -> Zone | None:
    """The zone if it is the same everywhere in the joint box of the three rates, else None."""
    return _certain_zone(counts.agree, counts.disagree, counts.neutral, joint_z_value(confidence))


def zone_result(counts: VoteCounts, confidence: float = DEFAULT_CONFIDENCE) -> str:
    """The zone to publish: the certain zone's value, else ``needs_more_votes``."""
    zone = certain_zone(counts, confidence)
    return zone.value if zone is not None else NEEDS_MORE_VOTES


def _certain_zone(agree: float, disagree: float, neutral: float, z: float) -> Zone | None:
    n = agree + disagree + neutral
    if n <= 0:
        return None
    a = wilson_interval(agree, n, z)
    d = wilson_interval(disagree, n, z)
    u = wilson_interval(neutral, n, z)
    a_cells = range(_ad_cell(a.low), _ad_cell(a.high) + 1)
    d_cells = range(_ad_cell(d.low), _ad_cell(d.high) + 1)
    u_cells = range(_u_cell(u.low), _u_cell(u.high) + 1)
    zone = ZONE_BY_CELL[a_cells[0]][d_cells[0]][u_cells[0]]
    for i in a_cells:
        for j in d_cells:
            for k in u_cells:
                if ZONE_BY_CELL[i][j][k] is not zone:
                    return None
    return zone


def _normal_cdf(x: float) -> float:
    return 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))


def _cell_probabilities(rate: float, sd: float, bounds: tuple[float, ...]) -> list[float]:
    cumulative = [_normal_cdf((bound - rate) / sd) for bound in bounds]
    edges = [0.0, *cumulative, 1.0]
    return [edges[i + 1] - edges[i] for i in range(len(bounds) + 1)]


def zone_probability(counts: VoteCounts) -> float:
    """Probability that the true zone is the point estimate's zone.

    The three rates are taken as independent normals centred on the baseline rates with the
    posterior standard deviation sqrt(r (1 - r) / (n + 2)); the probability of each cell is a
    product, summed over the cells of the point zone.
    """
    n = counts.votes
    r_a, r_d, r_u = ((getattr(counts, key) + VOTE_PRIOR) / (n + 1.0) for key in VOTE_KEYS)
    zone = zone_of(r_a, r_d, r_u)
    scale = 1.0 / math.sqrt(n + 2.0)
    p_a = _cell_probabilities(r_a, math.sqrt(r_a * (1.0 - r_a)) * scale, _AD_BOUNDS)
    p_d = _cell_probabilities(r_d, math.sqrt(r_d * (1.0 - r_d)) * scale, _AD_BOUNDS)
    p_u = _cell_probabilities(r_u, math.sqrt(r_u * (1.0 - r_u)) * scale, _U_BOUNDS)
    total = 0.0
    for i in range(3):
        for j in range(3):
            for k in range(2):
                if ZONE_BY_CELL[i][j][k] is zone:
                    total += p_a[i] * p_d[j] * p_u[k]
    return total


def zone_margin(counts: VoteCounts) -> float:
    """Distance (in rate units, largest coordinate move) from the point estimate to the nearest
    rates of another zone. 0 on a boundary; the APT index of rotation is built on it."""
    n1 = counts.votes + 1.0
    point = tuple((getattr(counts, key) + VOTE_PRIOR) / n1 for key in VOTE_KEYS)
    return _margin(*point)


def _margin(agree: float, disagree: float, neutral: float) -> float:
    zone = zone_of(agree, disagree, neutral)
    da = [max(lo - agree, agree - hi, 0.0) for lo, hi in _AD_CELLS]
    dd = [max(lo - disagree, disagree - hi, 0.0) for lo, hi in _AD_CELLS]
    du = [max(lo - neutral, neutral - hi, 0.0) for lo, hi in _U_CELLS]
    best = math.inf
    for i in range(3):
        for j in range(3):
            for k in range(2):
                if ZONE_BY_CELL[i][j][k] is not zone:
                    distance = max(da[i], dd[j], du[k])
                    if distance < best:
                        best = distance
    return best


# --------------------------------------------------------------------------- scores


def score(counts: VoteCounts, confidence: float = DEFAULT_CONFIDENCE) -> Scores:
    """All scores of one proposal with their intervals, zone, certain zone and its probability."""
    n = counts.votes
    values = _rate_vector(counts)
    r = Rates(*values)
    z = z_value(confidence)
    top = (
        r.agree + r.like_it + r.doable - r.no_way - r.impossible - r.platitude_agree
    ) - r.platitude_disagree
    rejection = (
        r.disagree + r.no_way + r.impossible - r.like_it - r.doable - r.platitude_agree
    ) - r.platitude_disagree
    controversy = min(r.agree, r.disagree) + min(r.like_it, r.no_way)
    controversy_plan = _CONTROVERSY_PLANS[
        "agree" if r.agree <= r.disagree else "disagree",
        "like_it" if r.like_it <= r.no_way else "no_way",
    ]
    top_half = z * _score_sd(values, n, _TOP_PLAN)
    rejection_half = z * _score_sd(values, n, _REJECTION_PLAN)
    controversy_half = z * _score_sd(values, n, controversy_plan)
    return Scores(
        votes=n,
        rates=r,
        top_score=top,
        controversy=controversy,
        rejection=rejection,
        top_score_interval=Interval(top - top_half, top + top_half),
        controversy_interval=Interval(
            controversy - controversy_half, controversy + controversy_half
        ),
        rejection_interval=Interval(rejection - rejection_half, rejection + rejection_half),
        agree_interval=wilson_interval(counts.agree, n, z),
        disagree_interval=wilson_interval(counts.disagree, n, z),
        neutral_interval=wilson_interval(counts.neutral, n, z),
        zone=zone_of(r.agree, r.disagree, r.neutral),
        certain_zone=_certain_zone(
            counts.agree, counts.disagree, counts.neutral, joint_z_value(confidence)
        ),
        zone_probability=zone_probability(counts),
    )


def score_segments(
    counts_by_segment: Mapping[str, VoteCounts], confidence: float = DEFAULT_CONFIDENCE
) -> dict[str, Scores]:
    """Scores of one proposal in each segment."""
    return {segment: score(counts, confidence) for segment, counts in counts_by_segment.items()}


def poststratify(
    counts_by_segment: Mapping[str, VoteCounts], shares: Mapping[str, float]
) -> VoteCounts:
    """Overall counts that weight each segment by its share of the population.

    Votes routed adaptively (or a skewed audience) over-represent some segments; the pooled counts
    then estimate a mix that is not the population's. The result has the proportions
    sum_s share_s * counts_s / n_s and, as total, Kish's effective sample size
    1 / sum_s (share_s^2 / n_s), so that intervals keep their meaning. Segments without votes or
    absent from ``shares`` are left out and the other shares renormalised.
    """
    present = [
        (shares[segment], counts)
        for segment, counts in counts_by_segment.items()
        if counts.votes > 0 and shares.get(segment, 0.0) > 0
    ]
    if not present:
        return VoteCounts()
    weight_sum = sum(weight for weight, _ in present)
    inverse_size = sum((weight / weight_sum) ** 2 / counts.votes for weight, counts in present)
    effective = 1.0 / inverse_size
    mixed = [0.0] * len(_FIELDS)
    for weight, counts in present:
        factor = effective * weight / weight_sum / counts.votes
        for index, value in enumerate(_values(counts)):
            mixed[index] += factor * value
    return VoteCounts(*mixed)
