"""Rotation strategies: which proposals make the cards of one sequence. Pure, no import of ours.

A strategy gets the candidate proposals with their trusted vote tallies (overall and per segment),
the voter's segment and what they already voted on, and returns the ids of the cards, in order.

Rules every strategy keeps:
- never a proposal the voter voted on, nor one at the vote cap (1,500 by default) or *settled*
  (past the floor, its zone certain overall and in every segment of ``RotationSettings.segments``);
- at most one proposal per author in a sequence;
- greedy picks set aside a proposal sharing a tag with a card already picked (reading at most
  ``LOOKAHEAD`` × size candidates of each ranking); set-aside proposals fill the places left
  once every ranking has given its tag-free picks.

Strategies:
- ``uniform``: uniform random among the eligible proposals.
- ``makeorg``: Make.org's baseline; ~30 % new proposals (under the floor, oldest first), ~10 %
  the most controversial, the rest by Thompson sampling on Beta(k + 0.33, n − k + 1), k = agree.
- ``apt``: a thresholding bandit with a floor. First the proposals under the vote floor,
  fewest votes first, so every proposal reaches the floor before others run far ahead. Then the
  APT index of Locatelli, Gutzeit & Carpentier (2016), sqrt(n) × (gap + ε), lowest first, where
  gap is the distance from the estimated rates to the nearest rates of another zone. A vote
  settles two results, the voter's segment's zone and the overall zone: the priority is the
  lower of the two indices (see ``apt_priority``); without a known segment, the overall index.
  See ``RotationSettings.apt_epsilon`` for ε.
- ``kg`` (default): knowledge gradient with the same floor. Past the floor, each proposal is
  worth the expected rise, from one more vote, in the probability that its overall zone from the
  point estimate is the true one (see ``kg_priority``): a fixed-budget classification rule. It
  spends on proposals close to a threshold while one vote still moves that probability, and
  leaves the clear ones at their first votes, where APT's ε keeps serving them. Chosen against
  other principled indices on simulation seeds kept apart from the benchmark's (see
  ``choose_kg``).

The zone rules and the certainty rule mirror ``pnyx.results.scores`` (this module may not import
it; a unit test checks that both agree).
"""

from __future__ import annotations

import heapq
import math
import random
from collections.abc import Callable, Iterator, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import chain
from statistics import NormalDist
from typing import NamedTuple, Protocol

VOTE_PRIOR = 0.33
MAJORITY = 0.6
FRINGE = 0.15
LIMBO_NEUTRAL = 0.4
LOOKAHEAD = 4
_MAX_GAIN = 4.0  # apt: cap on how much one vote may count for the overall result (see apt_priority)

CONSENSUS, REJECTION, LIMBO, CONTROVERSY = "consensus", "rejection", "limbo", "controversy"


class Tally(NamedTuple):
    """Trusted votes of one proposal, overall or in one segment."""

    agree: int = 0
    disagree: int = 0
    neutral: int = 0

    @property
    def votes(self) -> int:
        return self.agree + self.disagree + self.neutral


EMPTY_TALLY = Tally()


@dataclass(frozen=True, slots=True, eq=False)
class Candidate:
    """A proposal that may be served, with what rotation needs to know of it.

    A snapshot: when its votes change, the caller builds a new one. Equality and hash are those
    of the object, which lets strategies memoise what they derive from a snapshot.
    """

    proposal_id: int
    author_id: int
    tags: frozenset[str] = frozenset()
    created_order: int = 0  # smaller is older
    tally: Tally = EMPTY_TALLY  # trusted (sequence) votes, overall
    segment_tallies: Mapping[str, Tally] = field(default_factory=dict)
    total_votes: int = 0  # every vote, trusted or not; the cap applies to it


