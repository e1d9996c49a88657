"""A seeded synthetic consultation to compare rotation strategies at the same vote budget.

The truth: every proposal has true agree/disagree/neutral rates in each territory segment
(rural < 20k inhabitants, medium 20k–100k, urban > 100k). Voters arrive one at a time with a
segment drawn from the population shares, ask for sequences of cards through a ``router`` and
vote on each card with their segment's true rates, until the budget is spent. The report compares
the zones estimated at the end with the true zones.

The router is a plain callable ``router(voter_id, segment, voted_ids, size) -> [proposal ids]``
and every vote goes through ``record_vote(voter_id, segment, proposal_id, key)`` when given, so
the same run can drive the real service (HTTP or Redis) instead of a strategy in memory.
"""

from __future__ import annotations

import math
import random
import statistics
from collections.abc import Callable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field

from pnyx.results.scores import VoteCounts, certain_zone, point_zone, poststratify, zone_of
from pnyx.rotation.strategies import (
    DEFAULT_STRATEGY,
    STRATEGIES,
    Candidate,
    RotationSettings,
    Strategy,
    Tally,
)

SEGMENTS = ("rural", "medium", "urban")
# Roughly France's population by size of commune: about 55 % live in communes under 20,000
# inhabitants, 27 % in towns of 20,000–100,000, 18 % in cities over 100,000.
DEFAULT_SHARES: Mapping[str, float] = {"rural": 0.55, "medium": 0.27, "urban": 0.18}
THEMES = (
    "mobility",
    "health",
    "housing",
    "education",
    "jobs",
    "environment",
    "energy",
    "safety",
    "culture",
    "sport",
    "agriculture",
    "digital",
    "democracy",
    "social",
    "economy",
    "youth",
    "elderly",
    "water",
    "tourism",
    "services",
)
# Moderators tag proposals with keywords finer than themes: three per theme here.
TAGS = tuple(f"{theme}-{k}" for theme in THEMES for k in (1, 2, 3))
VOTE_KEYS = ("agree", "disagree", "neutral")
FLOOR = 10
CEILING = 100

Rates3 = tuple[float, float, float]
Router = Callable[[int, str | None, AbstractSet[int], int], list[int]]
VoteHook = Callable[[int, str | None, int, str], None]


@dataclass(frozen=True, slots=True)
class TrueProposal:
    """A synthetic proposal and its true vote rates (agree, disagree, neutral) per segment."""

    proposal_id: int
    author_id: int
    tags: frozenset[str]
    rates: Mapping[str, Rates3]


@dataclass(frozen=True, slots=True)
class Population:
    """The truth of one synthetic consultation."""

    proposals: tuple[TrueProposal, ...]
    shares: Mapping[str, float]

    def overall_rates(self, proposal: TrueProposal) -> Rates3:
        """Rates of the whole population: the segments' rates weighted by their shares."""
        a = d = u = 0.0
        for segment, share in self.shares.items():
            ra, rd, ru = proposal.rates[segment]
            a, d, u = a + share * ra, d + share * rd, u + share * ru
        return a, d, u


@dataclass(frozen=True, slots=True)
class SimulationReport:
    """What a run achieved with its budget."""

    strategy: str
    seed: int
    n_proposals: int
    votes_spent: int
    voters: int
    zone_error: float  # share of proposals whose estimated overall zone is not the true one
    zone_error_by_segment: Mapping[str, float]
    votes_min: int
    votes_median: float
    votes_max: int
    floor_before_ceiling: bool  # every proposal had FLOOR votes before any passed CEILING
    declared_share: float  # share of (proposal, overall or segment) with a certain zone
    declared_error: float  # share of those certain zones that are wrong
    true_zone_shares: Mapping[str, float] = field(default_factory=dict)


# --------------------------------------------------------------------------- the truth


def _softmax(logits: Sequence[float]) -> Rates3:
    top = max(logits)
    weights = [math.exp(x - top) for x in logits]
    total = sum(weights)
    return weights[0] / total, weights[1] / total, weights[2] / total


