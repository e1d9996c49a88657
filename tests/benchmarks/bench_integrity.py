"""Vote integrity through the rotation simulator: honest voters flagged, brigades caught, zones
kept.

Run: ``PYTHONPATH=platform python tests/benchmarks/bench_integrity.py`` (or
``make bench ONLY=integrity``). Pure and in memory; about a minute on two cores.

For each seed:

- Honest run: ``pnyx.rotation.simulation.simulate`` (1,000 proposals, 60 votes per proposal,
  the default strategy) with a ``record_vote`` hook collecting every vote. The simulator has no
  clock, so arrival times are added here: voters arrive over 60 days, more at the start and in the
  evening than at night, plus two media relays (8 % of the voters within 2 hours on day 3, 5 %
  within 3 hours on day 25) — honest bursts served by rotation at the same moment, the hardest
  case for a detector that looks at time; each voter then votes every 5–40 s.
- Attack: brigades following a shared link — one of 10 % of the honest voters, and two small
  crews of 60 and 30 — each run through ``simulate`` too, with a router serving the link: ~20
  target proposals per brigade, each member casting each with probability 0.9 on the brigade's
  key (5 % of those votes flipped to another key), in random order, arriving within a 3-hour
  burst; then, with the simulator's 35 % chance of another sequence, 12 proposals of their own
  voted with their segment's true rates. Brigade keys oppose the honest majority (agree where the
  true agree rate is under one half, disagree elsewhere): the attack tries to move zones. Their
  votes are counted as trusted (the worst case: served in sequences).
- The attacked run is the honest run's votes (the same seed, so the very same honest votes)
  plus the brigades' votes; rotation does not see the brigades, so that the two runs differ by
  the attack alone.

Detection: ``find_lockstep_groups`` with the defaults the service uses. Scores: the service's
weights (``pnyx.results.service.tally`` with ``voter_weights``: history weight times 1/size for a
flagged group's members). Figures, pooled over the seeds:

- ``honest_flagged``: honest voters in a group found in the attack-free runs, in %;
- ``brigade_recall_30``: brigade members (brigades of 30 or more) in a group found;
- ``brigade_zone_flips``: proposals whose published zone (the certain zone at 95 %, or
  ``needs_more_votes``), on weighted counts, differs between the attacked and the attack-free
  run; ``brigade_zone_flips_undefended``: the same on unweighted counts, no detection (the
  baseline: what the attack does to a platform without this defence).
"""

from __future__ import annotations

import os
import random
import sys
import time
from collections import Counter
from collections.abc import Hashable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

from pnyx.moderation.agreement import find_coordinated
from pnyx.moderation.lockstep import KEYS, LockstepGroup, Vote, voter_weights
from pnyx.results.scores import NEEDS_MORE_VOTES, VoteCounts, point_zone, zone_result
from pnyx.results.service import HISTORY_FLOOR, HISTORY_FULL_AT, tally
from pnyx.rotation.simulation import Population, make_population, simulate

N_PROPOSALS = 1000
BUDGET_PER_PROPOSAL = 60
SEEDS = (0, 1, 2, 3)
DAY = 86_400.0
HOUR = 3_600.0
DAYS = 60
BRIGADE_SHARE = 0.10  # of the honest voters
SMALL_CREWS = (60, 30)
TARGETS = 20
PARTICIPATION = 0.9
FLIP = 0.05
BURST_HOURS = 3.0
MEDIA_RELAYS = ((3 * DAY + 19 * HOUR, 2 * HOUR, 0.08), (25 * DAY + 12 * HOUR, 3 * HOUR, 0.05))
# Share of the day's visits in each hour (Paris): quiet nights, a lunch and an evening peak.
HOURLY = (1, 1, 1, 1, 1, 1, 2, 4, 6, 6, 6, 7, 9, 8, 6, 6, 6, 7, 9, 11, 12, 10, 6, 3)


@dataclass
class Run:
    seed: int
    honest_voters: int
    honest_flagged: int
    brigades: list[tuple[int, int]]  # (size, members found)
    honest_flagged_attacked: int
    flips: int  # zone of the weighted counts changed
    declared_lost: int  # a certain zone in one run, needs_more_votes in the other
    declared_changed: int  # a certain zone in both runs, not the same
    flips_undefended: int
    declared_changed_undefended: int
    seconds: float