@dataclass(frozen=True, slots=True)
class RotationSettings:
    """Knobs of rotation; the defaults are the product's."""

    vote_floor: int = 10
    vote_cap: int = 1500
    # Segments whose zone must be certain, besides the overall one, for a proposal to settle.
    segments: tuple[str, ...] = ()
    confidence: float = 0.95
    # Population share of each segment (census), for apt; a segment missing here is taken at
    # its share of each proposal's votes.
    segment_shares: Mapping[str, float] = field(default_factory=dict)
    # ε of the APT index sqrt(n) × (gap + ε). APT equalises the index, so a proposal sitting on
    # a threshold gets at most ((gap + ε)/ε)^2 times the votes of one ``gap`` away: with 0.15,
    # 4× those of a proposal 0.15 away, 9× those 0.3 away, instead of sinking votes without
    # bound into near-ties that no budget resolves. 0.15 is also the standard error of a rate
    # at the floor (sqrt(.25/10)). In the simulator (1,000 proposals, 60 votes each, overall
    # index), ε = 0.05 / 0.1 / 0.15 / 0.2 gave overall zone errors .121 / .113 / .111 / .123.
    apt_epsilon: float = 0.15
    # apt: let a voter's segment steer their cards (True), or rank on the overall index alone,
    # which resolves overall zones better and segment zones worse (see the rotation benchmark).
    apt_segment_focus: bool = True
    # Population share of each segment also serves kg: its overall estimate is post-stratified
    # on them (as results are), and a vote counts for as much as it adds to that estimate.
    new_share: float = 0.3  # makeorg: share of new proposals (under the floor)
    controversial_share: float = 0.1  # makeorg: share of controversial proposals


DEFAULT_SETTINGS = RotationSettings()


class Strategy(Protocol):
    def __call__(
        self,
        candidates: Sequence[Candidate],
        segment: str | None,
        voted: AbstractSet[int],
        size: int = 12,
        settings: RotationSettings = DEFAULT_SETTINGS,
        rng: random.Random | None = None,
    ) -> list[int]: ...


# --------------------------------------------------------------------------- zones (as in scores)


def _zone(agree: float, disagree: float, neutral: float) -> str:
    if agree >= MAJORITY or (neutral < LIMBO_NEUTRAL and disagree < FRINGE):
        return CONSENSUS
    if disagree >= MAJORITY or (neutral < LIMBO_NEUTRAL and agree < FRINGE):
        return REJECTION
    if neutral >= LIMBO_NEUTRAL:
        return LIMBO
    return CONTROVERSY


_AD_CELLS = ((-math.inf, FRINGE), (FRINGE, MAJORITY), (MAJORITY, math.inf))
_U_CELLS = ((-math.inf, LIMBO_NEUTRAL), (LIMBO_NEUTRAL, math.inf))
_AD_SAMPLES = (FRINGE / 2, (FRINGE + MAJORITY) / 2, (MAJORITY + 1) / 2)
_U_SAMPLES = (LIMBO_NEUTRAL / 2, (LIMBO_NEUTRAL + 1) / 2)
_ZONE_BY_CELL = tuple(
    tuple(tuple(_zone(a, d, u) for u in _U_SAMPLES) for d in _AD_SAMPLES) for a in _AD_SAMPLES
)


def _ad_cell(rate: float) -> int:
    return 0 if rate < FRINGE else (2 if rate >= MAJORITY else 1)


def _u_cell(rate: float) -> int:
    return 1 if rate >= LIMBO_NEUTRAL else 0


def point_zone(tally: Tally) -> str:
    """Zone of the baseline rates (k + 0.33)/(n + 1)."""
    n1 = tally.votes + 1.0
    return _zone(
        (tally.agree + VOTE_PRIOR) / n1,
        (tally.disagree + VOTE_PRIOR) / n1,
        (tally.neutral + VOTE_PRIOR) / n1,
    )


@lru_cache(maxsize=16)
def _joint_z(confidence: float) -> float:
    return NormalDist().inv_cdf(1.0 - (1.0 - confidence) / 6.0)


def _wilson(count: int, n: int, z: float) -> tuple[float, float]:
    p = count / n
    z2n = z * z / n
    centre = (p + z2n / 2.0) / (1.0 + z2n)
    half = z / (1.0 + z2n) * math.sqrt(p * (1.0 - p) / n + z2n / (4.0 * n))
    return centre - half, centre + half


@lru_cache(maxsize=1 << 17)
def is_certain(tally: Tally, confidence: float = 0.95) -> bool:
    """Whether the zone is the same everywhere in the joint Wilson box of the three rates."""
    n = tally.agree + tally.disagree + tally.neutral
    if n <= 0:
        return False
    z = _joint_z(confidence)
    a_low, a_high = _wilson(tally.agree, n, z)
    d_low, d_high = _wilson(tally.disagree, n, z)
    u_low, u_high = _wilson(tally.neutral, n, z)
    a_cells = range(_ad_cell(a_low), _ad_cell(a_high) + 1)
    d_cells = range(_ad_cell(d_low), _ad_cell(d_high) + 1)
    u_cells = range(_u_cell(u_low), _u_cell(u_high) + 1)
    zone = _ZONE_BY_CELL[a_cells[0]][d_cells[0]][u_cells[0]]
    return all(_ZONE_BY_CELL[i][j][k] == zone for i in a_cells for j in d_cells for k in u_cells)


