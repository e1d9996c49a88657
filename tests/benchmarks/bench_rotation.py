"""Rotation strategies compared at the same vote budget, on synthetic consultations.

Run: ``PYTHONPATH=platform:. python tests/benchmarks/bench_rotation.py``

1,000 proposals, three territory segments, 60 votes per proposal on average, five seeds; the
same truth and the same voters' arrivals for every strategy of a seed
(``pnyx.rotation.simulation``). Zone error: share of proposals whose zone from the point
estimate at the end of the budget is not the zone of the true rates, overall (post-stratified
counts against the population's rates) and per segment. Baseline: uniform routing. The first
figure is the default strategy's (``DEFAULT_STRATEGY``).
"""

from __future__ import annotations

import os
import statistics
import sys
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace

from pnyx.rotation.simulation import DEFAULT_SHARES, SEGMENTS, SimulationReport, simulate
from pnyx.rotation.strategies import DEFAULT_STRATEGY, RotationSettings

N_PROPOSALS = 1000
BUDGET_PER_PROPOSAL = 60
SEEDS = range(5)
SETTINGS = RotationSettings(segments=SEGMENTS, segment_shares=dict(DEFAULT_SHARES))
# label → (strategy, settings). "apt/overall" ranks on the overall index alone: shown to make
# the trade-off between overall and per-segment zones visible.
RUNS = {
    "kg": ("kg", SETTINGS),
    "apt": ("apt", SETTINGS),
    "apt/overall": ("apt", replace(SETTINGS, apt_segment_focus=False)),
    "makeorg": ("makeorg", SETTINGS),
    "uniform": ("uniform", SETTINGS),
}


def run(job: tuple[str, int]) -> tuple[str, SimulationReport]:
    label, seed = job
    strategy, settings = RUNS[label]
    report = simulate(strategy, N_PROPOSALS, BUDGET_PER_PROPOSAL, seed, settings=settings)
    return label, report


def main() -> int:
    jobs = [(label, seed) for seed in SEEDS for label in RUNS]
    with ProcessPoolExecutor(max_workers=min(2, os.cpu_count() or 1)) as pool:
        results = list(pool.map(run, jobs))
    by_label: dict[str, list[SimulationReport]] = {label: [] for label in RUNS}
    for label, report in results:
        by_label[label].append(report)

    def mean(values: list[float]) -> float:
        return statistics.fmean(values)

    errors = {label: mean([r.zone_error for r in reports]) for label, reports in by_label.items()}
    header = (
        f"{'strategy':<12} {'overall':>8} "
        + " ".join(f"{s:>7}" for s in SEGMENTS)
        + f" {'seg.mean':>8} {'votes min/median/max':>21} {'floor<100':>9}"
        + f" {'declared':>8} {'decl.err':>8}"
    )
    print(
        f"{N_PROPOSALS} proposals, {BUDGET_PER_PROPOSAL} votes per proposal, "
        f"{len(SEEDS)} seeds; mean zone error (share of proposals in the wrong zone)"
    )
    print(header)
    for label, reports in by_label.items():
        segments = [mean([r.zone_error_by_segment[s] for r in reports]) for s in SEGMENTS]
        spread = (
            f"{min(r.votes_min for r in reports)}/"
            f"{mean([r.votes_median for r in reports]):.0f}/"
            f"{max(r.votes_max for r in reports)}"
        )
        floor_ok = "yes" if all(r.floor_before_ceiling for r in reports) else "no"
        print(
            f"{label:<12} {errors[label]:>8.3f} "
            + " ".join(f"{e:>7.3f}" for e in segments)
            + f" {mean(segments):>8.3f} {spread:>21} {floor_ok:>9}"
            + f" {mean([r.declared_share for r in reports]):>8.3f}"
            + f" {mean([r.declared_error for r in reports]):>8.3f}"
        )
    zones = by_label["uniform"][0].true_zone_shares
    print("true zones (seed 0): " + ", ".join(f"{z} {s:.2f}" for z, s in zones.items()))
    default, uniform, makeorg = errors[DEFAULT_STRATEGY], errors["uniform"], errors["makeorg"]
    print(f"default strategy: {DEFAULT_STRATEGY}")
    print(f"bench rotation_zone_error: {default:.4f} ratio {default / uniform:.2f} vs uniform")
    print(f"bench rotation_zone_error_makeorg: {makeorg:.4f}")
    print(f"bench rotation_zone_error_uniform: {uniform:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
