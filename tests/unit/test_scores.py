"""Scores and zones (pnyx.results.scores): baseline formulas, zone rules, intervals, certainty."""

from __future__ import annotations

import random

import pytest

from pnyx.results.scores import (
    NEEDS_MORE_VOTES,
    VoteCounts,
    Zone,
    certain_zone,
    point_zone,
    poststratify,
    rate_interval,
    rates,
    score,
    score_segments,
    zone_margin,
    zone_of,
    zone_probability,
    zone_result,
)

# A proposal as Make.org's results show them: votes and the qualifications of each key.
PUBLISHED = VoteCounts.from_mapping(
    {
        "agree": 60,
        "disagree": 30,
        "neutral": 10,
        "likeIt": 20,
        "doable": 15,
        "platitudeAgree": 5,
        "noWay": 10,
        "impossible": 5,
        "platitudeDisagree": 2,
        "doNotUnderstand": 1,
        "noOpinion": 4,
        "doNotCare": 3,
    }
)


def test_baseline_rates_use_the_published_priors():
    r = rates(PUBLISHED)
    assert r.agree == pytest.approx(60.33 / 101)
    assert r.disagree == pytest.approx(30.33 / 101)
    assert r.neutral == pytest.approx(10.33 / 101)
    assert r.like_it == pytest.approx(20.01 / 101)
    assert r.no_way == pytest.approx(10.01 / 101)
    assert r.do_not_care == pytest.approx(3.01 / 101)
    assert r.platitude == pytest.approx((5.01 + 2.01) / 101)


def test_rates_without_votes_are_the_priors():
    r = rates(VoteCounts())
    assert (r.agree, r.disagree, r.neutral) == pytest.approx((0.33, 0.33, 0.33))
    assert r.like_it == pytest.approx(0.01)


def test_top_controversy_and_rejection_scores():
    s = score(PUBLISHED)
    agree, disagree = 60.33 / 101, 30.33 / 101
    like_it, doable, no_way, impossible = 20.01 / 101, 15.01 / 101, 10.01 / 101, 5.01 / 101
    platitude = (5.01 + 2.01) / 101
    assert s.top_score == pytest.approx(agree + like_it + doable - no_way - impossible - platitude)
    assert s.controversy == pytest.approx(min(agree, disagree) + min(like_it, no_way))
    assert s.rejection == pytest.approx(
        disagree + no_way + impossible - like_it - doable - platitude
    )
    assert s.votes == 100


def test_from_mapping_accepts_api_and_field_names():
    assert VoteCounts.from_mapping({"likeIt": 3, "no_way": 2}) == VoteCounts(like_it=3, no_way=2)
    with pytest.raises(TypeError):
        VoteCounts.from_mapping({"loveIt": 1})


@pytest.mark.parametrize(
    ("agree", "disagree", "neutral", "zone"),
    [
        (0.65, 0.30, 0.05, Zone.CONSENSUS),  # agree >= .6
        (0.60, 0.35, 0.05, Zone.CONSENSUS),  # the bound is included
        (0.50, 0.14, 0.36, Zone.CONSENSUS),  # neutral < .4 and disagree < .15
        (0.62, 0.00, 0.38, Zone.CONSENSUS),
        (0.30, 0.65, 0.05, Zone.REJECTION),  # disagree >= .6
        (0.14, 0.50, 0.36, Zone.REJECTION),  # neutral < .4 and agree < .15
        (0.30, 0.10, 0.60, Zone.LIMBO),  # disagree < .15, but neutral >= .4: not consensus
        (0.10, 0.30, 0.60, Zone.LIMBO),
        (0.45, 0.15, 0.40, Zone.LIMBO),  # neutral = .4 is limbo
        (0.45, 0.35, 0.20, Zone.CONTROVERSY),
        (0.55, 0.15, 0.30, Zone.CONTROVERSY),  # disagree = .15 is not < .15
    ],
)
def test_zone_rules(agree: float, disagree: float, neutral: float, zone: Zone):
    assert zone_of(agree, disagree, neutral) is zone