@lru_cache(maxsize=1 << 17)
def zone_gap(tally: Tally) -> float:
    """Distance from the baseline rates to the nearest rates of another zone (largest coordinate
    move, rate units)."""
    n1 = tally.agree + tally.disagree + tally.neutral + 1.0
    agree = (tally.agree + VOTE_PRIOR) / n1
    disagree = (tally.disagree + VOTE_PRIOR) / n1
    neutral = (tally.neutral + VOTE_PRIOR) / n1
    zone = _zone(agree, disagree, neutral)
    da = [max(lo - agree, agree - hi, 0.0) for lo, hi in _AD_CELLS]
    dd = [max(lo - disagree, disagree - hi, 0.0) for lo, hi in _AD_CELLS]
    du = [max(lo - neutral, neutral - hi, 0.0) for lo, hi in _U_CELLS]
    return min(
        max(da[i], dd[j], du[k])
        for i in range(3)
        for j in range(3)
        for k in range(2)
        if _ZONE_BY_CELL[i][j][k] != zone
    )


@lru_cache(maxsize=1 << 17)
def apt_index(tally: Tally, epsilon: float) -> float:
    """APT index sqrt(n) × (gap + ε): small means a vote here settles much uncertainty."""
    return math.sqrt(tally.agree + tally.disagree + tally.neutral) * (zone_gap(tally) + epsilon)


def is_settled(candidate: Candidate, settings: RotationSettings = DEFAULT_SETTINGS) -> bool:
    """Past the floor and its zone certain overall and in every segment that matters."""
    if candidate.tally.votes < settings.vote_floor:
        return False
    if not is_certain(candidate.tally, settings.confidence):
        return False
    tallies = candidate.segment_tallies
    return all(
        is_certain(tallies.get(segment, EMPTY_TALLY), settings.confidence)
        for segment in settings.segments
    )


UNDER_FLOOR, IN_ROTATION, OUT = 0, 1, 2


def standing(candidate: Candidate, settings: RotationSettings = DEFAULT_SETTINGS) -> int:
    """UNDER_FLOOR, IN_ROTATION, or OUT (at the cap, or settled)."""
    tally = candidate.tally
    if max(candidate.total_votes, tally.votes) >= settings.vote_cap:
        return OUT
    if tally.votes < settings.vote_floor:
        return UNDER_FLOOR
    return OUT if is_settled(candidate, settings) else IN_ROTATION


# What a strategy derives from a candidate snapshot is memoised per kind of derivation (the key
# holds the settings and segment it depends on); a memo is dropped when it outgrows the
# candidates it serves, stale snapshots with it.
_memos: dict[tuple[object, ...], dict[Candidate, tuple[int, float]]] = {}


def _memo(key: tuple[object, ...], population: int) -> dict[Candidate, tuple[int, float]]:
    memo = _memos.get(key)
    if memo is None or len(memo) > 4 * population + 1024:
        if len(_memos) > 64:
            _memos.clear()
        memo = _memos[key] = {}
    return memo


def _settings_key(settings: RotationSettings) -> tuple[object, ...]:
    return (settings.vote_floor, settings.vote_cap, settings.confidence, settings.segments)


def _rotated(candidates: Sequence[Candidate], rng: random.Random) -> Sequence[Candidate]:
    """The candidates from a random starting point: heap ties then fall at random."""
    if not candidates:
        return candidates
    start = rng.randrange(len(candidates))
    return [*candidates[start:], *candidates[:start]]


# --------------------------------------------------------------------------- greedy picking


