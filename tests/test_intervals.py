"""The shape and width of every interval the toolkit publishes, pinned exactly where the method
fixes them: symmetric on the log scale for ratios, CR1 and t(G-1) factors, percentiles at 2.5
and 97.5, and bootstraps that resample whole sites or clinicians. Coverage and recovery of
simulated truth are tested in each module's own tests; these tests fail on a wrong method even
where it would still cover. Each names the wrong implementation it catches
(tools/wrong_implementations.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from scipy import stats

from helpers.analysis import access, burnout, cost, switch, turnover
from helpers.analysis.inference import cr1
from tests.test_access import random_panel
from tests.test_burnout import mediated, survey, with_outcome


def log_symmetric(low: float, est: float, high: float) -> bool:
    return np.log(est) - np.log(low) == pytest.approx(np.log(high) - np.log(est), rel=1e-9)


# --- Cox: spells at entry, excess exits --------------------------------------------------------
def test_a_spell_enters_the_curves_at_its_first_piece_and_leaves_at_its_last():
    """km-entry-last-piece: a spell split into three pieces enters at the first one's start,
    with the management then in effect, and exits (with its cause) at the last one's stop."""
    pt = pd.DataFrame(
        {
            "spell": ["a", "a", "a", "b"],
            "start": [2.0, 3.0, 4.5, 0.0],
            "stop": [3.0, 4.5, 6.0, 1.0],
            "cause": [None, None, "voluntary", None],
            "comp_model": ["rvu_production", "salary", "salary", "hybrid"],
            "team_based_care": [False, True, True, False],
            "clinician_id": ["c1", "c1", "c1", "c2"],
            "site_id": ["S1", "S1", "S1", "S2"],
        }
    )
    s = turnover.spells_at_entry(pt).set_index("spell")
    assert s.loc["a", ["entry", "exit", "cause"]].tolist() == [2.0, 6.0, "voluntary"]
    assert s.loc["a", "comp_model"] == "rvu_production" and not s.loc["a", "team_based_care"]
    assert s.loc["b", ["entry", "exit"]].tolist() == [0.0, 1.0] and s.loc["b", "cause"] is None


def test_excess_exits_interval_is_central_and_draws_log_hr_from_t_g_minus_one():
    """excess-exits-z: with the count's noise negligible, the limits map the t(G-1) quantiles
    of log HR, not the normal ones (G = 11: 2.23 vs 1.96)."""
    ex = turnover.excess_exits(10**9, 1.0, np.log(1.5), 0.3, 11, draws=200_000, seed=4)
    assert [ex.ci_low, ex.ci_high] == pytest.approx(np.quantile(ex.draws, [0.025, 0.975]))
    b = -np.log1p(-np.array([ex.ci_low, ex.ci_high]) / 10**9)  # back to log HR
    q = (b - np.log(1.5)) / 0.3
    assert q == pytest.approx([-stats.t.ppf(0.975, 10), stats.t.ppf(0.975, 10)], abs=0.04)


# --- burnout: standardized ratios and mediation ------------------------------------------------
@pytest.fixture(scope="module")
def rvu_vs_salary():
    df = survey(n_sites=24, per_site=50, seed=31, frailty_sd=0.5)
    df = with_outcome(df, -0.4 + 0.5 * (df["comp_model"] == "rvu_production"), 32)
    return df, burnout.standardized(df, burnout.PAY["rvu_production"])


def test_standardized_ratio_interval_is_symmetric_on_the_log_scale_with_t_g_minus_one(
    rvu_vs_salary,
):
    """rr-wald-ratio-scale: the ratio's interval is exp(log RR +- t se), the difference's
    RD +- t se."""
    _, s = rvu_vs_salary
    g = s.n_sites
    q = stats.t.ppf(0.975, g - 1)
    assert log_symmetric(s.rr_low, s.rr, s.rr_high)
    assert np.log(s.rr_high / s.rr_low) / 2 == pytest.approx(q * s.se_log_rr, rel=1e-9)
    assert s.rd - s.rd_low == pytest.approx(s.rd_high - s.rd, rel=1e-9)
    assert (s.rd_high - s.rd_low) / 2 == pytest.approx(q * s.se_rd, rel=1e-9)
    assert s.p == pytest.approx(2 * stats.t.sf(abs(np.log(s.rr)) / s.se_log_rr, g - 1))


