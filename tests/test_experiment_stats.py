"""The statistics of experiments against published values (``analytics.experiment_stats``).

scipy is not installed; the expected numbers are copied from the references named in each
test."""

from __future__ import annotations

import pytest

from socialdesk.analytics import experiment_stats as stats

# No database: the SQLite pass alone runs these (scripts/test.sh).
pytestmark = pytest.mark.any_database


def test_sample_size_matches_r_power_prop_test():
    # R, ?power.prop.test, example: power.prop.test(p1 = .50, p2 = .75, power = .90)
    # prints n = 76.7 (per group).
    assert stats.sample_size_exact(0.50, 0.25, power=0.90) == pytest.approx(76.7, abs=0.05)
    assert stats.sample_size(0.50, 0.25, power=0.90) == 77
    # Fleiss, Levin & Paik (2003), eq. 4.14 without continuity correction, 10 % vs 15 %,
    # α = .05, power .80: n = 685.6 per group.
    assert stats.sample_size(0.10, 0.05) == 686


def test_sample_size_refuses_rates_outside_zero_and_one():
    with pytest.raises(ValueError):
        stats.sample_size(0.95, 0.10)
    with pytest.raises(ValueError):
        stats.sample_size(0.10, 0.0)


@pytest.mark.parametrize(
    ("successes", "trials", "low", "high"),
    [
        # Newcombe (1998a), Stat Med 17:857-872, Table I, method 3 (Wilson score).
        (81, 263, 0.2553, 0.3662),
        (15, 148, 0.0624, 0.1605),
        (0, 20, 0.0, 0.1611),
        (1, 29, 0.0061, 0.1718),
        (29, 29, 0.8830, 1.0),
    ],
)
def test_wilson_interval_matches_newcombe_1998(successes, trials, low, high):
    got = stats.wilson(successes, trials)
    assert got == pytest.approx((low, high), abs=5e-5)


@pytest.mark.parametrize(
    ("a", "b", "low", "high"),
    [
        # Newcombe (1998b), Stat Med 17:873-890, Table II, method 10 (hybrid score).
        ((48, 80), (56, 70), 0.0524, 0.3339),
        ((3, 10), (9, 10), 0.1705, 0.8090),
    ],
)
def test_newcombe_difference_interval_matches_newcombe_1998(a, b, low, high):
    assert stats.newcombe(*a, *b) == pytest.approx((low, high), abs=5e-5)


def test_fisher_exact_matches_known_tables():
    # Fisher's lady tasting tea, 3 of 4 cups right: two-sided p = 0.4857 (R fisher.test).
    assert stats.fisher_exact(3, 1, 1, 3) == pytest.approx(0.4857, abs=5e-5)
    # The dieting example of Wikipedia's "Fisher's exact test" article: p ≈ 0.002759.
    assert stats.fisher_exact(1, 9, 11, 3) == pytest.approx(0.002759, abs=5e-7)
    assert stats.fisher_exact(0, 5, 0, 5) == pytest.approx(1.0)


def test_z_test_squares_to_pearsons_chi_square():
    # 48/80 vs 56/70: Pearson's χ² without correction is 7.0234 (computed by hand from the
    # 2×2 table), and z² equals it for the pooled two-proportion test.
    z, p = stats.z_test(48, 80, 56, 70)
    assert z * z == pytest.approx(7.0234, abs=5e-4)
    assert p == pytest.approx(0.008045, abs=5e-6)
    assert stats.z_test(0, 10, 0, 10) == (0.0, 1.0)


def test_small_counts_call_for_the_exact_test():
    assert stats.small_counts(1, 20, 4, 20)
    assert not stats.small_counts(48, 80, 56, 70)


def test_probability_to_be_best_is_reproducible_and_sensible():
    first = stats.probability_to_be_best([(48, 80), (56, 70)])
    assert first == stats.probability_to_be_best([(48, 80), (56, 70)])  # fixed seed
    assert sum(first) == pytest.approx(1.0)
    assert first[1] > 0.99
    even = stats.probability_to_be_best([(30, 100), (30, 100)])
    assert even[0] == pytest.approx(0.5, abs=0.02)
