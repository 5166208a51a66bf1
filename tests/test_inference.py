"""Site-clustered inference: exact factors, interval shape, and what a bootstrap resample is."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from helpers.inference import (
    MIN_SITES,
    TooFewSites,
    cr1,
    require_sites,
    site_resamples,
    t_interval,
    t_p_value,
)


def test_min_sites_boundary_ten_is_enough_nine_is_not():
    assert MIN_SITES == 10
    require_sites(10, "x")  # no error
    require_sites(11, "x")
    with pytest.raises(
        TooFewSites,
        match=r"^model: 9 site\(s\); at least 10 are needed for a site-clustered interval$",
    ):
        require_sites(9, "model")
    assert issubclass(TooFewSites, ValueError)  # notebooks report it as unavailable


@pytest.mark.parametrize("g", [2, 10, 12, 50])
def test_cr1_is_g_over_g_minus_one(g):
    assert cr1(g) == pytest.approx(g / (g - 1), rel=1e-15)


@pytest.mark.parametrize("g", [10, 14, 40])
def test_t_interval_is_symmetric_with_the_t_quantile_of_g_minus_one(g):
    low, high = t_interval(1.5, 0.2, g)
    q = stats.t.ppf(0.975, g - 1)  # an independent hand value for G = 10: 2.262157
    assert (high - low) / 2 == pytest.approx(q * 0.2, rel=1e-12)
    assert 1.5 - low == pytest.approx(high - 1.5, rel=1e-12)
    if g == 10:
        assert q == pytest.approx(2.2621571627, rel=1e-9)
    # wider than the normal interval: few clusters, heavier tails
    assert (high - low) / 2 > stats.norm.ppf(0.975) * 0.2


def test_t_interval_level():
    low, high = t_interval(0.0, 1.0, 20, level=0.90)
    assert high == pytest.approx(stats.t.ppf(0.95, 19), rel=1e-12)
    assert low == pytest.approx(-high, rel=1e-12)


@pytest.mark.parametrize("est", [2.0, -2.0])
def test_t_p_value_two_sided_on_g_minus_one(est):
    p = t_p_value(est, 1.0, 12)
    assert p == pytest.approx(2 * stats.t.sf(2.0, 11), rel=1e-12)
    assert p == pytest.approx(0.0708, abs=5e-4)  # two-sided, not one-sided (0.035)
    assert isinstance(p, float)
    assert t_p_value(2 * est, 2.0, 12) == pytest.approx(p, rel=1e-12)  # estimate / se
    # the P value and the interval agree: an estimate on the edge of the interval has P = 0.05
    q = stats.t.ppf(0.975, 11)
    assert t_p_value(q, 1.0, 12) == pytest.approx(0.05, rel=1e-9)
    assert t_p_value(-q, 1.0, 12) == pytest.approx(0.05, rel=1e-9)


def _sites(counts=(3, 1, 4, 2, 5)) -> np.ndarray:
    labels = [f"s{k}" for k, c in enumerate(counts) for _ in range(c)]
    rng = np.random.default_rng(1)
    return np.asarray(labels)[rng.permutation(len(labels))]  # rows of a site not adjacent


def test_site_resamples_draw_whole_sites_with_replacement():
    sites = _sites()
    rows_of = {s: set(np.flatnonzero(sites == s)) for s in np.unique(sites)}
    rng = np.random.default_rng(0)
    saw_repeat = saw_missing = False
    replicates = list(site_resamples(pd.Series(sites), 200, rng))
    assert len(replicates) == 200
    for idx in replicates:
        picked = pd.Series(idx).value_counts()
        # each row's multiplicity is its site's: every row of a drawn site comes with it
        draws = {}
        for s, rows in rows_of.items():
            counts = {int(picked.get(r, 0)) for r in rows}
            assert len(counts) == 1, "a site was split"
            draws[s] = counts.pop()
        assert sum(draws.values()) == len(rows_of)  # G sites drawn, with replacement
        assert len(idx) == sum(draws[s] * len(r) for s, r in rows_of.items())
        saw_repeat |= max(draws.values()) > 1
        saw_missing |= min(draws.values()) == 0
    assert saw_repeat and saw_missing


def test_site_resamples_uses_every_site_and_the_rng():
    sites = _sites((2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2))
    a = [tuple(i) for i in site_resamples(sites, 50, np.random.default_rng(3))]
    b = [tuple(i) for i in site_resamples(sites, 50, np.random.default_rng(3))]
    assert a == b
    drawn = {s for idx in a for s in sites[list(idx)]}
    assert drawn == set(sites)  # the last site can be drawn too
    # sites equally likely: each drawn about 50 times in 50 x 12 draws
    counts = pd.Series([s for idx in a for s in sites[list(idx)]]).value_counts() / 2
    assert counts.min() > 25 and counts.max() < 85