def test_zone_rules_are_taken_in_order():
    # Consensus comes before rejection, rejection before limbo (rates need not sum to one here).
    assert zone_of(0.10, 0.10, 0.30) is Zone.CONSENSUS
    assert zone_of(0.61, 0.61, 0.0) is Zone.CONSENSUS
    assert zone_of(0.20, 0.60, 0.50) is Zone.REJECTION
    assert zone_of(0.60, 0.10, 0.50) is Zone.CONSENSUS


def test_point_zone_uses_the_smoothed_rates():
    # 6 agree of 10: raw .6, but (6 + .33)/11 = .575 < .6 and disagree (2.33/11) >= .15.
    assert point_zone(VoteCounts(agree=6, disagree=2, neutral=2)) is Zone.CONTROVERSY
    assert point_zone(VoteCounts(agree=7, disagree=2, neutral=1)) is Zone.CONSENSUS


def test_wilson_interval_coverage_on_synthetic_draws():
    rng = random.Random(7)
    trials, covered = 0, 0
    for p in (0.05, 0.15, 0.4, 0.6, 0.85):
        for n in (20, 100, 400):
            for _ in range(400):
                k = sum(rng.random() < p for _ in range(n))
                covered += p in rate_interval(k, n, 0.95)
                trials += 1
    assert 0.93 <= covered / trials <= 0.97


def _draw_voters(rng: random.Random, n: int) -> VoteCounts:
    """Voters with a known joint law: agree .55 (likeIt .4 of them, doable .3 independent,
    platitude .1), disagree .3 (noWay .5, impossible .2), neutral .15 (noOpinion .5)."""
    counts = dict.fromkeys(("agree", "disagree", "neutral"), 0)
    q: dict[str, int] = {}
    for _ in range(n):
        x = rng.random()
        if x < 0.55:
            counts["agree"] += 1
            for name, p in (("like_it", 0.4), ("doable", 0.3), ("platitude_agree", 0.1)):
                q[name] = q.get(name, 0) + (rng.random() < p)
        elif x < 0.85:
            counts["disagree"] += 1
            for name, p in (("no_way", 0.5), ("impossible", 0.2)):
                q[name] = q.get(name, 0) + (rng.random() < p)
        else:
            counts["neutral"] += 1
            q["no_opinion"] = q.get("no_opinion", 0) + (rng.random() < 0.5)
    return VoteCounts(**counts, **q)


def test_score_intervals_cover_the_true_scores():
    true_top = 0.55 * (1 + 0.4 + 0.3 - 0.1) - 0.3 * (0.5 + 0.2)
    true_rejection = 0.3 * (1 + 0.5 + 0.2) - 0.55 * (0.4 + 0.3 + 0.1)
    true_controversy = min(0.55, 0.3) + min(0.55 * 0.4, 0.3 * 0.5)
    rng = random.Random(11)
    hits = {"top": 0, "rejection": 0, "controversy": 0}
    trials = 400
    for _ in range(trials):
        s = score(_draw_voters(rng, 300))
        hits["top"] += true_top in s.top_score_interval
        hits["rejection"] += true_rejection in s.rejection_interval
        hits["controversy"] += true_controversy in s.controversy_interval
    for name, hit in hits.items():
        # Conservative where the joint law is unknown, so at least the nominal 95 %.
        assert 0.93 <= hit / trials <= 0.999, name


def test_few_votes_need_more_votes():
    for counts in (VoteCounts(), VoteCounts(agree=3), VoteCounts(agree=5, disagree=1, neutral=1)):
        assert certain_zone(counts) is None
        assert zone_result(counts) == NEEDS_MORE_VOTES
        assert score(counts).result == NEEDS_MORE_VOTES


def test_clear_zones_are_declared_with_enough_votes():
    assert certain_zone(VoteCounts(agree=800, disagree=100, neutral=100)) is Zone.CONSENSUS
    assert certain_zone(VoteCounts(agree=50, disagree=850, neutral=100)) is Zone.REJECTION
    assert certain_zone(VoteCounts(agree=250, disagree=250, neutral=500)) is Zone.LIMBO
    assert certain_zone(VoteCounts(agree=450, disagree=350, neutral=200)) is Zone.CONTROVERSY
    assert score(VoteCounts(agree=800, disagree=100, neutral=100)).result == "consensus"