class _Sequence:
    """The cards of a sequence being picked: one per author, tags kept apart where possible."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.ids: list[int] = []
        self.picked: set[int] = set()
        self.authors: set[int] = set()
        self.tags: set[str] = set()
        self.deferred: list[Candidate] = []  # met in rank order, but repeating a picked tag
        self.leftovers: list[Iterator[Candidate]] = []  # rankings not read to the end

    def add(self, candidate: Candidate) -> None:
        self.ids.append(candidate.proposal_id)
        self.picked.add(candidate.proposal_id)
        self.authors.add(candidate.author_id)
        self.tags.update(candidate.tags)

    def fill(self, ranked: Iterator[Candidate], count: int) -> None:
        """Pick up to ``count`` more cards in rank order, reading at most LOOKAHEAD × size
        candidates; one sharing a tag with a picked card is set aside for ``finish``."""
        goal = min(self.size, len(self.ids) + count)
        window = LOOKAHEAD * self.size
        examined = 0
        while len(self.ids) < goal and examined < window:
            candidate = next(ranked, None)
            if candidate is None:
                break
            if candidate.author_id in self.authors or candidate.proposal_id in self.picked:
                continue
            examined += 1
            if self.tags.isdisjoint(candidate.tags):
                self.add(candidate)
            else:
                self.deferred.append(candidate)
        self.leftovers.append(ranked)

    def finish(self) -> list[int]:
        """Complete the sequence with the candidates set aside, then the rest of the rankings,
        tags no longer considered; return the ids."""
        for candidate in chain(self.deferred, *self.leftovers):
            if len(self.ids) >= self.size:
                break
            if candidate.author_id not in self.authors and candidate.proposal_id not in self.picked:
                self.add(candidate)
        return self.ids


def _popping(heap: list[tuple], candidates: Sequence[Candidate]) -> Iterator[Candidate]:
    """Candidates in heap order; the last item of each heap entry is the candidate's position."""
    heapq.heapify(heap)
    while heap:
        yield candidates[heapq.heappop(heap)[-1]]


# --------------------------------------------------------------------------- strategies


def choose_uniform(
    candidates: Sequence[Candidate],
    segment: str | None,
    voted: AbstractSet[int],
    size: int = 12,
    settings: RotationSettings = DEFAULT_SETTINGS,
    rng: random.Random | None = None,
) -> list[int]:
    """Uniform random cards among the eligible proposals."""
    rng = rng or random.Random()
    memo = _memo(("standing", *_settings_key(settings)), len(candidates))
    eligible = []
    for c in candidates:
        if c.proposal_id in voted:
            continue
        entry = memo.get(c)
        if entry is None:
            entry = memo[c] = (standing(c, settings), 0.0)
        if entry[0] != OUT:
            eligible.append(c)
    # A random order, drawn lazily: a sample of the first cards, then the rest shuffled.
    head = rng.sample(eligible, min(len(eligible), LOOKAHEAD * size))

    def ranked() -> Iterator[Candidate]:
        yield from head
        chosen = {c.proposal_id for c in head}
        rest = [c for c in eligible if c.proposal_id not in chosen]
        rng.shuffle(rest)
        yield from rest

    sequence = _Sequence(size)
    sequence.fill(ranked(), size)
    return sequence.finish()


def choose_makeorg(
    candidates: Sequence[Candidate],
    segment: str | None,
    voted: AbstractSet[int],
    size: int = 12,
    settings: RotationSettings = DEFAULT_SETTINGS,
    rng: random.Random | None = None,
) -> list[int]:
    """Make.org's baseline: new proposals, then controversial ones, then Thompson-sampled tops."""
    rng = rng or random.Random()
    new: list[tuple[int, int, int]] = []
    controversial: list[tuple[float, int, int]] = []
    top: list[tuple[float, int, int]] = []
    beta = rng.betavariate
    memo = _memo(("makeorg", *_settings_key(settings)), len(candidates))
    for position, c in enumerate(candidates):
        if c.proposal_id in voted:
            continue
        entry = memo.get(c)
        if entry is None:
            # Make.org's controversy on votes: min(agree, disagree) rate, highest first.
            agree, disagree, _ = c.tally
            controversy = (min(agree, disagree) + VOTE_PRIOR) / (c.tally.votes + 1.0)
            entry = memo[c] = (standing(c, settings), -controversy)
        if entry[0] == UNDER_FLOOR:
            new.append((c.created_order, c.proposal_id, position))
        elif entry[0] == IN_ROTATION:
            agree = c.tally.agree
            controversial.append((entry[1], c.created_order, position))
            sample = beta(agree + VOTE_PRIOR, c.tally.votes - agree + 1.0)
            top.append((-sample, c.created_order, position))
    new_count = round(size * settings.new_share)
    controversial_count = round(size * settings.controversial_share)
    new_ranked = _popping(new, candidates)
    controversial_ranked = _popping(controversial, candidates)
    top_ranked = _popping(top, candidates)
    sequence = _Sequence(size)
    sequence.fill(new_ranked, new_count)
    sequence.fill(controversial_ranked, controversial_count)
    sequence.fill(top_ranked, size)
    # Short of tested proposals: more new ones, then more controversial ones.
    sequence.fill(new_ranked, size)
    sequence.fill(controversial_ranked, size)
    ids = sequence.finish()
    rng.shuffle(ids)
    return ids