def test_cluster_variance_sums_within_sites_then_applies_cr1():
    """burnout-cluster-no-cr1: G/(G-1) times the sum over sites of the squared site sums."""
    rng = np.random.default_rng(5)
    codes = np.repeat(np.arange(12), rng.integers(1, 6, 12))
    phi = rng.normal(size=(len(codes), 2))
    sums = pd.DataFrame(phi).groupby(codes).sum().to_numpy()
    expect = 12 / 11 * sums.T @ sums
    np.testing.assert_allclose(burnout._cluster_var(phi, codes), expect, rtol=1e-12)
    np.testing.assert_allclose(burnout._cluster_var(phi[:, 0], codes), expect[0, 0], rtol=1e-12)


@pytest.fixture(scope="module")
def mediation_capture():
    """A mediation run with what it handed to the g-computation: the point call and the
    bootstrap call (weights and effects of each resample)."""
    df = mediated(41, n_sites=20, per_site=40)
    calls = []
    real = burnout._natural_effects

    def spy(bm, by, xm, xy, w):
        out = real(bm, by, xm, xy, w)
        calls.append((w.copy(), {k: v.copy() for k, v in out.items()}))
        return out

    mp = pytest.MonkeyPatch()
    mp.setattr(burnout, "_natural_effects", spy)
    try:
        med = burnout.mediation(df, resamples=150, seed=42)
    finally:
        mp.undo()
    return df, med, calls


def test_mediation_bootstrap_resamples_whole_sites(mediation_capture):
    """mediation-rows: in every resample each cell's weight is its trials times its site's
    multiplicity, the same for every cell of a site, and G sites are drawn in all."""
    df, med, calls = mediation_capture
    assert len(calls) == 2 and calls[1][0].shape[0] == 150
    codes = pd.factorize(df["site_id"])[0]
    g = codes.max() + 1
    x = burnout.design(df).to_numpy()
    c = burnout.cells(x, df["burned_out"].to_numpy(float), codes)
    w = calls[1][0] / c.trials[None, :]  # multiplicity of each cell's site
    assert np.array_equal(w, np.round(w))
    for row in w:
        per_site = pd.Series(row).groupby(c.site).agg(["min", "max"])
        assert (per_site["min"] == per_site["max"]).all()  # a site is drawn whole
        assert per_site["min"].sum() == g  # G draws with replacement
    assert np.array_equal(
        w, burnout.site_weights(df["site_id"], 150, seed=42)[:, c.site]
    )  # the stated seed's draws


def test_mediation_intervals_are_the_2_5_and_97_5_percentiles(mediation_capture):
    """mediation-90: each interval is the central 95% of the resamples' effects."""
    _, med, calls = mediation_capture
    assert med.failures == 0
    draws = calls[1][1]
    for key in ("nie", "nde", "te", "share", "nie_rr"):
        assert med.ci[key] == pytest.approx(tuple(np.percentile(draws[key], [2.5, 97.5])))
        assert med.ci[key][0] < med.ci[key][1]


# --- access ---------------------------------------------------------------------------------------
def test_access_slope_interval_is_t_g_minus_one_on_the_cr1_sandwich():
    """access-slope-rows-dof: the fixed-effects slope's SE is the site-clustered sandwich with
    statsmodels' CR1 factor G/(G-1) (N-1)/(N-K), and the interval b +- t(G-1) se."""
    d = random_panel(7, sites=12, months=8).rename(columns={"x": "vacant_fte"})
    d["month_key"] = d["month"].dt.strftime("%Y-%m")
    s = access.fe_slope(d, "y")
    fit = smf.ols("y ~ vacant_fte + C(site_id) + C(month_key)", data=d).fit()
    x = fit.model.exog
    e = fit.resid.to_numpy()
    bread = np.linalg.inv(x.T @ x)
    scores = pd.DataFrame(x * e[:, None]).groupby(d["site_id"].to_numpy()).sum().to_numpy()
    n, k, g = x.shape[0], x.shape[1], 12
    cov = cr1(g) * (n - 1) / (n - k) * bread @ scores.T @ scores @ bread
    j = fit.model.exog_names.index("vacant_fte")
    assert s.se == pytest.approx(np.sqrt(cov[j, j]), rel=1e-9)
    assert s.sites == g and s.n == n
    q = stats.t.ppf(0.975, g - 1)
    assert (s.ci_low, s.ci_high) == pytest.approx((s.estimate - q * s.se, s.estimate + q * s.se))


