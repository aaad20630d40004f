"""The statistics of experiments, with the standard library only (``statistics.NormalDist``,
``math.lgamma``, ``random``): no scipy.

- ``sample_size``: posts' views (or followers) each variant needs before a verdict, for two
  proportions, two-sided: n = (z₁₋α/₂·√(2·p̄·q̄) + z₁₋β·√(p₁q₁ + p₂q₂))² / (p₂ − p₁)², the
  normal approximation without continuity correction (Fleiss, Levin & Paik, *Statistical
  Methods for Rates and Proportions*, 3rd ed., eq. 4.14; the same as R's ``power.prop.test``).
- ``wilson``: the Wilson score interval of one proportion (Wilson 1927; Newcombe 1998a,
  method 3).
- ``newcombe``: the interval of a difference of two independent proportions from their Wilson
  intervals (Newcombe 1998b, *Stat Med* 17:873–890, method 10, the "hybrid score" interval).
- ``z_test``: the two-proportion z-test with the pooled proportion, two-sided.
- ``fisher_exact``: Fisher's exact test of a 2×2 table, two-sided, by summing the
  hypergeometric probabilities no larger than the observed table's (R's ``fisher.test``
  rule, with the same relative tolerance 1e-7). Used when an expected cell count is below 5,
  where the z-test's normal approximation is poor.
- ``probability_to_be_best``: each variant's chance of having the highest rate under
  Beta(1 + successes, 1 + failures) posteriors (uniform priors), by Monte Carlo with a fixed
  seed, so the same numbers always give the same answer.
"""

from __future__ import annotations

import math
import random
from statistics import NormalDist

NORMAL = NormalDist()
DRAWS = 20_000
SEED = 14


def z_quantile(p: float) -> float:
    return NORMAL.inv_cdf(p)


def sample_size(baseline: float, effect: float, alpha: float = 0.05, power: float = 0.8) -> int:
    """Trials (views, followers) per variant to detect ``baseline`` → ``baseline + effect``
    (rates from 0 to 1) with a two-sided test at ``alpha`` and ``power``; rounded up."""
    p1, p2 = baseline, baseline + effect
    if not (0 < p1 < 1 and 0 < p2 < 1) or effect == 0:
        raise ValueError("Both rates must lie strictly between 0 and 1, and differ.")
    mean = (p1 + p2) / 2
    root = z_quantile(1 - alpha / 2) * math.sqrt(2 * mean * (1 - mean)) + z_quantile(
        power
    ) * math.sqrt(p1 * (1 - p1) + p2 * (1 - p2))
    return math.ceil(root**2 / (p2 - p1) ** 2)


def sample_size_exact(
    baseline: float, effect: float, alpha: float = 0.05, power: float = 0.8
) -> float:
    """``sample_size`` before rounding up (tests compare it with published values)."""
    p1, p2 = baseline, baseline + effect
    mean = (p1 + p2) / 2
    root = z_quantile(1 - alpha / 2) * math.sqrt(2 * mean * (1 - mean)) + z_quantile(
        power
    ) * math.sqrt(p1 * (1 - p1) + p2 * (1 - p2))
    return root**2 / (p2 - p1) ** 2


def wilson(successes: int, trials: int, confidence: float = 0.95) -> tuple[float, float]:
    """The Wilson score interval of ``successes / trials``; (0, 1) with no trials."""
    if trials <= 0:
        return (0.0, 1.0)
    z = z_quantile(1 - (1 - confidence) / 2)
    p = successes / trials
    denominator = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denominator
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denominator
    return (max(0.0, centre - half), min(1.0, centre + half))


def newcombe(
    successes_a: int, trials_a: int, successes_b: int, trials_b: int, confidence: float = 0.95
) -> tuple[float, float]:
    """The interval of p_b − p_a (method 10 of Newcombe 1998b)."""
    pa, pb = successes_a / trials_a, successes_b / trials_b
    la, ua = wilson(successes_a, trials_a, confidence)
    lb, ub = wilson(successes_b, trials_b, confidence)
    difference = pb - pa
    low = difference - math.sqrt((pb - lb) ** 2 + (ua - pa) ** 2)
    high = difference + math.sqrt((ub - pb) ** 2 + (pa - la) ** 2)
    return (low, high)


def z_test(successes_a: int, trials_a: int, successes_b: int, trials_b: int) -> tuple[float, float]:
    """(z, two-sided p) of the pooled two-proportion test of p_b against p_a."""
    pooled = (successes_a + successes_b) / (trials_a + trials_b)
    error = math.sqrt(pooled * (1 - pooled) * (1 / trials_a + 1 / trials_b))
    if error == 0:
        return (0.0, 1.0)
    z = (successes_b / trials_b - successes_a / trials_a) / error
    return (z, 2 * (1 - NORMAL.cdf(abs(z))))


def _log_choose(n: int, k: int) -> float:
    return math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)


def fisher_exact(a: int, b: int, c: int, d: int) -> float:
    """Two-sided p of Fisher's exact test of the table [[a, b], [c, d]]."""
    row1, row2, col1 = a + b, c + d, a + c
    low, high = max(0, col1 - row2), min(row1, col1)

    def log_p(x: int) -> float:
        return _log_choose(row1, x) + _log_choose(row2, col1 - x) - _log_choose(row1 + row2, col1)

    observed = log_p(a)
    total = 0.0
    for x in range(low, high + 1):
        lp = log_p(x)
        if lp <= observed + math.log1p(1e-7):
            total += math.exp(lp)
    return min(1.0, total)


def small_counts(successes_a: int, trials_a: int, successes_b: int, trials_b: int) -> bool:
    """True when an expected cell of the 2×2 table is below 5 (use the exact test)."""
    n = trials_a + trials_b
    successes = successes_a + successes_b
    failures = n - successes
    return any(
        rows * cols / n < 5 for rows in (trials_a, trials_b) for cols in (successes, failures)
    )


def probability_to_be_best(
    counts: list[tuple[int, int]], draws: int = DRAWS, seed: int = SEED
) -> list[float]:
    """Each variant's share of ``draws`` joint draws from the Beta posteriors in which it had
    the highest rate. ``counts`` holds (successes, trials) per variant."""
    rng = random.Random(seed)  # noqa: S311 - a reproducible simulation, not a secret
    wins = [0] * len(counts)
    for _ in range(draws):
        values = [rng.betavariate(1 + s, 1 + max(0, t - s)) for s, t in counts]
        wins[values.index(max(values))] += 1
    return [w / draws for w in wins]