def apt_priority(
    candidate: Candidate, segment: str | None, settings: RotationSettings = DEFAULT_SETTINGS
) -> float:
    """APT priority of one more vote on ``candidate`` by a voter of ``segment`` (lowest first).

    The vote settles two results: the segment's zone and the overall one. Its priority is the
    smaller of their APT indices, each put in overall-vote units:
    - segment: index(segment tally) / sqrt(share), since a segment gets only its share of votes;
    - overall: index(overall tally) / gain, where gain = (share × n / n_segment)^2, capped at 4,
      is how much this vote raises the effective size of the post-stratified overall sample
      (Kish: d n_eff / d n_s = n_eff^2 share^2 / n_s^2 with n_eff ≈ n); a segment already over
      represented on the proposal adds less to the overall result than an under-represented one.
    A segment without a share in the settings is taken at its share of this proposal's votes
    (gain 1). Without a segment (or with ``apt_segment_focus`` off), the overall index alone.
    """
    epsilon = settings.apt_epsilon
    overall = apt_index(candidate.tally, epsilon)
    if segment is None or not settings.apt_segment_focus:
        return overall
    tally = candidate.segment_tallies.get(segment, EMPTY_TALLY)
    ratio = (candidate.tally.votes + 1.0) / (tally.votes + 1.0)
    share = settings.segment_shares.get(segment) or min(1.0, 1.0 / ratio)
    gain = min(_MAX_GAIN, (share * ratio) ** 2)
    return min(apt_index(tally, epsilon) / math.sqrt(share), overall / gain)


def _floor_then_ranked(
    candidates: Sequence[Candidate],
    voted: AbstractSet[int],
    size: int,
    settings: RotationSettings,
    rng: random.Random,
    memo: dict[Candidate, tuple[int, float]],
    rank_key: Callable[[Candidate], float],
) -> list[int]:
    """The cards of apt and kg: the proposals under the floor (fewest votes first, oldest first),
    then the others in rotation by ``rank_key``, lowest first; ties fall at random."""
    candidates = _rotated(candidates, rng)
    under_floor: list[tuple[float, int, int]] = []
    ranked: list[tuple[float, int]] = []
    for position, c in enumerate(candidates):
        if c.proposal_id in voted:
            continue
        entry = memo.get(c)
        if entry is None:
            kind = standing(c, settings)
            key = float(c.tally.votes) if kind == UNDER_FLOOR else rank_key(c)
            entry = memo[c] = (kind, key)
        if entry[0] == IN_ROTATION:
            ranked.append((entry[1], position))
        elif entry[0] == UNDER_FLOOR:
            under_floor.append((entry[1], c.created_order, position))
    sequence = _Sequence(size)
    sequence.fill(_popping(under_floor, candidates), size)
    sequence.fill(_popping(ranked, candidates), size)
    return sequence.finish()


def choose_apt(
    candidates: Sequence[Candidate],
    segment: str | None,
    voted: AbstractSet[int],
    size: int = 12,
    settings: RotationSettings = DEFAULT_SETTINGS,
    rng: random.Random | None = None,
) -> list[int]:
    """Floor first (fewest votes first, oldest first), then lowest ``apt_priority``; ties random."""
    share = settings.segment_shares.get(segment) if segment is not None else None
    memo = _memo(
        ("apt", segment, share, settings.apt_epsilon, settings.apt_segment_focus)
        + _settings_key(settings),
        len(candidates),
    )
    return _floor_then_ranked(
        candidates,
        voted,
        size,
        settings,
        rng or random.Random(),
        memo,
        lambda c: apt_priority(c, segment, settings),
    )


# --------------------------------------------------------------------------- knowledge gradient