def test_a_zone_on_a_threshold_is_never_declared():
    # agree .6 exactly, disagree .3: consensus or controversy, whatever the number of votes.
    for n in (100, 1000, 10000):
        counts = VoteCounts(agree=0.6 * n, disagree=0.3 * n, neutral=0.1 * n)
        assert certain_zone(counts) is None


def test_declared_zones_are_right_at_least_at_the_confidence_level():
    rng = random.Random(3)
    truths = [(0.68, 0.22, 0.10), (0.45, 0.35, 0.20), (0.25, 0.25, 0.50), (0.10, 0.72, 0.18)]
    declared = wrong = 0
    for true in truths:
        zone = zone_of(*true)
        for _ in range(300):
            counts = [0, 0, 0]
            for _ in range(150):
                x = rng.random()
                counts[0 if x < true[0] else (1 if x < true[0] + true[1] else 2)] += 1
            sure = certain_zone(VoteCounts(*counts))
            if sure is not None:
                declared += 1
                wrong += sure is not zone
    assert declared > 300  # the rule does declare zones at 150 votes
    assert wrong / declared <= 0.05


def test_zone_probability_grows_with_votes_and_clarity():
    assert zone_probability(VoteCounts(agree=900, disagree=50, neutral=50)) > 0.999
    tie = zone_probability(VoteCounts(agree=600, disagree=300, neutral=100))
    assert 0.3 < tie < 0.7
    few = zone_probability(VoteCounts(agree=7, disagree=2, neutral=1))
    many = zone_probability(VoteCounts(agree=70, disagree=20, neutral=10))
    assert few < many


def test_zone_margin_is_the_distance_to_the_next_zone():
    # Rates ≈ (.7, .2, .1): leaving consensus needs agree below .6, a move of .1.
    assert zone_margin(VoteCounts(agree=70000, disagree=20000, neutral=10000)) == pytest.approx(
        0.1, abs=1e-3
    )
    # Rates ≈ (.45, .35, .2): consensus is nearest (agree up to .6, .15 away); limbo is .2 away.
    assert zone_margin(VoteCounts(agree=45000, disagree=35000, neutral=20000)) == pytest.approx(
        0.15, abs=1e-3
    )
    assert zone_margin(VoteCounts(agree=60000, disagree=30000, neutral=10000)) < 1e-3


def test_score_segments_scores_each_segment():
    scored = score_segments(
        {
            "rural": VoteCounts(agree=800, disagree=100, neutral=100),
            "urban": VoteCounts(agree=100, disagree=800, neutral=100),
        }
    )
    assert scored["rural"].zone is Zone.CONSENSUS
    assert scored["urban"].zone is Zone.REJECTION


def test_poststratify_weights_segments_by_population():
    mixed = poststratify(
        {
            "rural": VoteCounts(agree=90, disagree=10),  # 100 votes
            "urban": VoteCounts(agree=10, disagree=40),  # 50 votes
        },
        {"rural": 0.5, "urban": 0.5},
    )
    effective = 1 / (0.25 / 100 + 0.25 / 50)
    assert mixed.votes == pytest.approx(effective)
    assert mixed.agree / mixed.votes == pytest.approx(0.5 * 0.9 + 0.5 * 0.2)
    # A segment without votes drops out and the others are renormalised.
    alone = poststratify(
        {"rural": VoteCounts(agree=30, disagree=10), "urban": VoteCounts()},
        {"rural": 0.6, "urban": 0.4},
    )
    assert alone.votes == pytest.approx(40)
    assert alone.agree == pytest.approx(30)
    assert poststratify({}, {"rural": 1.0}) == VoteCounts()


def test_counts_add_up():
    total = VoteCounts(agree=1, like_it=1) + VoteCounts(agree=2, disagree=1)
    assert total == VoteCounts(agree=3, disagree=1, like_it=1)
