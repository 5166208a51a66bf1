"""Site-clustered inference: exact factors, interval shape, and what a bootstrap resample is;
the CR2 sandwich and its degrees of freedom and the cluster jackknife against hand computations,
statsmodels and pyfixest; the minimum detectable effect against the noncentral t."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyfixest as pf
import pytest
import statsmodels.api as sm
from scipy import stats

from helpers.analysis import inference
from helpers.analysis.inference import (
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


def panel(seed=1, sites=12, months=10):
    """A two-way panel whose slope rests unevenly on the sites (a few carry most of the
    variation in x), with site-level error variance that differs."""
    rng = np.random.default_rng(seed)
    site = np.repeat(np.arange(sites), months)
    month = np.tile(np.arange(months), sites)
    spread = np.where(np.arange(sites) < 3, 3.0, 0.5)[site]
    x = spread * rng.standard_normal(len(site)) + 0.3 * month
    noise = np.where(np.arange(sites) % 2 == 0, 2.0, 0.7)[site]
    y = (
        rng.normal(size=sites)[site]
        + 0.2 * month
        + 1.5 * x
        + noise * rng.standard_normal(len(site))
    )
    return pd.DataFrame({"y": y, "x": x, "site": site, "month": month})


def design(d):
    """x, then site and month indicators (first month dropped): the full fixed-effects design."""
    s = pd.get_dummies(d["site"], prefix="s", dtype=float)
    m = pd.get_dummies(d["month"], prefix="m", drop_first=True, dtype=float)
    return pd.concat([d[["x"]], s, m], axis=1).to_numpy()


def test_cr2_is_the_t_test_on_cluster_means_for_a_mean_of_balanced_clusters():
    rng = np.random.default_rng(3)
    g, n = 9, 7
    site = np.repeat(np.arange(g), n)
    y = rng.normal(size=g)[site] + rng.standard_normal(g * n)
    se, df = inference.cr2(np.ones((g * n, 1)), y - y.mean(), site, 0)
    means = pd.Series(y).groupby(site).mean()
    assert se == pytest.approx(np.sqrt(means.var(ddof=1) / g), rel=1e-10)
    assert df == pytest.approx(g - 1, rel=1e-10)


def test_cr2_with_one_row_per_cluster_is_hc2():
    rng = np.random.default_rng(4)
    n = 40
    x = sm.add_constant(rng.standard_normal((n, 2)))
    y = x @ [1.0, 0.5, -0.3] + rng.standard_normal(n) * (1 + np.abs(x[:, 1]))
    fit = sm.OLS(y, x).fit(cov_type="HC2")
    for j in range(3):
        se, df = inference.cr2(x, fit.resid, np.arange(n), j)
        assert se == pytest.approx(fit.bse[j], rel=1e-9)
        assert 1 < df < n - 3
    # a contrast given as a vector: the HC2 variance of c'b
    for c in ([0.0, 1.0, -1.0], [1, 0, 2]):
        se, _ = inference.cr2(x, fit.resid, np.arange(n), c)
        assert se == pytest.approx(np.sqrt(np.asarray(c) @ fit.cov_params() @ c), rel=1e-9)


def test_cr2_allows_for_each_clusters_own_fixed_effect_and_is_not_below_cr1_here():
    d = panel()
    x = design(d)
    fit = sm.OLS(d["y"].to_numpy(), x).fit()
    se2, df = inference.cr2(x, fit.resid, d["site"], 0)
    cr1 = sm.OLS(d["y"].to_numpy(), x).fit(cov_type="cluster", cov_kwds={"groups": d["site"]})
    assert np.isfinite(se2) and se2 > cr1.bse[0] * 0.9
    # the slope rests mostly on three sites: far fewer effective clusters than 11
    assert 1 < df < 8


def test_leave_one_out_and_jackknife_equal_pyfixest_crv3():
    d = panel(seed=5)
    fit = pf.feols(
        "y ~ x | site + month",
        data=d,
        vcov={"CRV3": "site"},
        ssc=pf.ssc(k_adj=False, G_adj=False),
    )
    x = design(d)
    b = np.linalg.lstsq(x, d["y"].to_numpy(), rcond=None)[0]
    loo = inference.leave_one_cluster_out_linear(x, d["y"].to_numpy(), d["site"])
    g = d["site"].nunique()
    se = inference.jackknife_se(loo[:, 0], b[0])
    assert b[0] == pytest.approx(fit.coef()["x"], rel=1e-10)
    # pyfixest sums squared deviations without (G-1)/G
    assert se**2 == pytest.approx((g - 1) / g * fit.se()["x"] ** 2, rel=1e-8)
    for k in range(g):  # each refit is the fit on the other sites
        rest = d[d["site"] != k]
        one = pf.feols("y ~ x | site + month", data=rest, vcov="iid")
        assert loo[k, 0] == pytest.approx(one.coef()["x"], rel=1e-9)


def test_jackknife_se_by_hand():
    assert inference.jackknife_se([1.0, 2.0, 4.0], 2.0) == pytest.approx(np.sqrt(2 / 3 * 5))
    assert inference.jackknife_se([3.0, 3.0], 3.0) == 0.0


@pytest.mark.parametrize("df", [13, 49])
def test_mde_is_the_effect_a_t_test_detects_with_80_percent_power(df):
    """Power of the two-sided t test at the MDE, from the noncentral t distribution."""
    se = 0.2
    m = inference.mde(se, df)
    delta = np.log(m) / se
    crit = stats.t.ppf(0.975, df)
    achieved = stats.nct.sf(crit, df, delta) + stats.nct.cdf(-crit, df, delta)
    assert achieved == pytest.approx(0.8, abs=0.01)
    assert inference.mde(se, df, ratio=False) == pytest.approx(np.log(m))
    assert inference.mde(2 * se, df) == pytest.approx(m**2)


def test_mde_without_a_standard_error_is_none():
    assert inference.mde(float("nan"), 10) is None
    assert inference.mde(0.0, 10) is None
    assert inference.mde(0.1, 0) is None
    # one degree of freedom is enough; fewer is not
    m = stats.t.ppf(0.975, 1) + stats.t.ppf(0.8, 1)
    assert inference.mde(0.1, 1) == pytest.approx(np.exp(0.1 * m), rel=1e-12)
    assert inference.mde(0.1, 0.99) is None


def test_mde_at_another_level_and_power():
    """exp((t(1 - (1 - level)/2, df) + t(power, df)) x se), here at 90% and 90%."""
    m = stats.t.ppf(0.95, 20) + stats.t.ppf(0.9, 20)
    got = inference.mde(0.2, 20, power=0.9, level=0.9)
    assert got == pytest.approx(np.exp(0.2 * m), rel=1e-12)
    assert inference.mde(0.2, 20, ratio=False, power=0.9, level=0.9) == pytest.approx(0.2 * m)
