"""Rotation strategies (pnyx.rotation.strategies) and the simulator (pnyx.rotation.simulation)."""

from __future__ import annotations

import math
import random
from collections import Counter
from statistics import NormalDist

import pytest

from pnyx.results import scores
from pnyx.rotation import strategies
from pnyx.rotation.simulation import SEGMENTS, make_population, simulate
from pnyx.rotation.strategies import (
    DEFAULT_STRATEGY,
    STRATEGIES,
    Candidate,
    RotationSettings,
    Tally,
    apt_priority,
    is_certain,
    is_settled,
    kg_gain,
    kg_priority,
    log_normal_loss,
    overall_view,
    standardised_gap,
)

SETTINGS = RotationSettings(segments=SEGMENTS, segment_shares={"rural": 0.5, "medium": 0.3})
ALL = sorted(STRATEGIES)


def split(tally: Tally, shares: tuple[float, float, float] = (0.5, 0.3, 0.2)) -> dict[str, Tally]:
    """A tally spread over the three segments in the given proportions."""
    parts = {}
    for segment, share in zip(SEGMENTS, shares, strict=True):
        parts[segment] = Tally(*(round(k * share) for k in tally))
    return parts


def candidate(
    proposal_id: int,
    tally: Tally = strategies.EMPTY_TALLY,
    *,
    author_id: int | None = None,
    tags: frozenset[str] = frozenset(),
    segment_tallies: dict[str, Tally] | None = None,
    total_votes: int | None = None,
) -> Candidate:
    return Candidate(
        proposal_id=proposal_id,
        author_id=proposal_id if author_id is None else author_id,
        tags=tags,
        created_order=proposal_id,
        tally=tally,
        segment_tallies=split(tally) if segment_tallies is None else segment_tallies,
        total_votes=tally.votes if total_votes is None else total_votes,
    )


