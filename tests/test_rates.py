import math

import pytest
from scipy.stats import norm, poisson

from helpers.rates import poisson_rate_ci, wilson_ci


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
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    est, low, high = wilson_ci(k, n)
    assert est == p
    assert (low, high) == pytest.approx((centre - half, centre + half), abs=1e-12)


def test_bad_inputs():
    with pytest.raises(ValueError):
        poisson_rate_ci(1, 0)
    with pytest.raises(ValueError):
        wilson_ci(1, 0)