_MIN_VARIANCE = 0.02  # a rate's variance per vote is taken at least this (rates near 0 or 1)
_SQRT_2PI = math.sqrt(2.0 * math.pi)
_LOG_2PHI0 = math.log(2.0 / _SQRT_2PI)  # log 2φ(0)


def standardised_gap(agree: float, disagree: float, neutral: float) -> float:
    """Distance from rates to the nearest rates of another zone, each rate's move counted in
    standard deviations of one vote, sqrt(r (1 − r)) (largest coordinate move): the z-score of
    the zone from n votes is this × sqrt(n)."""
    rates = (agree, disagree, neutral)
    zone = _zone(*rates)
    cells = (_AD_CELLS, _AD_CELLS, _U_CELLS)
    moves = []
    for rate, bounds in zip(rates, cells, strict=True):
        sd = math.sqrt(max(rate * (1.0 - rate), _MIN_VARIANCE))
        moves.append([max(lo - rate, rate - hi, 0.0) / sd for lo, hi in bounds])
    return min(
        max(moves[0][i], moves[1][j], moves[2][k])
        for i in range(3)
        for j in range(3)
        for k in range(2)
        if _ZONE_BY_CELL[i][j][k] != zone
    )


def log_normal_loss(u: float) -> float:
    """log L(u), L(u) = φ(u) − u (1 − Φ(u)) = E[(Z − u)+], the standard normal loss function
    (u >= 0); its asymptotic series past 7, where the difference loses its digits."""
    if u < 7.0:
        tail = 0.5 * math.erfc(u / math.sqrt(2.0))
        return math.log(math.exp(-u * u / 2.0) / _SQRT_2PI - u * tail)
    v = 1.0 / (u * u)
    series = 1.0 - 3.0 * v + 15.0 * v * v - 105.0 * v**3
    return -u * u / 2.0 - math.log(_SQRT_2PI) + math.log(v) + math.log(series)


def overall_view(
    candidate: Candidate, settings: RotationSettings = DEFAULT_SETTINGS
) -> tuple[float, float, float, float]:
    """(agree, disagree, neutral, n) of the overall result as results estimate it: counts
    post-stratified on ``segment_shares`` (as ``pnyx.results.scores.poststratify``: proportions
    sum_s share_s k_s / n_s, size Kish's 1 / sum_s share_s^2 / n_s, segments without votes left
    out), rates (k + 0.33)/(n + 1). The raw overall tally without shares, or when some votes have
    no segment of the shares (voters of unknown territory)."""
    shares = settings.segment_shares
    tally = candidate.tally
    present = [
        (shares[s], t)
        for s, t in candidate.segment_tallies.items()
        if t.votes > 0 and shares.get(s, 0.0) > 0
    ]
    if not present or sum(t.votes for _, t in present) != tally.votes:
        n = float(tally.votes)
        counts: tuple[float, ...] = tuple(tally)
    else:
        weight_sum = sum(w for w, _ in present)
        n = 1.0 / sum((w / weight_sum) ** 2 / t.votes for w, t in present)
        counts = tuple(
            sum(n * w / weight_sum * t[i] / t.votes for w, t in present) for i in range(3)
        )
    n1 = n + 1.0
    return (
        (counts[0] + VOTE_PRIOR) / n1,
        (counts[1] + VOTE_PRIOR) / n1,
        (counts[2] + VOTE_PRIOR) / n1,
        n,
    )


def kg_gain(gap: float, n: float, weight: float = 1.0) -> float:
    """log of the expected rise in the probability that the point zone is right, from one vote
    worth ``weight`` votes on a proposal with ``n`` votes at standardised gap ``gap``.

    Bayes with a flat prior on the signed distance d to the zone's boundary: d ~ N(μ, 1/n) in
    vote standard deviations, μ = gap, and the point zone is right with probability Φ(μ sqrt n).
    After m = ``weight`` more votes, μ' ~ N(μ, 1/n − 1/(n + m)) and the probability becomes
    Φ(|μ'| sqrt(n + m)); its mean exceeds Φ(μ sqrt n) only through the chance of crossing the
    boundary: with Y = μ' sqrt(n + m) ~ N(a, b^2), b = sqrt(m/n), the rise is
    E[(1 − 2Φ(Y)) 1{Y < 0}] ≈ 2φ(0) b L(a/b), a/b ≈ gap n / sqrt(m). Large for a near-tie on few
    votes, shrinking as 1/sqrt(n) when more votes leave it a tie, and vanishing fast once gap × n
    is large: a clear proposal gets no more votes than the floor gave it.
    """
    n = max(n, 1.0)
    return _LOG_2PHI0 + log_normal_loss(gap * n / math.sqrt(weight)) + 0.5 * math.log(weight / n)