def test_access_per_departure_intervals_are_percentiles_of_the_site_bootstrap():
    """access-90: every interval is the 2.5th and 97.5th percentile of its draws."""
    from tests.test_access import simulate

    d, deps, _ = simulate(3, sites=12)
    eff = access.departure_effects(d, deps, resamples=60, seed=1)
    for col, got in (("days", eff.days[1:]), ("visits", eff.visits[1:]), ("ratio", eff.ratio_ci)):
        assert got == pytest.approx(tuple(np.nanpercentile(eff.draws[col], [2.5, 97.5])))
    assert len(eff.draws) == 60


# --- switch, cost ------------------------------------------------------------------------
def test_switch_bootstrap_interval_is_t_on_switching_sites_minus_one():
    """switch-z: exp(log RR +- t(S-1) sd(draws)), S the switching sites."""
    draws = np.random.default_rng(1).normal(0.3, 0.2, 400)
    low, high, p, se = switch.bootstrap_interval(0.3, draws, n_switch=8)
    assert se == pytest.approx(draws.std(ddof=1), rel=1e-12)
    assert log_symmetric(low, np.exp(0.3), high)
    assert np.log(high / low) / 2 == pytest.approx(stats.t.ppf(0.975, 7) * se, rel=1e-12)
    assert p == pytest.approx(2 * stats.t.sf(0.3 / se, 7), rel=1e-12)
    assert all(np.isnan(switch.bootstrap_interval(0.3, draws, n_switch=1)))
    assert all(np.isnan(switch.bootstrap_interval(0.3, draws[:1], n_switch=8)))


def test_monte_carlo_cost_summary_is_the_median_and_central_95_percent():
    """cost-90: point, low, high are the 50th, 2.5th and 97.5th percentiles."""
    s = cost.summarize(np.arange(1001.0)[::-1])
    assert (s.low, s.point, s.high) == (25.0, 500.0, 975.0)


# --- clustered wider than model-based when sites share an effect --------------------------------
def test_cox_site_clustered_se_exceeds_the_model_based_one_under_site_frailty():
    """One simulated organization with a shared site frailty (sd 0.8) and pay model fixed by
    site: the site-clustered SE of the pay-model term is well above the model-based one
    (tests/test_turnover.py checks the same over 24 seeds, with coverage)."""
    from tests.test_turnover import org_person_time

    pt = org_person_time(seed=101, frailty_sd=0.8, per_site=15)
    r = turnover.cox_model(pt).term("comp_rvu_production")  # the site jackknife
    assert r["se"] > 1.3 * r["se_model"]
    r1 = turnover.cox_model(pt, inference="cr1").term("comp_rvu_production")
    assert r1["se"] > 1.3 * r1["se_model"]
    assert r1["se"] == pytest.approx(r1["se_sandwich"] * np.sqrt(30 / 29), rel=1e-12)


def test_access_slope_clustered_se_exceeds_the_model_based_one_with_site_slopes():
    """Sites whose outcome moves with vacancy by their own slope (a shared site effect on the
    slope): the site-clustered SE is wider than OLS's model-based one."""
    rng = np.random.default_rng(8)
    d = random_panel(9, sites=16, months=12).rename(columns={"x": "vacant_fte"})
    slope = rng.normal(0, 3.0, 16)
    d["y"] += slope[pd.factorize(d["site_id"])[0]] * d["vacant_fte"]
    d["month_key"] = d["month"].dt.strftime("%Y-%m")
    s = access.fe_slope(d, "y")
    model = smf.ols("y ~ vacant_fte + C(site_id) + C(month_key)", data=d).fit()
    assert s.se > 1.5 * model.bse["vacant_fte"]