# --------------------------------------------------------------------------- honest votes


def honest_votes(population: Population, seed: int) -> tuple[list[Vote], int]:
    """The simulator's votes with arrival times: (votes, number of voters)."""
    cast: list[tuple[int, int, str]] = []
    simulate(
        n_proposals=N_PROPOSALS,
        budget_per_proposal=BUDGET_PER_PROPOSAL,
        seed=seed,
        population=population,
        record_vote=lambda voter, _segment, proposal, key: cast.append((voter, proposal, key)),
    )
    voters = max(voter for voter, _, _ in cast)
    rng = random.Random(f"arrivals-{seed}")
    arrivals = sorted(_arrival(rng) for _ in range(voters))  # voter i arrives i-th
    clock: dict[int, float] = {}
    votes = []
    for voter, proposal, key in cast:
        at = clock.get(voter, arrivals[voter - 1]) + rng.uniform(5, 40)
        clock[voter] = at
        votes.append(Vote(("h", voter), proposal, key, at))
    return votes, voters


def _arrival(rng: random.Random) -> float:
    draw = rng.random()
    for start, length, share in MEDIA_RELAYS:
        if draw < share:
            return start + rng.uniform(0, length)
        draw -= share
    day = min(int(rng.expovariate(1 / 20)), DAYS - 1)  # a campaign fades
    hour = rng.choices(range(24), HOURLY)[0]
    return day * DAY + (hour + rng.random()) * HOUR


# --------------------------------------------------------------------------- brigades


def brigade_votes(
    population: Population, seed: int, index: int, size: int
) -> tuple[list[Vote], set[Hashable]]:
    """One brigade following a shared link, run through the simulator."""
    rng = random.Random(f"brigade-{seed}-{index}")
    overall = {p.proposal_id: population.overall_rates(p) for p in population.proposals}
    targets = rng.sample(sorted(overall), TARGETS)
    plan = {p: "agree" if overall[p][0] < 0.5 else "disagree" for p in targets}
    others = [p for p in sorted(overall) if p not in plan]
    served: dict[int, int] = {}

    def link_router(voter: int, _segment, voted, size_: int) -> list[int]:
        if voter > size:
            return []  # the brigade is complete: the simulator stops after 20 idle voters
        served[voter] = served.get(voter, 0) + 1
        if served[voter] == 1:
            chosen = [p for p in targets if rng.random() < PARTICIPATION]
            rng.shuffle(chosen)
            return chosen
        return rng.sample([p for p in others if p not in voted], size_)

    cast: list[tuple[int, int, str]] = []
    simulate(
        n_proposals=N_PROPOSALS,
        budget_per_proposal=size * 60 / N_PROPOSALS,
        seed=10_000 + 97 * seed + index,
        population=population,
        router=link_router,
        record_vote=lambda voter, _segment, proposal, key: cast.append((voter, proposal, key)),
    )
    burst = rng.uniform(5 * DAY, (DAYS - 5) * DAY)
    clock: dict[int, float] = {}
    votes = []
    for voter, proposal, key in cast:
        if voter not in clock:
            clock[voter] = burst + rng.uniform(0, BURST_HOURS * HOUR - TARGETS * 40)
        clock[voter] += rng.uniform(5, 40)
        if proposal in plan:
            key = plan[proposal]
            if rng.random() < FLIP:
                key = rng.choice([k for k in KEYS if k != key])
        votes.append(Vote(("b", index, voter), proposal, key, clock[voter]))
    return votes, {("b", index, voter) for voter in clock}


# --------------------------------------------------------------------------- scores


def results(votes: list[Vote], groups: list[LockstepGroup], *, defended: bool) -> dict:
    """(zone, published result) of each proposal, on the service's weights or raw counts."""
    if defended:
        cast = Counter(v.voter for v in votes)
        weights = voter_weights(cast, groups, full_at=HISTORY_FULL_AT, floor=HISTORY_FLOOR)
    else:
        weights = {}
    counts = tally(((v.voter, v.proposal, v.key) for v in votes), weights)
    return {
        p: (point_zone(counts.get(p, VoteCounts())), zone_result(counts.get(p, VoteCounts())))
        for p in range(1, N_PROPOSALS + 1)
    }


