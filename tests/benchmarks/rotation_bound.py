"""A lower bound on the zone error any rotation strategy can reach on the benchmark's
population, relative to uniform routing — why ``bench rotation_zone_error`` stays near 0.65.

Run: ``PYTHONPATH=platform:. python tests/benchmarks/rotation_bound.py`` (about 5 minutes on
one core; not part of ``make bench``).

The model, one proposal at a time, in one dimension: a proposal's true signed distance d to
its nearest zone boundary, in standard deviations of one vote (``standardised_gap`` of its true
overall rates), is drawn from the population of the simulator (``make_population``, seeds
200–219, disjoint from the benchmark's and the selection's); after n votes its estimate is
d + N(0, 1/n), and its point zone is wrong when the estimate's sign is not d's. Every
strategy's decision reduces to: spend one more vote here, or stop. The Bayes-optimal one —
knowing the population's distribution of d exactly, deciding on each proposal's estimate, with a
budget that only has to hold on average (60 votes per proposal, floor 10) — is solved by
backward induction on a grid for a price per vote λ (the Lagrangian of the budget), λ found by
bisection. Nothing a real strategy does can beat it in this model: it has more freedom (no
sequence rules, no voters, an average budget) and more knowledge (the true prior).

The model is optimistic for the strategy: at a fixed number of votes the simulator's
post-stratified estimates err more than N(d, 1/n) below about 60 votes (10 votes: 0.32 against
0.28 here), so the bound on the benchmark itself sits above this one.

Printed on 2026-12-05: uniform 0.1471 in the model, Bayes-optimal 0.0942, ratio 0.640 — above
the issue's 0.6, which therefore no routing reaches on this population; kg measures 0.646 on
the benchmark's seeds.
"""

from __future__ import annotations

import math
import time

import numpy as np

from pnyx.rotation import strategies
from pnyx.rotation.simulation import make_population

PRIOR_SEEDS = range(200, 220)
FLOOR = 10
BUDGET = 60.0  # mean votes per proposal
STEP = 0.01  # grid of distances, in vote standard deviations
EXTENT = 2.5


def prior_distances() -> np.ndarray:
    return np.array(
        [
            strategies.standardised_gap(*population.overall_rates(p))
            for seed in PRIOR_SEEDS
            for population in (make_population(1000, seed),)
            for p in population.proposals
        ]
    )


def vote_counts() -> list[int]:
    """The n at which the policy decides: every n up to 100, then steps of about n/60."""
    counts = list(range(FLOOR, 100))
    n = 100
    while n < 3000:
        counts.append(n)
        n += max(1, n // 60)
    counts.append(n)
    return counts


def solve(lam: float, prior: np.ndarray, grid: np.ndarray, counts: list[int], true_prior):
    """Expected error and votes of the optimal stopping policy at price ``lam`` per vote."""
    nodes, weights = np.polynomial.hermite_e.hermegauss(12)
    weights = weights / weights.sum()
    wrong_side = (np.sign(grid)[None, :] != np.sign(grid)[:, None]).astype(float)  # [g, d]
    value = spent = None
    for index in range(len(counts) - 1, -1, -1):
        n = counts[index]
        posterior = prior[None, :] * np.exp(-0.5 * n * (grid[:, None] - grid[None, :]) ** 2)
        posterior /= posterior.sum(1, keepdims=True)
        stop = (posterior * wrong_side).sum(1)  # P(wrong) if the proposal stops at estimate g
        if value is None:
            value, spent = stop, np.zeros_like(stop)
            continue
        m = counts[index + 1] - n
        # After m more votes: g' = (n g + m d + sqrt(m) z) / (n + m).
        moved = (
            n * grid[:, None, None] + m * grid[None, :, None] + math.sqrt(m) * nodes[None, None, :]
        ) / (n + m)
        expected_value = np.interp(moved, grid, value) @ weights
        expected_spent = np.interp(moved, grid, spent) @ weights
        go_value = (posterior * expected_value).sum(1) + lam * m
        go_spent = (posterior * expected_spent).sum(1) + m
        go = go_value < stop
        value = np.where(go, go_value, stop)
        spent = np.where(go, go_spent, 0.0)
    # Start at the floor: g ~ d + N(0, 1/FLOOR), d from the true prior.
    start = (true_prior[:, None] * np.exp(-0.5 * FLOOR * (grid[None, :] - grid[:, None]) ** 2)).sum(
        0
    )
    start /= start.sum()
    votes = float((start * spent).sum())
    return float((start * value).sum() - lam * votes), votes + FLOOR


def main() -> int:
    started = time.monotonic()
    distances = prior_distances()
    grid = np.arange(-EXTENT, EXTENT + STEP / 2, STEP)
    histogram = np.histogram(np.abs(distances), bins=np.arange(0, EXTENT + STEP + 1e-9, STEP))[0]
    prior = np.interp(np.abs(grid), np.arange(len(histogram)) * STEP + STEP / 2, histogram)
    prior = prior / prior.sum()  # symmetric in the sign: the side is what the votes must find
    uniform = float(np.mean([0.5 * math.erfc(abs(d) * math.sqrt(BUDGET / 2)) for d in distances]))
    counts = vote_counts()
    low, high = 1e-6, 1e-1
    for _ in range(22):
        lam = math.sqrt(low * high)
        error, votes = solve(lam, prior, grid, counts, prior)
        if votes > BUDGET:
            low = lam
        else:
            high = lam
    print(f"uniform (every proposal {BUDGET:.0f} votes): {uniform:.4f}")
    print(
        f"Bayes-optimal stopping (mean {votes:.1f} votes): {error:.4f}, "
        f"ratio {error / uniform:.3f} vs uniform ({time.monotonic() - started:.0f} s)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