def mixed_pool(rng: random.Random, size: int = 300) -> list[Candidate]:
    """Candidates of every kind: new, tested, near a threshold or clear, shared authors and tags."""
    pool = []
    for pid in range(1, size + 1):
        n = rng.choice((0, 3, 9, 20, 40, 80, 200))
        agree = round(n * rng.choice((0.3, 0.5, 0.6, 0.8, 0.95)))
        disagree = round((n - agree) * rng.random())
        tally = Tally(agree, disagree, n - agree - disagree)
        tags = frozenset(rng.sample("abcdefgh", rng.choice((1, 2))))
        pool.append(candidate(pid, tally, author_id=rng.randrange(size // 3), tags=tags))
    return pool


@pytest.mark.parametrize("name", ALL)
def test_never_a_proposal_the_voter_voted_on(name: str):
    rng = random.Random(1)
    pool = mixed_pool(rng)
    voted = set(range(1, 300, 2))
    for segment in (None, *SEGMENTS):
        chosen = STRATEGIES[name](pool, segment, voted, 12, SETTINGS, rng)
        assert chosen
        assert not set(chosen) & voted


@pytest.mark.parametrize("name", ALL)
def test_one_proposal_per_author_and_no_repeat(name: str):
    rng = random.Random(2)
    pool = mixed_pool(rng, 120)  # 40 authors for 120 proposals
    authors = {c.proposal_id: c.author_id for c in pool}
    for _ in range(20):
        chosen = STRATEGIES[name](pool, "rural", set(), 12, SETTINGS, rng)
        assert len(chosen) == 12
        assert len(set(chosen)) == len(chosen)
        assert len({authors[pid] for pid in chosen}) == len(chosen)


@pytest.mark.parametrize("name", ALL)
def test_cap_and_settled_proposals_leave_rotation(name: str):
    capped = [candidate(pid, Tally(30, 20, 10), total_votes=1500) for pid in range(1, 11)]
    clear = Tally(900, 50, 50)
    settled = [
        candidate(pid, clear, segment_tallies={s: clear for s in SEGMENTS}) for pid in range(11, 21)
    ]
    assert all(is_settled(c, SETTINGS) for c in settled)
    open_ = [candidate(pid, Tally(30, 20, 10)) for pid in range(21, 26)]
    rng = random.Random(3)
    chosen = STRATEGIES[name](capped + settled + open_, None, set(), 12, SETTINGS, rng)
    assert sorted(chosen) == [21, 22, 23, 24, 25]


def test_a_proposal_certain_overall_but_not_in_a_segment_stays_in_rotation():
    clear = Tally(900, 50, 50)
    unsure = {**{s: clear for s in SEGMENTS}, "urban": Tally(6, 3, 1)}
    assert not is_settled(candidate(1, clear, segment_tallies=unsure), SETTINGS)
    assert is_settled(candidate(1, clear, segment_tallies=unsure), RotationSettings())


@pytest.mark.parametrize("name", ALL)
def test_reproducible_with_a_seed(name: str):
    pool = mixed_pool(random.Random(4))
    first = [STRATEGIES[name](pool, "urban", {5, 6}, 12, SETTINGS, random.Random(9))]
    again = [STRATEGIES[name](pool, "urban", {5, 6}, 12, SETTINGS, random.Random(9))]
    assert first == again


@pytest.mark.parametrize("name", ALL)
def test_tags_do_not_repeat_while_alternatives_exist(name: str):
    # 12 distinct tags among 40 proposals, each tag on several proposals.
    pool = [
        candidate(pid, Tally(6 * (pid % 3), 3, 3), tags=frozenset({f"t{pid % 12}"}))
        for pid in range(1, 41)
    ]
    chosen = STRATEGIES[name](pool, None, set(), 12, SETTINGS, random.Random(5))
    tags = Counter(next(iter(c.tags)) for c in pool if c.proposal_id in chosen)
    assert len(chosen) == 12
    assert max(tags.values()) == 1
    # With a single tag for all, the sequence is still full.
    same = [candidate(pid, Tally(8, 3, 3), tags=frozenset({"x"})) for pid in range(1, 41)]
    assert len(STRATEGIES[name](same, None, set(), 12, SETTINGS, random.Random(5))) == 12


@pytest.mark.parametrize("name", ["apt", "kg"])
def test_apt_and_kg_serve_the_floor_first_fewest_votes_first(name: str):
    tested = [candidate(pid, Tally(12, 10, 3)) for pid in range(1, 101)]
    new = [candidate(100 + k, Tally(k, 0, 0)) for k in range(10)]  # 0..9 votes
    chosen = STRATEGIES[name](tested + new, "rural", set(), 12, SETTINGS, random.Random(6))
    assert chosen[:10] == [100, 101, 102, 103, 104, 105, 106, 107, 108, 109]
    assert all(pid <= 100 for pid in chosen[10:])


def test_apt_prefers_proposals_near_a_threshold_uniform_does_not():
    near = Tally(30, 12, 8)  # agree ≈ .6: consensus or controversy
    clear = Tally(30, 2, 3)  # agree ≈ .85: certain overall, not yet in every segment
    pool = [candidate(pid, near if pid % 2 else clear) for pid in range(1, 201)]
    picks = {"apt": 0, "uniform": 0}
    for name in picks:
        rng = random.Random(7)
        for _ in range(30):
            chosen = STRATEGIES[name](pool, None, set(), 12, SETTINGS, rng)
            picks[name] += sum(pid % 2 for pid in chosen)
    assert picks["apt"] == 30 * 12
    assert 0.35 < picks["uniform"] / (30 * 12) < 0.65


def test_apt_follows_the_voters_segment():
    overall = Tally(40, 5, 5)  # clear overall
    # Odd ids: rural voters split on them; even ids: urban voters split on them.
    rural_split = {"rural": Tally(12, 6, 2), "medium": Tally(12, 1, 1), "urban": Tally(16, 0, 0)}
    urban_split = {"rural": Tally(25, 0, 0), "medium": Tally(10, 1, 1), "urban": Tally(5, 4, 4)}
    pool = [
        candidate(pid, overall, segment_tallies=rural_split if pid % 2 else urban_split)
        for pid in range(1, 101)
    ]
    rural = STRATEGIES["apt"](pool, "rural", set(), 12, SETTINGS, random.Random(8))
    urban = STRATEGIES["apt"](pool, "urban", set(), 12, SETTINGS, random.Random(8))
    assert all(pid % 2 == 1 for pid in rural)
    assert all(pid % 2 == 0 for pid in urban)
    c = pool[0]
    assert apt_priority(c, "rural", SETTINGS) < apt_priority(c, "urban", SETTINGS)
    assert apt_priority(c, None, SETTINGS) == strategies.apt_index(c.tally, SETTINGS.apt_epsilon)


def test_makeorg_mixes_new_controversial_and_top():
    new = [candidate(pid, Tally(2, 1, 0)) for pid in range(1, 51)]
    controversial = [candidate(pid, Tally(20, 20, 5)) for pid in range(51, 61)]
    top = [candidate(pid, Tally(40, 4, 6)) for pid in range(61, 161)]
    rng = random.Random(10)
    counts = Counter()
    for _ in range(50):
        for pid in STRATEGIES["makeorg"](new + controversial + top, None, set(), 12, SETTINGS, rng):
            counts["new" if pid <= 50 else ("controversial" if pid <= 60 else "top")] += 1
    assert counts["new"] == 50 * 4  # 30 % of 12, rounded
    assert counts["controversial"] >= 50  # the most controversial slot, and some tops
    assert counts["top"] >= 50 * 6


def test_makeorg_serves_new_proposals_oldest_first():
    new = [candidate(pid, Tally(pid % 5, 0, 0)) for pid in range(1, 31)]
    tested = [candidate(pid, Tally(30, 5, 5)) for pid in range(31, 81)]
    chosen = STRATEGIES["makeorg"](new + tested, None, set(), 12, SETTINGS, random.Random(1))
    assert sorted(pid for pid in chosen if pid <= 30) == [1, 2, 3, 4]


@pytest.mark.parametrize("name", ALL)
def test_nothing_to_serve(name: str):
    assert STRATEGIES[name]([], None, set(), 12, SETTINGS, random.Random(0)) == []
    pool = [candidate(1), candidate(2)]
    assert STRATEGIES[name](pool, None, {1, 2}, 12, SETTINGS, random.Random(0)) == []
    assert sorted(STRATEGIES[name](pool, "rural", set(), 12, SETTINGS, random.Random(0))) == [
        1,
        2,
    ]


def test_registry():
    assert set(STRATEGIES) == {"kg", "apt", "makeorg", "uniform"}
    assert DEFAULT_STRATEGY == "kg"


def test_the_default_was_chosen_on_seeds_the_benchmark_does_not_report():
    from tests.benchmarks import bench_rotation as bench

    reported = set(bench.SEEDS) | set(range(bench.MAX_SEEDS))
    assert not reported & set(bench.SELECTION_SEEDS)
    assert len(bench.SELECTION_SEEDS) >= 12
    assert "kg" in bench.CANDIDATES and len(bench.CANDIDATES) >= 4


def test_the_selection_compared_kg_itself():
    """The benchmark's candidate "kg" (``--select``) picks the cards the strategy picks: the
    figures of ``choose_kg``'s docstring are those of the default strategy."""
    from tests.benchmarks import bench_rotation as bench

    pool = [c for c in mixed_pool(random.Random(21), 400) if c.tally.votes >= 10]
    for segment in (None, *SEGMENTS):
        for seed in range(3):
            expected = STRATEGIES["kg"](
                pool, segment, {5, 6}, 12, bench.SETTINGS, random.Random(seed)
            )
            chosen = bench.candidate_strategy("kg")(
                pool, segment, {5, 6}, 12, bench.SETTINGS, random.Random(seed)
            )
            assert chosen == expected


# --------------------------------------------------------------------------- kg


def test_normal_loss_function():
    phi = NormalDist()

    def loss(u: float) -> float:  # E[(Z - u)+] by the midpoint rule
        steps, top = 20000, u + 12.0
        width = (top - u) / steps
        return sum(
            (x - u) * phi.pdf(x) * width for x in (u + (i + 0.5) * width for i in range(steps))
        )

    for u in (0.0, 0.5, 1.0, 2.0, 4.0, 6.0):
        assert log_normal_loss(u) == pytest.approx(math.log(loss(u)), abs=1e-4)
    assert log_normal_loss(0.0) == pytest.approx(math.log(1 / math.sqrt(2 * math.pi)))
    # The asymptotic series takes over at 7 without a jump, and keeps decreasing.
    assert log_normal_loss(7.0 - 1e-9) == pytest.approx(log_normal_loss(7.0), abs=2e-3)
    values = [log_normal_loss(u / 4) for u in range(200)]
    assert all(a > b for a, b in zip(values, values[1:], strict=False))


def test_kg_gain_is_the_bayes_rise_of_the_probability_of_the_right_zone():
    """One vote's expected rise of Φ(|μ| sqrt n) under the flat-prior posterior, integrated."""
    phi = NormalDist()

    def exact(gap: float, n: int) -> float:
        z, rho = gap * math.sqrt(n), (n + 1) / n
        a, b = z * math.sqrt(rho), math.sqrt(rho - 1)
        steps = 4000
        mean = sum(
            phi.pdf(x) * phi.cdf(abs(a + b * x)) * 16 / steps
            for x in (-8 + 16 * (i + 0.5) / steps for i in range(steps))
        )
        return mean - phi.cdf(z)

    for n in (10, 20, 60, 200):
        for gap in (0.0, 0.02, 0.05, 0.1):
            rise = exact(gap, n)
            if rise > 1e-3:
                assert 0.95 < math.exp(kg_gain(gap, n)) / rise < 1.2, (n, gap)


def test_kg_gain_is_small_for_settled_proposals_and_shrinks_on_lasting_ties():
    # At a given size, the closer the better; a tie is worth less the more votes it has had...
    assert kg_gain(0.0, 40) > kg_gain(0.05, 40) > kg_gain(0.2, 40)
    assert kg_gain(0.0, 40) > kg_gain(0.0, 400)
    # ... and once gap × n is large, one vote can no longer change the zone: nothing left.
    assert kg_gain(0.3, 60) < math.log(1e-30)
    # A vote worth more (a segment under-represented on the proposal) is worth more.
    assert kg_gain(0.05, 40, 2.0) > kg_gain(0.05, 40, 1.0) > kg_gain(0.05, 40, 0.5)


def test_standardised_gap_counts_moves_in_standard_deviations():
    # agree .55 → .6 is 0.05 / sqrt(.55 × .45); the other rates are far from their thresholds.
    assert standardised_gap(0.55, 0.3, 0.15) == pytest.approx(0.05 / math.sqrt(0.55 * 0.45))
    assert standardised_gap(0.6, 0.3, 0.1) == 0.0
    rng = random.Random(13)
    for _ in range(500):
        agree, disagree = rng.random(), rng.random()
        neutral = rng.random()
        gap = standardised_gap(agree, disagree, neutral)
        margin = scores._margin(agree, disagree, neutral)
        assert margin / 0.5 - 1e-12 <= gap <= margin / math.sqrt(0.02) + 1e-12


def test_overall_view_is_the_post_stratified_estimate_of_results():
    shares = {"rural": 0.55, "medium": 0.27, "urban": 0.18}
    settings = RotationSettings(segments=SEGMENTS, segment_shares=shares)
    parts = {"rural": Tally(30, 5, 5), "medium": Tally(5, 10, 5), "urban": Tally(2, 2, 6)}
    overall = Tally(*(sum(t[i] for t in parts.values()) for i in range(3)))
    c = candidate(1, overall, segment_tallies=parts)
    expected = scores.poststratify({s: scores.VoteCounts(*t) for s, t in parts.items()}, shares)
    r = scores.rates(expected)
    assert overall_view(c, settings) == pytest.approx(
        (r.agree, r.disagree, r.neutral, expected.votes)
    )
    # Votes of voters without a known segment: the raw overall tally.
    more = candidate(
        1, Tally(overall.agree + 3, overall.disagree, overall.neutral), segment_tallies=parts
    )
    assert overall_view(more, settings)[3] == more.tally.votes
    assert overall_view(c, RotationSettings())[3] == overall.votes


def test_kg_leaves_clear_proposals_and_spends_on_close_ones():
    near = Tally(30, 12, 8)  # agree ≈ .6: consensus or controversy
    clear = Tally(30, 2, 3)  # agree ≈ .85
    pool = [candidate(pid, near if pid % 2 else clear) for pid in range(1, 201)]
    rng = random.Random(7)
    for segment in (None, *SEGMENTS):
        chosen = STRATEGIES["kg"](pool, segment, set(), 12, SETTINGS, rng)
        assert all(pid % 2 for pid in chosen)


def test_kg_keeps_serving_a_tie_that_apt_gives_up_and_drops_what_votes_already_show():
    """The difference with apt: a vote on a proposal whose zone 40 votes already show (agree .7,
    0.1 above the threshold) almost never changes it; one more on a tie, even at 200 votes, may.
    apt's ε ranks the tie after it."""
    tie = candidate(1, Tally(120, 40, 40))  # agree .6
    shown = candidate(2, Tally(28, 8, 4))  # agree .7
    assert kg_priority(tie, None, SETTINGS) > kg_priority(shown, None, SETTINGS)
    assert apt_priority(tie, None, SETTINGS) > apt_priority(shown, None, SETTINGS)


def test_kg_sends_a_voter_where_their_segment_is_missing():
    shares = {"rural": 0.55, "medium": 0.27, "urban": 0.18}
    settings = RotationSettings(segments=SEGMENTS, segment_shares=shares)
    overall = Tally(22, 10, 8)
    few_urban = {"rural": Tally(15, 6, 4), "medium": Tally(6, 3, 3), "urban": Tally(1, 1, 1)}
    many_urban = {"rural": Tally(6, 3, 3), "medium": Tally(6, 3, 3), "urban": Tally(10, 4, 2)}
    pool = [
        candidate(pid, overall, segment_tallies=few_urban if pid % 2 else many_urban)
        for pid in range(1, 101)
    ]
    urban = STRATEGIES["kg"](pool, "urban", set(), 12, settings, random.Random(8))
    rural = STRATEGIES["kg"](pool, "rural", set(), 12, settings, random.Random(8))
    assert all(pid % 2 == 1 for pid in urban)
    assert all(pid % 2 == 0 for pid in rural)


def test_zones_and_certainty_agree_with_the_scores_module():
    rng = random.Random(12)
    for _ in range(3000):
        n = rng.randint(0, 400)
        agree = rng.randint(0, n)
        disagree = rng.randint(0, n - agree)
        tally = Tally(agree, disagree, n - agree - disagree)
        counts = scores.VoteCounts(*tally)
        assert strategies.point_zone(tally) == scores.point_zone(counts).value
        assert is_certain(tally) == (scores.certain_zone(counts) is not None)
        assert strategies.zone_gap(tally) == pytest.approx(scores.zone_margin(counts))


# --------------------------------------------------------------------------- the simulator


def test_population_has_every_zone_and_proposals_near_thresholds():
    population = make_population(1000, seed=0)
    zones = Counter(
        scores.zone_of(*population.overall_rates(p)).value for p in population.proposals
    )
    assert set(zones) == {"consensus", "rejection", "limbo", "controversy"}
    assert min(zones.values()) >= 50
    near = sum(
        scores.zone_margin(scores.VoteCounts(*(1000 * r for r in p.rates[s]))) < 0.05
        for p in population.proposals
        for s in SEGMENTS
    )
    assert 0.2 < near / 3000 < 0.4
    assert make_population(50, seed=3) == make_population(50, seed=3)


def test_simulation_spends_the_budget_reproducibly():
    first = simulate("apt", n_proposals=120, budget_per_proposal=30, seed=1)
    assert first.votes_spent == 120 * 30
    assert first.votes_min >= 10
    assert first.floor_before_ceiling
    assert 0.0 <= first.zone_error <= 1.0
    assert set(first.zone_error_by_segment) == set(SEGMENTS)
    assert simulate("apt", n_proposals=120, budget_per_proposal=30, seed=1) == first


def test_simulation_drives_any_router_and_reports_each_vote():
    population = make_population(60, seed=2)
    served: list[tuple[int, str | None, int]] = []
    votes: list[tuple[int, str | None, int, str]] = []

    def router(voter_id: int, segment: str | None, voted: frozenset[int], size: int) -> list[int]:
        served.append((voter_id, segment, size))
        return [p.proposal_id for p in population.proposals if p.proposal_id not in voted][:size]

    report = simulate(
        "custom",
        budget_per_proposal=10,
        seed=2,
        population=population,
        router=router,
        record_vote=lambda *vote: votes.append(vote),
    )
    assert report.strategy == "custom"
    assert report.votes_spent == len(votes) == 600
    assert {v[3] for v in votes} == {"agree", "disagree", "neutral"}
    assert all(size == 12 for _, _, size in served)
    # Every voter's votes are on distinct proposals.
    per_voter = Counter((v[0], v[2]) for v in votes)
    assert max(per_voter.values()) == 1


def test_kg_beats_apt_and_uniform_in_a_small_simulation():
    kg = simulate("kg", n_proposals=300, budget_per_proposal=60, seed=5)
    apt = simulate("apt", n_proposals=300, budget_per_proposal=60, seed=5)
    uniform = simulate("uniform", n_proposals=300, budget_per_proposal=60, seed=5)
    assert kg.zone_error < apt.zone_error < uniform.zone_error
    assert kg.floor_before_ceiling
    assert kg.votes_min < apt.votes_min


def test_apt_beats_uniform_in_a_small_simulation():
    apt = simulate("apt", n_proposals=300, budget_per_proposal=60, seed=5)
    uniform = simulate("uniform", n_proposals=300, budget_per_proposal=60, seed=5)
    makeorg = simulate("makeorg", n_proposals=300, budget_per_proposal=60, seed=5)
    assert apt.zone_error < uniform.zone_error < makeorg.zone_error
    assert apt.floor_before_ceiling
    assert apt.votes_min < uniform.votes_min  # apt leaves clear proposals near the floor