def make_population(
    n_proposals: int, seed: int, shares: Mapping[str, float] = DEFAULT_SHARES
) -> Population:
    """Draw a consultation's truth.

    For each proposal, overall rates first: neutral ~ Beta(2, 5) (mean .29, about one in five
    at .4 or more: limbo), the decided voters split agree/disagree with agree share ~ Beta(1.6, 1)
    (consultations gather more agreement than rejection). Each segment then departs from them on
    the log scale: Normal(0, 0.25) on each of the three log-rates for most proposals, Normal(0, 0.8)
    on agree and disagree for one in four ("territorial" proposals, e.g. on cars or farming).
    All four zones occur (overall, about consensus .3, controversy .35, limbo .25, rejection
    .1), and the continuous draw puts many proposals near a threshold: about 30 % of them, and
    of the (proposal, segment) pairs, lie within 0.05 of another zone (largest coordinate move).
    That share is not a choice made for or against any strategy: the zone thresholds (agree or
    disagree .6, .15; neutral .4) are set by the product, not by the voters, and any smooth
    distribution of rates puts a share of proposals within δ of them that grows as 2δ × its
    density there; the thresholds sit in the bulk of plausible rates (most proposals gather a
    majority of agreement, a fifth to a third of neutral votes), where that density is high.
    Nothing in what is known of consultations says rates avoid the thresholds, so the
    generator does not thin them out.
    Authors: about one for every 1.3 proposals; one or two tags among sixty keywords.
    """
    rng = random.Random(f"population-{seed}")
    n_authors = max(1, round(n_proposals / 1.3))
    proposals = []
    for proposal_id in range(1, n_proposals + 1):
        neutral = rng.betavariate(2.0, 5.0)
        agree_share = rng.betavariate(1.6, 1.0)
        base = (
            math.log(max((1.0 - neutral) * agree_share, 1e-4)),
            math.log(max((1.0 - neutral) * (1.0 - agree_share), 1e-4)),
            math.log(max(neutral, 1e-4)),
        )
        territorial = rng.random() < 0.25
        rates: dict[str, Rates3] = {}
        for segment in shares:
            if territorial:
                shift = (rng.gauss(0.0, 0.8), rng.gauss(0.0, 0.8), rng.gauss(0.0, 0.25))
            else:
                shift = (rng.gauss(0.0, 0.25), rng.gauss(0.0, 0.25), rng.gauss(0.0, 0.25))
            rates[segment] = _softmax([b + s for b, s in zip(base, shift, strict=True)])
        tags = frozenset(rng.sample(TAGS, rng.choice((1, 1, 2))))
        proposals.append(TrueProposal(proposal_id, rng.randrange(n_authors), tags, rates))
    return Population(tuple(proposals), dict(shares))


# --------------------------------------------------------------------------- the run


class _Ledger:
    """Trusted votes per proposal and segment, kept as rotation candidates."""

    def __init__(self, population: Population) -> None:
        self.segments = tuple(population.shares)
        self.position = {p.proposal_id: i for i, p in enumerate(population.proposals)}
        self.counts = [{s: [0, 0, 0] for s in self.segments} for _ in population.proposals]
        self.candidates: list[Candidate] = [
            Candidate(
                proposal_id=p.proposal_id,
                author_id=p.author_id,
                tags=p.tags,
                created_order=i,
                tally=Tally(),
                segment_tallies={s: Tally() for s in self.segments},
            )
            for i, p in enumerate(population.proposals)
        ]

    def record(self, proposal_id: int, segment: str, key_index: int) -> int:
        """Count one vote; return the proposal's number of votes."""
        position = self.position[proposal_id]
        counts = self.counts[position][segment]
        counts[key_index] += 1
        old = self.candidates[position]
        overall = list(old.tally)
        overall[key_index] += 1
        segment_tallies = dict(old.segment_tallies)
        segment_tallies[segment] = Tally(*counts)
        total = old.total_votes + 1
        self.candidates[position] = Candidate(
            old.proposal_id,
            old.author_id,
            old.tags,
            old.created_order,
            Tally(*overall),
            segment_tallies,
            total,
        )
        return total


def strategy_router(
    strategy: Strategy,
    candidates: Callable[[], Sequence[Candidate]],
    settings: RotationSettings,
    rng: random.Random,
) -> Router:
    """A router that asks ``strategy`` for the cards, on the candidates of the moment."""

    def router(voter_id: int, segment: str | None, voted: AbstractSet[int], size: int) -> list[int]:
        return strategy(candidates(), segment, voted, size, settings, rng)

    return router