def kg_priority(
    candidate: Candidate, segment: str | None, settings: RotationSettings = DEFAULT_SETTINGS
) -> float:
    """The kg value of one more vote on ``candidate`` by a voter of ``segment`` (log, highest
    first): ``kg_gain`` on the overall result as results estimate it (``overall_view``). A vote
    of a segment under-represented on the proposal adds more to the post-stratified estimate than
    one of an over-represented segment: it counts as (share × n / n_segment)^2 votes (Kish, as in
    ``apt_priority``), capped at 4; 1 without a segment or a share."""
    agree, disagree, neutral, n = overall_view(candidate, settings)
    weight = 1.0
    share = settings.segment_shares.get(segment) if segment is not None else None
    if share:
        tally = candidate.segment_tallies.get(segment, EMPTY_TALLY)
        ratio = (candidate.tally.votes + 1.0) / (tally.votes + 1.0)
        weight = min(_MAX_GAIN, (share * ratio) ** 2)
    return kg_gain(standardised_gap(agree, disagree, neutral), n, weight)


def choose_kg(
    candidates: Sequence[Candidate],
    segment: str | None,
    voted: AbstractSet[int],
    size: int = 12,
    settings: RotationSettings = DEFAULT_SETTINGS,
    rng: random.Random | None = None,
) -> list[int]:
    """Floor first (fewest votes first, oldest first), then highest ``kg_priority``; ties
    random.

    Why this index (the default). Protocol: candidate indices, each past the same floor rule,
    each on the same inputs (``overall_view``, ``standardised_gap``, the Kish weight w of the
    voter's segment), none reading true rates, were run in the simulator (1,000 proposals, three
    segments, 60 votes per proposal) on selection seeds 100–129, disjoint from the benchmark's
    (0–4; 0–9 for the ten-seed figure); the default is the lowest mean overall zone error there,
    and only then measured on the benchmark's seeds. Candidates (rank, per vote):
    - kg: ``kg_gain(gap, n, w)``, one vote of look-ahead;
    - kg/3: ``kg_gain(gap, n, 3w)``, three votes of look-ahead;
    - kg*: max over m = 1, 2, 4 … 1024 of (``kg_gain(gap, n, m w)`` − log m), the best rise per
      vote over any look-ahead (Frazier & Powell's KG(*));
    - stopping: I(gap sqrt n) × w / n, the cost per vote at which one more vote and stopping are
      worth the same in the Bayes optimal-stopping problem of one proposal (reward: probability
      of the right zone, the model of ``kg_gain``; I solved numerically by backward induction on
      a grid, the problem being scale-free in n): a Gittins/Whittle-style index of the budget's
      Lagrangian;
    - n×gap: gap × n / sqrt(w) lowest first (kg's large-deviation exponent without its 1/sqrt n).
    Mean overall zone error, 30 selection seeds (± standard error; difference to kg paired):
      kg .1056 ± .0015 (0.682 × uniform); kg/3 .1061 (+.0005 ± .0021); stopping .1062
      (+.0007 ± .0022); n×gap .1063 (+.0008 ± .0019); kg* .1084 (+.0028 ± .0019); uniform .1547.
    On the first twelve seeds (100–111) alone kg/3 led (.1050 against .1059): kg, kg/3, the
    stopping index and n×gap are tied within noise, kg* spends too much on ties; none comes
    near 0.6 × uniform. kg stays: lowest on the selection seeds, and the simplest.
    """
    shares = tuple(sorted(settings.segment_shares.items()))
    memo = _memo(("kg", segment, shares) + _settings_key(settings), len(candidates))
    return _floor_then_ranked(
        candidates,
        voted,
        size,
        settings,
        rng or random.Random(),
        memo,
        lambda c: -kg_priority(c, segment, settings),
    )


STRATEGIES: dict[str, Strategy] = {
    "kg": choose_kg,
    "apt": choose_apt,
    "makeorg": choose_makeorg,
    "uniform": choose_uniform,
}
DEFAULT_STRATEGY = "kg"
