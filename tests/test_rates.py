import math

import numpy as np
import pytest
from scipy.stats import norm, poisson

from helpers.analysis.rates import poisson_rate_ci, ratio_bootstrap, wilson_ci


@pytest.mark.parametrize("events", [0, 1, 7, 120])
def test_garwood_limits_are_where_the_poisson_tails_are_2_5_percent(events):
    rate, low, high = poisson_rate_ci(events, exposure=50.0, per=100)
    assert rate == pytest.approx(events * 2)
    mu_low, mu_high = low / 2, high / 2  # back to expected counts
    if events > 0:
        assert poisson.sf(events - 1, mu_low) == pytest.approx(0.025, abs=1e-9)
    else:
        assert low == 0
    assert poisson.cdf(events, mu_high) == pytest.approx(0.025, abs=1e-9)


def test_wilson_closed_form():
    k, n = 37, 90
    z = norm.ppf(0.975)
    p = k / n
    center = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    est, low, high = wilson_ci(k, n)
    assert est == p
    assert (low, high) == pytest.approx((center - half, center + half), abs=1e-12)


def test_bad_inputs():
    with pytest.raises(ValueError):
        poisson_rate_ci(1, 0)
    with pytest.raises(ValueError):
        wilson_ci(1, 0)


def test_defaults_edges_and_messages():
    # per 100 units by default; any positive exposure, however small
    assert poisson_rate_ci(3, 50.0) == pytest.approx(poisson_rate_ci(3, 50.0, per=100))
    assert poisson_rate_ci(3, 50.0)[0] == pytest.approx(6.0)
    assert poisson_rate_ci(1, 0.5, per=1)[0] == pytest.approx(2.0)
    assert wilson_ci(1, 1)[0] == 1.0
    with pytest.raises(ValueError, match="^exposure must be positive$"):
        poisson_rate_ci(1, 0)
    with pytest.raises(ValueError, match="^n must be positive$"):
        wilson_ci(1, 0)


def test_wilson_level():
    z = norm.ppf(0.95)
    k, n = 37, 90
    p = k / n
    center = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    _, low, high = wilson_ci(k, n, level=0.90)
    assert (low, high) == pytest.approx((center - half, center + half), abs=1e-12)


def test_ratio_bootstrap_defaults_draw_2000_unit_resamples_with_seed_0():
    rng = np.random.default_rng(9)
    num, den = rng.poisson(3, 25).astype(float), rng.uniform(10, 30, 25)
    idx = np.random.default_rng(0).integers(0, 25, size=(2000, 25))
    draws = num[idx].sum(axis=1) / den[idx].sum(axis=1)
    est, low, high = ratio_bootstrap(num, den)
    assert est == pytest.approx(num.sum() / den.sum(), rel=1e-12)
    assert (low, high) == pytest.approx(tuple(np.percentile(draws, [2.5, 97.5])), rel=1e-12)
    assert isinstance(low, float) and isinstance(est, float)