def simulate(
    strategy_name: str = DEFAULT_STRATEGY,
    n_proposals: int = 1000,
    budget_per_proposal: float = 60,
    seed: int = 0,
    *,
    population: Population | None = None,
    shares: Mapping[str, float] = DEFAULT_SHARES,
    router: Router | None = None,
    record_vote: VoteHook | None = None,
    settings: RotationSettings | None = None,
    sequence_size: int = 12,
    another_sequence: float = 0.35,
) -> SimulationReport:
    """Run one consultation until ``budget_per_proposal`` × proposals votes are spent.

    Each voter takes a sequence, votes on every card, and takes another with probability
    ``another_sequence``. ``router`` overrides the strategy (``strategy_name`` then only labels
    the report); ``record_vote`` sees every vote. The overall zone is estimated on post-stratified
    counts (segments weighted by their population shares), so that routing votes by segment does
    not bias it.
    """
    population = population or make_population(n_proposals, seed, shares)
    shares = population.shares
    segments = tuple(shares)
    settings = settings or RotationSettings(segments=segments, segment_shares=dict(shares))
    ledger = _Ledger(population)
    if router is None:
        router = strategy_router(
            STRATEGIES[strategy_name],
            lambda: ledger.candidates,
            settings,
            random.Random(f"router-{seed}"),
        )
    # Separate streams: the voters (segments, how many sequences) are the same whatever the
    # strategy; their votes come from a stream of their own.
    voters_rng = random.Random(f"voters-{seed}")
    votes_rng = random.Random(f"votes-{seed}")
    truth = {p.proposal_id: p for p in population.proposals}
    weights = [shares[s] for s in segments]

    budget = round(budget_per_proposal * len(population.proposals))
    spent = 0
    voters = 0
    under_floor = len(population.proposals)
    floor_before_ceiling = True
    idle_voters = 0
    while spent < budget and idle_voters < 20:
        voters += 1
        voter_id = voters
        segment = voters_rng.choices(segments, weights)[0]
        voted: set[int] = set()
        while spent < budget:
            cards = router(voter_id, segment, frozenset(voted), sequence_size)
            if not cards:
                break
            for proposal_id in cards:
                if spent >= budget or proposal_id in voted:
                    continue
                agree, disagree, _ = truth[proposal_id].rates[segment]
                draw = votes_rng.random()
                key_index = 0 if draw < agree else (1 if draw < agree + disagree else 2)
                voted.add(proposal_id)
                spent += 1
                votes = ledger.record(proposal_id, segment, key_index)
                if votes == FLOOR:
                    under_floor -= 1
                elif votes == CEILING + 1 and under_floor > 0:
                    floor_before_ceiling = False
                if record_vote is not None:
                    record_vote(voter_id, segment, proposal_id, VOTE_KEYS[key_index])
            if voters_rng.random() >= another_sequence:
                break
        idle_voters = idle_voters + 1 if not voted else 0

    return _report(
        strategy_name, seed, population, ledger, spent, voters, floor_before_ceiling, settings
    )


def _report(
    strategy_name: str,
    seed: int,
    population: Population,
    ledger: _Ledger,
    spent: int,
    voters: int,
    floor_before_ceiling: bool,
    settings: RotationSettings,
) -> SimulationReport:
    segments = ledger.segments
    wrong_overall = 0
    wrong_by_segment = dict.fromkeys(segments, 0)
    declared = declared_wrong = 0
    true_zones: dict[str, int] = {}
    for position, proposal in enumerate(population.proposals):
        counts = {
            s: VoteCounts(*ledger.counts[position][s]) for s in segments
        }  # agree, disagree, neutral
        views = [(poststratify(counts, population.shares), population.overall_rates(proposal))]
        views += [(counts[s], proposal.rates[s]) for s in segments]
        for index, (estimate, true_rates) in enumerate(views):
            true_zone = zone_of(*true_rates)
            wrong = point_zone(estimate) != true_zone
            if index == 0:
                wrong_overall += wrong
                true_zones[true_zone.value] = true_zones.get(true_zone.value, 0) + 1
            else:
                wrong_by_segment[segments[index - 1]] += wrong
            sure = certain_zone(estimate, settings.confidence)
            if sure is not None:
                declared += 1
                declared_wrong += sure != true_zone
    n = len(population.proposals)
    votes = [c.total_votes for c in ledger.candidates]
    return SimulationReport(
        strategy=strategy_name,
        seed=seed,
        n_proposals=n,
        votes_spent=spent,
        voters=voters,
        zone_error=wrong_overall / n,
        zone_error_by_segment={s: wrong_by_segment[s] / n for s in segments},
        votes_min=min(votes),
        votes_median=statistics.median(votes),
        votes_max=max(votes),
        floor_before_ceiling=floor_before_ceiling,
        declared_share=declared / (n * (len(segments) + 1)),
        declared_error=declared_wrong / declared if declared else 0.0,
        true_zone_shares={zone: count / n for zone, count in sorted(true_zones.items())},
    )