def flagged(groups: list[LockstepGroup]) -> set[Hashable]:
    return {member for group in groups for member in group.members}


def run(seed: int) -> Run:
    started = time.monotonic()
    population = make_population(N_PROPOSALS, seed)
    honest, voters = honest_votes(population, seed)
    crews = [max(30, round(BRIGADE_SHARE * voters)), *SMALL_CREWS]
    attack: list[Vote] = []
    members: list[set[Hashable]] = []
    for index, size in enumerate(crews):
        votes, crew = brigade_votes(population, seed, index, size)
        attack += votes
        members.append(crew)
    attacked = honest + attack

    groups_free = [group for group, _ in find_coordinated(honest)]
    groups_attacked = [group for group, _ in find_coordinated(attacked)]
    found_free, found_attacked = flagged(groups_free), flagged(groups_attacked)

    free = results(honest, groups_free, defended=True)
    hit = results(attacked, groups_attacked, defended=True)
    free_raw = results(honest, [], defended=False)
    hit_raw = results(attacked, [], defended=False)

    def declared(before: dict, after: dict) -> tuple[int, int]:
        lost = changed = 0
        for p, (_, was) in before.items():
            now = after[p][1]
            if was != now:
                if NEEDS_MORE_VOTES in (was, now):
                    lost += 1
                else:
                    changed += 1
        return lost, changed

    lost, changed = declared(free, hit)
    return Run(
        seed=seed,
        honest_voters=voters,
        honest_flagged=len(found_free),
        brigades=[(len(crew), len(crew & found_attacked)) for crew in members],
        honest_flagged_attacked=sum(1 for m in found_attacked if m[0] == "h"),
        flips=sum(free[p][0] != hit[p][0] for p in free),
        declared_lost=lost,
        declared_changed=changed,
        flips_undefended=sum(free_raw[p][0] != hit_raw[p][0] for p in free_raw),
        declared_changed_undefended=declared(free_raw, hit_raw)[1],
        seconds=time.monotonic() - started,
    )


def main() -> int:
    with ProcessPoolExecutor(max_workers=min(2, os.cpu_count() or 1)) as pool:
        runs = list(pool.map(run, SEEDS))
    print(
        f"{'seed':>4} {'voters':>6} {'honest flagged':>14} {'brigades size: found':>28}"
        f" {'flips':>5} {'declared lost/changed':>21} {'undefended flips/changed':>24} {'s':>3}"
    )
    for r in runs:
        crews = ", ".join(f"{size}: {found}" for size, found in r.brigades)
        print(
            f"{r.seed:>4} {r.honest_voters:>6} {r.honest_flagged:>14} {crews:>28}"
            f" {r.flips:>5} {f'{r.declared_lost}/{r.declared_changed}':>21}"
            f" {f'{r.flips_undefended}/{r.declared_changed_undefended}':>24} {r.seconds:>3.0f}"
        )
    honest = sum(r.honest_voters for r in runs)
    honest_pct = 100.0 * sum(r.honest_flagged for r in runs) / honest
    big = [(size, found) for r in runs for size, found in r.brigades if size >= 30]
    recall = sum(found for _, found in big) / sum(size for size, _ in big)
    print(
        f"{len(runs)} seeds; honest voters flagged in the attacked runs:"
        f" {sum(r.honest_flagged_attacked for r in runs)}. flips: the zone of the weighted counts"
        " changed; declared lost: a certain zone in one run and needs_more_votes in the other"
        " (the collapsed brigade still weighs one voice); changed: two different certain zones."
    )
    print(f"bench honest_flagged: {honest_pct:.2f} %")
    print(f"bench brigade_recall_30: {recall:.3f}")
    print(f"bench brigade_zone_flips: {sum(r.flips for r in runs)}")
    print(f"bench brigade_declared_zone_changes: {sum(r.declared_changed for r in runs)}")
    print(f"bench brigade_zone_flips_undefended: {sum(r.flips_undefended for r in runs)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
